//! `trevm keygen`, `trevm sign`, `trevm verify` and `trevm inspect`: keys, signatures and what a
//! capsule claims.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use trevm::trust::{self, Provenance};
use trevm::{Capsule, Runtime, RuntimeOptions, TrustPolicy, VersionLedger};

use crate::{outln, write_file};

/// Options of `trevm keygen`.
#[derive(Args)]
pub struct KeygenArgs {
    /// Base name of the files: writes NAME.pem (private, mode 0600) and NAME.pub.pem (public);
    /// with --coap, NAME.cosekey, NAME.diag and NAME.peers.yml.
    #[arg(default_value = "trevm-key")]
    pub name: PathBuf,
    /// Make a CoAP client credential (EDHOC + OSCORE) instead of a capsule signing key: the
    /// private key, the client's credentials file and the device's peers.yml entry.
    #[arg(long)]
    pub coap: bool,
    /// With --coap: the credential's key id, in hex (default: one random byte).
    #[arg(long, requires = "coap")]
    pub kid: Option<String>,
    /// With --coap: the device the credentials are for.
    #[arg(long, requires = "coap", default_value = "coap://127.0.0.1:5683")]
    pub device: String,
    /// With --coap: the device's identity as it prints it (`CoAP server identity: {8: …}`),
    /// pinned in the credentials.
    #[arg(long, requires = "coap")]
    pub device_identity: Option<String>,
}

/// Options of `trevm sign`.
#[derive(Args)]
pub struct SignArgs {
    /// The capsule (.cwasm) to sign.
    pub capsule: PathBuf,
    /// Private key (PKCS#8 PEM, from `trevm keygen`).
    #[arg(long)]
    pub key: PathBuf,
    /// Anti-rollback version (default: now, as YYYYMMDDhhmmss UTC, so newer signatures win).
    #[arg(long)]
    pub version: Option<u64>,
    /// Imports to grant (repeat it); default: those listed in the capsule's manifest.
    #[arg(long = "grant")]
    pub grants: Vec<String>,
    /// Where to write the signed capsule (default: replace CAPSULE).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// Which keys a command trusts.
#[derive(Args, Clone, Default)]
pub struct TrustFlags {
    /// Trust this public key (SPKI PEM from `trevm keygen`; repeat it). The development key is
    /// trusted too unless --no-dev-key.
    #[arg(long = "trust", value_name = "PUBKEY")]
    pub trust: Vec<PathBuf>,
    /// Don't trust the development key.
    #[arg(long)]
    pub no_dev_key: bool,
}

impl TrustFlags {
    pub fn args(&self, insecure_allow_unsigned: bool) -> trevm_native::trust::TrustArgs {
        trevm_native::trust::TrustArgs {
            trust: self.trust.clone(),
            no_dev_key: self.no_dev_key,
            insecure_allow_unsigned,
        }
    }

    /// The policy, without ever accepting unsigned capsules.
    pub fn policy(&self) -> Result<TrustPolicy> {
        self.args(false).policy().map_err(anyhow::Error::msg)
    }
}

pub fn cmd_keygen(args: &KeygenArgs) -> Result<ExitCode> {
    if args.coap {
        return crate::coap_keys::keygen(&crate::coap_keys::CoapKeyRequest {
            name: &args.name,
            kid: args.kid.as_deref(),
            device: &args.device,
            device_identity: args.device_identity.as_deref(),
        });
    }
    let base = args.name.to_string_lossy();
    let base = base.strip_suffix(".pem").unwrap_or(&base);
    let (private, public) = (
        PathBuf::from(format!("{base}.pem")),
        PathBuf::from(format!("{base}.pub.pem")),
    );
    if public.exists() {
        bail!("{} exists already: not overwriting a key", public.display());
    }
    let key = trevm_sign::SigningKey::generate();
    key.write_files(&private, &public)?;
    outln!("kid      {}", key.kid());
    outln!(
        "private  {}  (PKCS#8 PEM, mode 0600: keep it secret)",
        private.display()
    );
    outln!(
        "public   {}  (SPKI PEM: give it to devices, `trevm serve --trust`)",
        public.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn cmd_sign(args: &SignArgs) -> Result<ExitCode> {
    let bytes = read(&args.capsule)?;
    let key = trevm_sign::SigningKey::read(&args.key)?;
    let grants = (!args.grants.is_empty()).then(|| args.grants.clone());
    let signed = trevm_sign::sign(&bytes, &key, args.version, grants)?;
    let out = args.output.as_ref().unwrap_or(&args.capsule);
    write_file(out, &signed)?;
    let capsule = Capsule::from_slice(&signed)?;
    if let Some((m, _)) = trust::claimed_manifest(&capsule)? {
        outln!(
            "signed `{}` version {} with key {}: wrote {}",
            m.name,
            m.version,
            key.kid(),
            out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Options of `trevm verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// The capsule (.cwasm).
    pub capsule: PathBuf,
    #[command(flatten)]
    pub trust: TrustFlags,
}

pub fn cmd_verify(args: &VerifyArgs) -> Result<ExitCode> {
    let bytes = read(&args.capsule)?;
    let capsule = Capsule::from_vec(bytes)?;
    let policy = args.trust.policy()?;
    let verified = policy.verify(capsule, &VersionLedger::new())?;
    let Some(signed) = verified.signed() else {
        bail!("the capsule is not signed");
    };
    outln!(
        "ok: `{}` version {} signed by {}",
        signed.manifest.name,
        signed.manifest.version,
        signed.signer
    );
    Ok(ExitCode::SUCCESS)
}

/// Options of `trevm inspect`.
#[derive(Args)]
pub struct InspectArgs {
    /// Capsule (.cwasm), payload directory, or .wasm (built on the fly).
    pub input: PathBuf,
    #[command(flatten)]
    pub trust: TrustFlags,
}

pub fn cmd_inspect(args: &InspectArgs, bytes: Vec<u8>) -> Result<ExitCode> {
    let capsule = Capsule::from_vec(bytes)?;
    let h = capsule.header();
    outln!("capsule   {}", capsule.name());
    outln!("profile   {}", h.stamp);
    outln!(
        "size      {} bytes ({} payload, {} trailer, CRC-32 {:#010x})",
        capsule.len(),
        h.payload_len,
        h.trailer_len,
        h.crc
    );
    let digest = trevm::manifest::sha256(capsule.payload());
    outln!("digest    sha-256 {}", hex(&digest));
    // A plain-wasm capsule's manifest states its exports' types: shown as claimed when the code
    // is not read below.
    let mut claimed_exports = Vec::new();
    match trust::claimed_manifest(&capsule) {
        Ok(None) => outln!("manifest  none (a bare capsule: nothing says what it is)"),
        Ok(Some((m, kid))) => {
            claimed_exports = m.exports.clone();
            match kid {
                Some(kid) => outln!("signer    key {kid}"),
                None => outln!("signer    none (unsigned)"),
            }
            outln!("version   {}", m.version);
            if m.digest != digest {
                outln!("          the manifest's digest differs: the payload was altered");
            }
            outln!("grants    {}", list_or_none(&m.grants));
        }
        Err(e) => outln!("manifest  unreadable: {e}"),
    }
    // Imports and exports need Wasmtime to read the code: only for a capsule that verifies.
    let policy = args.trust.policy()?;
    let verified = match policy.verify(capsule, &VersionLedger::new()) {
        Ok(v) => v,
        Err(e) => {
            outln!("verified  no: {e}");
            outln!("(imports and exports are shown for capsules signed by a trusted key only)");
            show_claimed_exports(&claimed_exports);
            return Ok(ExitCode::SUCCESS);
        }
    };
    if let Provenance::Signed(s) = verified.provenance() {
        outln!("verified  yes, by {}", s.signer);
    }
    if !verified.profile().runs_here() {
        outln!("(built for another machine: imports and exports are not shown here)");
        show_claimed_exports(&claimed_exports);
        return Ok(ExitCode::SUCCESS);
    }
    let runtime = Runtime::new(verified.profile(), RuntimeOptions::host())?;
    let loaded = runtime.load(&verified)?;
    outln!("imports:");
    for name in loaded.imports(&runtime) {
        outln!("  {name}");
    }
    outln!("exports:");
    for f in loaded.exported_funcs(&runtime) {
        outln!("  {f}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The exports a manifest states (a plain-wasm capsule's), marked as not checked against the code.
fn show_claimed_exports(exports: &[trevm::ExportedFunc]) {
    if exports.is_empty() {
        return;
    }
    outln!("exports (as the manifest states them, not checked against the code):");
    for f in exports {
        outln!("  {f}");
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}
