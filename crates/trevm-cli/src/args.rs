//! The command line's argument types (clap) and how they become build options.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use trevm::{EngineProfile, Preemption, Target};
use trevm_build::{BuildOptions, OptLevel, Signing};

use crate::signing;

#[derive(Args)]
pub(crate) struct PushArgs {
    /// Capsule (.cwasm), or a payload directory / .wasm built on the fly (see --target).
    pub(crate) capsule: PathBuf,
    /// Where to PUT it, e.g. coap://127.0.0.1:5683/sandbox/hello.
    pub(crate) url: String,
    /// Block size for the upload: 16 to 1024 bytes (at most 512 with --credentials).
    #[arg(long, default_value_t = 1024)]
    pub(crate) block: usize,
    #[command(flatten)]
    pub(crate) security: SecurityArgs,
    #[command(flatten)]
    pub(crate) compile: CompileArgs,
}

#[derive(Args)]
pub(crate) struct SecurityArgs {
    /// Talk EDHOC + OSCORE with the credentials in this file (aiocoap-client's client.diag
    /// format; the entry whose URI pattern matches the URL is used). Without it: plain CoAP.
    #[arg(long, value_name = "FILE.diag")]
    pub(crate) credentials: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct CallArgs {
    /// The resource, e.g. coap://127.0.0.1:5683/sandbox/hello.
    pub(crate) url: String,
    /// Method.
    #[arg(long, short, value_enum, default_value = "get")]
    pub(crate) method: MethodArg,
    /// Request body, as text.
    #[arg(long, conflicts_with = "payload_file")]
    pub(crate) payload: Option<String>,
    /// Request body, from a file.
    #[arg(long)]
    pub(crate) payload_file: Option<PathBuf>,
    /// Block size for long bodies: 16 to 1024 bytes (at most 512 with --credentials).
    #[arg(long, default_value_t = 1024)]
    pub(crate) block: usize,
    #[command(flatten)]
    pub(crate) security: SecurityArgs,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum MethodArg {
    Get,
    Post,
    Put,
    Delete,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum TargetArg {
    Pulley32,
    Pulley64,
    Host,
    Wasm,
}

/// The VM provider a capsule is built for.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum VmArg {
    /// Wasmtime: a component precompiled to Pulley (or native code), per --target.
    Wasmtime,
    /// wasmi: the plain core module, validated and translated on the device (target wasm).
    Wasmi,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum PreemptionArg {
    Fuel,
    Epoch,
    None,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum OptArg {
    S,
    Z,
    #[value(name = "3")]
    Speed,
}

#[derive(Args)]
pub(crate) struct CompileArgs {
    /// The VM that runs the capsule: wasmtime (default: precompiled code for --target) or wasmi
    /// (plain wasm, validated on the device: the same as --target wasm).
    #[arg(long, value_enum)]
    pub(crate) vm: Option<VmArg>,
    /// Code format: pulley32 for MCUs, pulley64 for 64-bit hosts, host for native code (all
    /// Wasmtime), wasm for the wasmi provider.
    #[arg(long, value_enum)]
    pub(crate) target: Option<TargetArg>,
    /// How the capsule is made to yield: fuel (default), epoch (Wasmtime only), or none.
    #[arg(long, value_enum, default_value = "fuel")]
    pub(crate) preemption: PreemptionArg,
    /// Optimisation of the payload: s (default), z (smallest) or 3 (fastest).
    #[arg(long = "opt-level", value_enum, default_value = "s")]
    pub(crate) opt_level: OptArg,
    /// Build with nightly -Zbuild-std and panic=immediate-abort (smaller).
    #[arg(long)]
    pub(crate) nightly: bool,
    /// Initial linear memory of the capsule (bytes, or with KiB/MiB). Default: the payload's
    /// `[package.metadata.trevm] initial-memory`, else 32KiB.
    #[arg(long, value_parser = parse_size)]
    pub(crate) initial_memory: Option<u64>,
    /// Wasm shadow-stack size inside linear memory. Default: the payload's
    /// `[package.metadata.trevm] stack-size`, else 8KiB.
    #[arg(long, value_parser = parse_size)]
    pub(crate) stack_size: Option<u64>,
    /// Keep Wasmtime's address map (compiled code → Wasm offsets) for debugging: 1.7–6 KB more
    /// per capsule, which runs the same without it.
    #[arg(long)]
    pub(crate) addrmap: bool,
    /// Don't show cargo's output unless it fails.
    #[arg(long, short)]
    pub(crate) quiet: bool,
    /// Cargo features of the payload crate to enable (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub(crate) features: Vec<String>,
    /// Sign with this private key (PKCS#8 PEM from `trevm keygen`) instead of the development key.
    #[arg(long, value_name = "KEY", conflicts_with = "unsigned")]
    pub(crate) sign: Option<PathBuf>,
    /// Don't sign: the capsule carries an unsigned manifest (sign it later with `trevm sign`).
    #[arg(long)]
    pub(crate) unsigned: bool,
    /// Anti-rollback version to sign (default: now, as YYYYMMDDhhmmss UTC).
    #[arg(long)]
    pub(crate) version: Option<u64>,
}

#[derive(Args)]
pub(crate) struct BuildArgs {
    /// Payload crate (Cargo.toml or directory), core module .wasm, or component .wasm.
    pub(crate) input: PathBuf,
    /// Where to write the capsule (default: <name>.<target>.cwasm in the current directory).
    #[arg(long, short)]
    pub(crate) output: Option<PathBuf>,
    /// Capsule name (default: the crate or file name).
    #[arg(long)]
    pub(crate) name: Option<String>,
    #[command(flatten)]
    pub(crate) compile: CompileArgs,
}

#[derive(Args)]
pub(crate) struct RunArgs {
    /// Capsule (.cwasm), payload crate directory / Cargo.toml, or .wasm (built on the fly).
    pub(crate) input: PathBuf,
    /// Function to call, with WAVE-encoded arguments, e.g. 'fibonacci(20)' (a bare name, e.g.
    /// blinky, calls a function that takes nothing). Default: run(), else the capsule's one
    /// export without parameters. Repeat it to make several calls on the same instance, in
    /// order, e.g. `--invoke 'bind-socket(4242)' --invoke 'run()'`.
    #[arg(long)]
    pub(crate) invoke: Vec<String>,
    /// Call the last --invoke again and again, this long apart (e.g. 10ms), as a device's main
    /// loop does; the calls before it run once. Until --times calls, a trap, or Ctrl-C.
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub(crate) every: Option<Duration>,
    /// With --every: how many calls of the repeated function in all.
    #[arg(long, requires = "every", value_name = "N")]
    pub(crate) times: Option<u64>,
    /// Fuel budget (fuel preemption only).
    #[arg(long)]
    pub(crate) fuel: Option<u64>,
    /// Stop the call after this long, e.g. 2s, 500ms.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub(crate) timeout: Option<Duration>,
    /// Linear memory limit (bytes, or with KiB/MiB).
    #[arg(long, default_value = "16MiB", value_parser = parse_size)]
    pub(crate) max_memory: u64,
    #[command(flatten)]
    pub(crate) compile: CompileArgs,
    #[command(flatten)]
    pub(crate) trust: signing::TrustFlags,
    /// Also run an UNSIGNED capsule. Insecure: only for code you built yourself.
    #[arg(long)]
    pub(crate) insecure_allow_unsigned: bool,
}

pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size like 65536, 64KiB or 1MiB"))?;
    let mult = match unit.trim() {
        "" | "B" => 1,
        "K" | "KiB" | "k" | "KB" | "kB" => 1024,
        "M" | "MiB" | "MB" => 1024 * 1024,
        other => return Err(format!("unknown size unit `{other}` (use B, KiB or MiB)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large"))
}

impl CompileArgs {
    pub(crate) fn options(
        &self,
        default_target: Target,
        name: Option<String>,
    ) -> Result<BuildOptions> {
        let target = match self.target {
            Some(TargetArg::Pulley32) => Some(Target::Pulley32),
            Some(TargetArg::Pulley64) => Some(Target::Pulley64),
            Some(TargetArg::Host) => Some(Target::Host),
            Some(TargetArg::Wasm) => Some(Target::Wasm),
            None => None,
        };
        let target = match (self.vm, target) {
            (Some(VmArg::Wasmi), None | Some(Target::Wasm)) => Target::Wasm,
            (Some(VmArg::Wasmi), Some(other)) => bail!(
                "--vm wasmi runs plain wasm, not {other} code: leave out --target {other} \
                 (or give --target wasm)"
            ),
            (Some(VmArg::Wasmtime), Some(Target::Wasm)) => bail!(
                "--target wasm is for the wasmi provider: give --vm wasmi, or a Wasmtime target \
                 (pulley32, pulley64, host) with --vm wasmtime"
            ),
            (_, Some(target)) => target,
            (_, None) => default_target,
        };
        let preemption = match self.preemption {
            PreemptionArg::Fuel => Preemption::Fuel,
            PreemptionArg::Epoch => Preemption::Epoch,
            PreemptionArg::None => Preemption::None,
        };
        if target == Target::Wasm {
            if preemption == Preemption::Epoch {
                bail!(
                    "the wasmi provider has no epoch preemption: give --preemption fuel \
                     (the default) or none"
                );
            }
            if self.addrmap {
                bail!("--addrmap keeps Wasmtime's address map: a wasmi capsule has none");
            }
        }
        let opt_level = match self.opt_level {
            OptArg::S => OptLevel::S,
            OptArg::Z => OptLevel::Z,
            OptArg::Speed => OptLevel::Speed,
        };
        Ok(BuildOptions {
            profile: EngineProfile { target, preemption },
            opt_level,
            nightly: self.nightly,
            initial_memory: self
                .initial_memory
                .map(u32::try_from)
                .transpose()
                .context("--initial-memory is over 4 GiB")?,
            stack_size: self
                .stack_size
                .map(u32::try_from)
                .transpose()
                .context("--stack-size is over 4 GiB")?,
            address_map: self.addrmap,
            name,
            quiet: self.quiet,
            target_dir: None,
            features: self.features.clone(),
            signing: match (&self.sign, self.unsigned) {
                (Some(key), _) => Signing::Key(key.clone()),
                (None, true) => Signing::Unsigned,
                (None, false) => Signing::DevKey,
            },
            version: self.version,
        })
    }
}
