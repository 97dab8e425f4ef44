//! The arguments of `trevm fleet ls` and `trevm fleet push`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use super::lookup::Filter;
use crate::args::CompileArgs;

/// `trevm fleet …`.
#[derive(Subcommand)]
pub(crate) enum FleetCommand {
    /// List the devices registered in a Resource Directory: address, capsules, health, and how
    /// long their status took to come.
    Ls(FleetArgs),
    /// Roll a signed capsule out to the devices in stages: canaries first, then --parallel at a
    /// time, each checked (the capsule answers, /status shows no trap or stop) before the next.
    Push(Box<PushArgs>),
}

/// Which devices, and how to talk to them.
#[derive(Args, Clone)]
pub(crate) struct FleetArgs {
    /// The Resource Directory: coap://HOST[:PORT] (its endpoint lookup is discovered), or the
    /// lookup resource itself, e.g. coap://HOST/endpoint-lookup/.
    #[arg(long)]
    pub(crate) rd: String,
    /// Only devices with KEY=VALUE: a registration parameter (ep, et, …) or a capsule's slot,
    /// name, version or signer. Repeatable (all must match).
    #[arg(long = "select", value_name = "KEY=VALUE")]
    pub(crate) select: Vec<Filter>,
    /// The operator's EDHOC + OSCORE credentials (client.diag, one entry per device URL or a
    /// pattern matching several). Without it: plain CoAP.
    #[arg(long, value_name = "FILE.diag")]
    pub(crate) credentials: Option<PathBuf>,
    /// How many devices to ask at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) jobs: u16,
}

/// Options of `trevm fleet push`.
#[derive(Args)]
pub(crate) struct PushArgs {
    /// The signed capsule (.cwasm), or a payload directory built (and signed) as `trevm push`
    /// does. Not with --rollback-to.
    #[arg(
        required_unless_present = "rollback_to",
        conflicts_with = "rollback_to"
    )]
    pub(crate) capsule: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) fleet: FleetArgs,
    /// Where on each device: sandbox/NAME (PUT /sandbox/NAME), persistent/NAME (PUT /vm-control)
    /// or ephemeral/NAME (PUT /ephemeral).
    #[arg(long, value_name = "SLOT/NAME")]
    pub(crate) to: String,
    /// How many devices form the first stage.
    #[arg(long, default_value_t = 1)]
    pub(crate) canary: usize,
    /// How many devices per later stage, updated at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) parallel: u16,
    /// How long a device must run the new capsule without a trap or stop before it counts as
    /// healthy, e.g. 2s, 500ms.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub(crate) settle: Duration,
    /// Go back: publish OLD's code again under a version newer than any the fleet runs for
    /// SLOT/NAME, signed with --key, and roll that out (devices still on OLD are skipped).
    #[arg(long, value_name = "OLD.cwasm", requires = "key")]
    pub(crate) rollback_to: Option<PathBuf>,
    /// The signing key (PKCS#8 PEM from `trevm keygen`) for --rollback-to.
    #[arg(long, value_name = "KEY.pem", requires = "rollback_to")]
    pub(crate) key: Option<PathBuf>,
    /// Do not ask for confirmation (it is asked on a terminal only).
    #[arg(long, short)]
    pub(crate) yes: bool,
    #[command(flatten)]
    pub(crate) compile: CompileArgs,
}

/// Where a capsule goes on each device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// `sandbox`, `persistent` or `ephemeral`, as /status names the slot.
    pub(crate) slot: String,
    /// The capsule's name in that slot.
    pub(crate) name: String,
}

impl Target {
    /// Parses `SLOT/NAME`.
    pub(crate) fn parse(s: &str) -> Result<Target, String> {
        let (slot, name) = s
            .split_once('/')
            .ok_or_else(|| format!("--to {s}: expected SLOT/NAME, e.g. sandbox/hello"))?;
        if !matches!(slot, "sandbox" | "persistent" | "ephemeral") {
            return Err(format!(
                "--to {s}: the slot is sandbox, persistent or ephemeral"
            ));
        }
        if name.is_empty() || name.contains(['/', '?', '#']) {
            return Err(format!("--to {s}: the name must be one path segment"));
        }
        Ok(Target {
            slot: slot.into(),
            name: name.into(),
        })
    }

    /// The Uri-Path to PUT the capsule to.
    pub(crate) fn put_path(&self) -> Vec<&str> {
        match self.slot.as_str() {
            "sandbox" => vec!["sandbox", &self.name],
            "persistent" => vec!["vm-control"],
            _ => vec!["ephemeral"],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Target;

    #[test]
    fn targets_are_a_known_slot_and_one_segment() {
        let t = Target::parse("sandbox/hello").unwrap();
        assert_eq!(t.put_path(), ["sandbox", "hello"]);
        assert_eq!(
            Target::parse("persistent/x").unwrap().put_path(),
            ["vm-control"]
        );
        assert_eq!(
            Target::parse("ephemeral/x").unwrap().put_path(),
            ["ephemeral"]
        );
        assert!(Target::parse("hello").is_err());
        assert!(Target::parse("flash/hello").is_err());
        assert!(Target::parse("sandbox/").is_err());
        assert!(Target::parse("sandbox/a/b").is_err());
    }
}
