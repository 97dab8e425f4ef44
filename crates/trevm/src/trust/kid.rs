//! [`KeyId`]: how a signature names its key.

use core::fmt;

use crate::manifest::sha256;

/// Length of a key id.
pub const KID_LEN: usize = 8;

/// A key id: the first 8 bytes of the SHA-256 of the raw 32-byte Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub [u8; KID_LEN]);

impl KeyId {
    /// The key id of an Ed25519 public key.
    pub fn of(public_key: &[u8; 32]) -> Self {
        let digest = sha256(public_key);
        let mut kid = [0u8; KID_LEN];
        kid.copy_from_slice(&digest[..KID_LEN]);
        KeyId(kid)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}
