//! [`TrustError`]: why the trust policy refused a capsule.

use alloc::string::String;
use core::fmt;

use super::kid::KeyId;
use crate::manifest::ManifestError;

/// Why a capsule was refused by the trust policy. Each message says exactly why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrustError {
    /// The capsule carries no signature, and the policy requires one.
    Unsigned,
    /// The signature block or the manifest in it is not what this runtime reads.
    Malformed(&'static str),
    /// Signed by a key the policy does not trust.
    UnknownSigner {
        /// The signer's key id.
        kid: KeyId,
    },
    /// The signature does not verify with the trusted key of that id: the signed part was
    /// altered, or it was signed by another key.
    BadSignature {
        /// The key it claims.
        signer: String,
    },
    /// The payload is not what was signed: it was altered after signing.
    DigestMismatch,
    /// The header says something else than the signed manifest.
    HeaderMismatch(&'static str),
    /// The signer is trusted, but not for capsules of this name.
    NameNotAllowed {
        /// The capsule's name.
        name: String,
        /// The signer.
        signer: String,
    },
    /// The manifest grants an import this signer may not grant.
    GrantNotAllowed {
        /// The import.
        grant: String,
        /// The signer.
        signer: String,
    },
    /// Older than the version already installed (anti-rollback), or the same version with other
    /// contents.
    Rollback {
        /// The capsule's name.
        name: String,
        /// Its version.
        version: u64,
        /// The version installed.
        installed: u64,
    },
    /// The capsule imports something its signed manifest does not grant.
    ImportNotGranted {
        /// The import.
        import: String,
    },
}

impl TrustError {
    /// Whether the capsule failed to *authenticate* (no signature, unknown or wrong key, contents
    /// altered after signing), as opposed to being authentic but *forbidden* by the policy (name,
    /// grants, anti-rollback). CoAP answers the first with 4.01 Unauthorized, the second with
    /// 4.03 Forbidden.
    pub fn is_authentication_failure(&self) -> bool {
        matches!(
            self,
            TrustError::Unsigned
                | TrustError::Malformed(_)
                | TrustError::UnknownSigner { .. }
                | TrustError::BadSignature { .. }
                | TrustError::DigestMismatch
                | TrustError::HeaderMismatch(_)
        )
    }
}

impl fmt::Display for TrustError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustError::Unsigned => write!(
                f,
                "capsule is not signed: this device runs only capsules signed by a key it trusts \
                 (sign it with `trevm sign`, or build it with `trevm build --sign KEY`)"
            ),
            TrustError::Malformed(why) => write!(f, "capsule signature is malformed: {why}"),
            TrustError::UnknownSigner { kid } => write!(
                f,
                "capsule is signed by key {kid}, which this device does not trust"
            ),
            TrustError::BadSignature { signer } => write!(
                f,
                "capsule signature does not verify with {signer}: the capsule was altered after \
                 signing or signed by another key"
            ),
            TrustError::DigestMismatch => write!(
                f,
                "capsule payload does not match the SHA-256 digest it was signed with: it was \
                 altered after signing"
            ),
            TrustError::HeaderMismatch(what) => write!(
                f,
                "capsule header does not match its signed manifest: the {what} differs"
            ),
            TrustError::NameNotAllowed { name, signer } => write!(
                f,
                "{signer} is not allowed to sign capsules named `{name}` on this device"
            ),
            TrustError::GrantNotAllowed { grant, signer } => write!(
                f,
                "{signer} is not allowed to grant `{grant}` on this device"
            ),
            TrustError::Rollback {
                name,
                version,
                installed,
            } if version == installed => write!(
                f,
                "version {version} of `{name}` is installed already with other contents: sign the \
                 new build with a higher version (anti-rollback)"
            ),
            TrustError::Rollback {
                name,
                version,
                installed,
            } => write!(
                f,
                "version {version} of `{name}` is older than the installed version {installed} \
                 (anti-rollback)"
            ),
            TrustError::ImportNotGranted { import } => write!(
                f,
                "capsule imports `{import}`, which its signed manifest does not grant"
            ),
        }
    }
}

impl core::error::Error for TrustError {}

impl From<ManifestError> for TrustError {
    fn from(e: ManifestError) -> Self {
        TrustError::Malformed(e.0)
    }
}
