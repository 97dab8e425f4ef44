//! Keys: [`KeyId`] and [`TrustedKey`], with what each key may sign and grant.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::error::TrustError;
use super::kid::KeyId;

/// Which capsule names a key may sign, or which imports it may grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Allow {
    Any,
    /// Exact names, or prefixes written with a trailing `*`.
    Only(Vec<String>),
}

impl Allow {
    pub(super) fn permits(&self, what: &str) -> bool {
        match self {
            Allow::Any => true,
            Allow::Only(patterns) => patterns.iter().any(|p| match p.strip_suffix('*') {
                Some(prefix) => what.starts_with(prefix),
                None => p == what,
            }),
        }
    }
}

/// An Ed25519 public key the device trusts, optionally only for some capsule names and grants.
#[derive(Clone, PartialEq, Eq)]
pub struct TrustedKey {
    pub(super) public: [u8; 32],
    pub(super) kid: KeyId,
    pub(super) label: String,
    pub(super) names: Allow,
    pub(super) grants: Allow,
}

impl fmt::Debug for TrustedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedKey")
            .field("kid", &self.kid)
            .field("label", &self.label)
            .field("names", &self.names)
            .field("grants", &self.grants)
            .finish()
    }
}

impl TrustedKey {
    /// Trusts a raw 32-byte Ed25519 public key for any capsule name and any grant. Fails if the
    /// bytes are not a usable public key (not a curve point, or of small order).
    pub fn ed25519(public: [u8; 32]) -> Result<Self, TrustError> {
        ed25519_compact::PublicKey::new(public)
            .validate()
            .map_err(|_| TrustError::Malformed("not a valid Ed25519 public key"))?;
        let kid = KeyId::of(&public);
        Ok(TrustedKey {
            public,
            kid,
            label: alloc::format!("key {kid}"),
            names: Allow::Any,
            grants: Allow::Any,
        })
    }

    /// Names the key in messages (default: `key <kid>`).
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Limits the key to capsules whose name is one of `names` (a trailing `*` matches any
    /// suffix: `sensor-*`).
    pub fn only_names<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.names = Allow::Only(names.into_iter().map(Into::into).collect());
        self
    }

    /// Limits the imports the key may grant to `grants` (e.g.
    /// `ariel:wasm-bindings/log-api@0.0.1`; a trailing `*` matches any suffix).
    pub fn only_grants<S: Into<String>>(mut self, grants: impl IntoIterator<Item = S>) -> Self {
        self.grants = Allow::Only(grants.into_iter().map(Into::into).collect());
        self
    }

    /// The key id signatures by this key carry.
    pub fn kid(&self) -> KeyId {
        self.kid
    }

    /// The raw public key.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public
    }

    /// The label used in messages.
    pub fn label(&self) -> &str {
        &self.label
    }
}
