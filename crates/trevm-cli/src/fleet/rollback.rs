//! `--rollback-to OLD.cwasm --key KEY.pem`: devices refuse a version older than the one they ran
//! (anti-rollback), so going back means publishing OLD's code again under a newer version: one
//! above the highest the fleet reports for the slot/name (and above OLD's own), signed with KEY.
//! Devices still on OLD's original version never left it and are left alone (docs/fleet.md).

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};

use super::args::Target;
use super::probe::{self, Seen};

/// OLD's code re-signed: the capsule, its new version, and OLD's original version.
pub(crate) struct Rollback {
    pub(crate) capsule: Vec<u8>,
    pub(crate) version: u64,
    pub(crate) original: u64,
}

/// The signed version a capsule claims (refusing unsigned capsules, which devices refuse too).
pub(crate) fn signed_version(bytes: &[u8], what: &Path) -> Result<u64> {
    let capsule = trevm::Capsule::from_slice(bytes)
        .with_context(|| format!("{} is not a capsule", what.display()))?;
    match trevm::trust::claimed_manifest(&capsule)
        .with_context(|| format!("{}'s manifest", what.display()))?
    {
        Some((m, Some(_kid))) => Ok(m.version),
        _ => bail!(
            "{} is not signed: devices refuse it (sign it with `trevm sign --key …`)",
            what.display()
        ),
    }
}

/// The highest version of `target` among the surveyed devices.
pub(crate) fn highest_version(seen: &[Seen], target: &Target) -> Option<u64> {
    seen.iter()
        .filter_map(|s| s.status.as_ref().ok())
        .filter_map(|(status, _)| probe::capsule(status, &target.slot, &target.name))
        .filter_map(|c| c.version)
        .max()
}

/// Re-signs `old` with `key` under a version above everything the fleet runs for `target`.
pub(crate) fn prepare(old: &Path, key: &Path, seen: &[Seen], target: &Target) -> Result<Rollback> {
    let bytes = std::fs::read(old).with_context(|| format!("reading {}", old.display()))?;
    let original = signed_version(&bytes, old)?;
    let highest = highest_version(seen, target).unwrap_or(0).max(original);
    let version = highest
        .checked_add(1)
        .ok_or_else(|| anyhow!("the fleet runs version {highest}: no newer version exists"))?;
    let key = trevm_sign::SigningKey::read(key)?;
    let capsule = trevm_sign::sign(&bytes, &key, Some(version), None)
        .with_context(|| format!("re-signing {}", old.display()))?;
    eprintln!(
        "rollback: {}'s code (version {original}) re-signed as version {version} with key {}",
        old.display(),
        key.kid()
    );
    Ok(Rollback {
        capsule,
        version,
        original,
    })
}
