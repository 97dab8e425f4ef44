//! [`VersionLedger`]: the versions installed, for anti-rollback, and its stored form.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use super::error::TrustError;
use super::verified::VerifiedCapsule;
use crate::capsule::MAX_NAME_LEN;

use crate::manifest::Manifest;

/// [`VersionLedger::to_bytes`]'s format.
const LEDGER_FORMAT: u8 = 1;

/// The highest version installed per capsule name, for anti-rollback. A device keeps one (and,
/// to survive restarts, stores it) and records every capsule it installs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionLedger {
    installed: BTreeMap<String, ([u8; 32], u64)>,
}

impl VersionLedger {
    /// An empty ledger.
    pub const fn new() -> Self {
        VersionLedger {
            installed: BTreeMap::new(),
        }
    }

    /// Records an installed capsule (signed ones only: nothing else carries a version). Versions
    /// only go up.
    pub fn record(&mut self, capsule: &VerifiedCapsule<'_>) {
        if let Some(s) = capsule.signed() {
            let m = &s.manifest;
            let newer = self
                .installed
                .get(&m.name)
                .is_none_or(|&(_, v)| m.version > v);
            if newer {
                self.installed.insert(m.name.clone(), (m.digest, m.version));
            }
        }
    }

    /// Whether `capsule` may be installed now: not older than the version recorded for its name,
    /// nor another build of that same version. [`TrustPolicy::verify`] checks this already; a
    /// device that admits several uploads at once checks again just before installing one, so
    /// an older capsule whose admission finished last cannot roll back a newer one.
    pub fn admits(&self, capsule: &VerifiedCapsule<'_>) -> Result<(), TrustError> {
        match capsule.signed() {
            Some(s) => self.check_manifest(&s.manifest),
            None => Ok(()),
        }
    }

    fn check_manifest(&self, m: &Manifest) -> Result<(), TrustError> {
        self.check(&m.name, m.version, &m.digest)
    }

    /// The highest version of `name` installed so far.
    pub fn installed(&self, name: &str) -> Option<u64> {
        self.installed.get(name).map(|&(_, v)| v)
    }

    /// The ledger as bytes, for a device to store (read back with
    /// [`VersionLedger::from_bytes`]): a format byte, the entry count, then per entry the name's
    /// length and bytes, the payload digest and the version (little-endian).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(5 + self.installed.len() * (1 + 32 + 32 + 8));
        out.push(LEDGER_FORMAT);
        out.extend_from_slice(&(self.installed.len() as u32).to_le_bytes());
        for (name, (digest, version)) in &self.installed {
            // Names come from verified manifests: at most MAX_NAME_LEN (32) bytes.
            out.push(name.len() as u8);
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(digest);
            out.extend_from_slice(&version.to_le_bytes());
        }
        out
    }

    /// Reads what [`VersionLedger::to_bytes`] wrote; `None` for anything else (a device should
    /// then refuse to start rather than forget what it installed).
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (&format, mut rest) = bytes.split_first()?;
        if format != LEDGER_FORMAT {
            return None;
        }
        let mut take = |n: usize| -> Option<&[u8]> {
            let (head, tail) = rest.split_at_checked(n)?;
            rest = tail;
            Some(head)
        };
        let count = u32::from_le_bytes(take(4)?.try_into().ok()?);
        let mut installed = BTreeMap::new();
        for _ in 0..count {
            let len = usize::from(*take(1)?.first()?);
            if len > MAX_NAME_LEN {
                return None;
            }
            let name = String::from(core::str::from_utf8(take(len)?).ok()?);
            let digest: [u8; 32] = take(32)?.try_into().ok()?;
            let version = u64::from_le_bytes(take(8)?.try_into().ok()?);
            installed.insert(name, (digest, version));
        }
        rest.is_empty().then_some(VersionLedger { installed })
    }

    /// Refuses `name` at `version` with payload `digest` if it is older than the version
    /// recorded for that name, or another build of that same version.
    pub(super) fn check(
        &self,
        name: &str,
        version: u64,
        digest: &[u8; 32],
    ) -> Result<(), TrustError> {
        match self.installed.get(name) {
            Some(&(recorded, installed))
                if version < installed || (version == installed && *digest != recorded) =>
            {
                Err(TrustError::Rollback {
                    name: String::from(name),
                    version,
                    installed,
                })
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_ledger_reads_back_and_garbage_does_not() {
        let mut ledger = VersionLedger::new();
        ledger.installed.insert("hello".into(), ([7; 32], 20261130));
        ledger.installed.insert("ünï".into(), ([9; 32], 1));
        let bytes = ledger.to_bytes();
        assert_eq!(VersionLedger::from_bytes(&bytes), Some(ledger.clone()));
        assert_eq!(
            VersionLedger::from_bytes(&VersionLedger::new().to_bytes()),
            Some(VersionLedger::new())
        );
        // Every truncation, a trailing byte, another format, a count larger than the entries.
        for n in 0..bytes.len() {
            assert_eq!(VersionLedger::from_bytes(&bytes[..n]), None, "cut at {n}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(VersionLedger::from_bytes(&longer), None);
        let mut other = bytes.clone();
        other[0] = 2;
        assert_eq!(VersionLedger::from_bytes(&other), None);
        let mut count = bytes;
        count[1..5].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(VersionLedger::from_bytes(&count), None);
    }
}
