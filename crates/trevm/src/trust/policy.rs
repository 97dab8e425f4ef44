//! [`TrustPolicy`]: the keys a device trusts, and the checks a capsule passes.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use super::cose::Sign1;
use super::error::TrustError;
use super::key::TrustedKey;
use super::kid::KeyId;
use super::ledger::VersionLedger;
use super::verified::{Provenance, Signed, VerifiedCapsule};
use crate::capsule::{Capsule, TrailerKind};
use crate::manifest::{Manifest, sha256};

/// The keys a device trusts, and whether it runs unsigned capsules (it should not).
#[derive(Debug, Clone, Default)]
pub struct TrustPolicy {
    keys: Vec<TrustedKey>,
    accept_unsigned: bool,
}

impl TrustPolicy {
    /// A policy trusting nobody: every capsule is refused until a key is added.
    pub const fn new() -> Self {
        TrustPolicy {
            keys: Vec::new(),
            accept_unsigned: false,
        }
    }

    /// Adds a trusted key.
    pub fn trust(mut self, key: TrustedKey) -> Self {
        self.keys.push(key);
        self
    }

    /// Lets [`TrustPolicy::verify`] pass capsules without a signature (with
    /// [`Provenance::Unchecked`]); signed ones are still checked. For development only.
    ///
    /// # Safety
    ///
    /// Wasmtime runs precompiled code as it is: an unsigned capsule can read and write any host
    /// memory or freeze the device. The caller guarantees that every capsule this policy will be
    /// asked to verify comes from a trusted source (e.g. a developer's own build on a device on
    /// their desk), as [`VerifiedCapsule::assume_trusted`] requires.
    pub unsafe fn accept_unsigned(mut self) -> Self {
        self.accept_unsigned = true;
        self
    }

    /// Whether unsigned capsules pass.
    pub fn accepts_unsigned(&self) -> bool {
        self.accept_unsigned
    }

    /// The trusted keys.
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// Checks a capsule's signature and manifest (steps 1–7 of the [module docs](self)) against
    /// this policy and `ledger`. Wasmtime sees nothing of it here.
    pub fn verify<'a>(
        &self,
        capsule: Capsule<'a>,
        ledger: &VersionLedger,
    ) -> Result<VerifiedCapsule<'a>, TrustError> {
        if capsule.header().trailer_kind != TrailerKind::Signed {
            return if self.accept_unsigned {
                Ok(VerifiedCapsule::new(capsule, Provenance::Unchecked))
            } else {
                Err(TrustError::Unsigned)
            };
        }
        let sign1 = Sign1::decode(capsule.trailer())?;
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == sign1.kid)
            .ok_or(TrustError::UnknownSigner { kid: sign1.kid })?;
        if !sign1.verify_signature(&key.public) {
            return Err(TrustError::BadSignature {
                signer: key.label.clone(),
            });
        }
        let m = &sign1.manifest;
        if sha256(capsule.payload()) != *m.digest {
            return Err(TrustError::DigestMismatch);
        }
        if m.name != capsule.name() {
            return Err(TrustError::HeaderMismatch("name"));
        }
        if m.profile != capsule.header().stamp {
            return Err(TrustError::HeaderMismatch("engine profile"));
        }
        if !key.names.permits(m.name) {
            return Err(TrustError::NameNotAllowed {
                name: String::from(m.name),
                signer: key.label.clone(),
            });
        }
        if let Some(grant) = m.grants().iter().find(|g| !key.grants.permits(g)) {
            return Err(TrustError::GrantNotAllowed {
                grant: String::from(*grant),
                signer: key.label.clone(),
            });
        }
        ledger.check(m.name, m.version, m.digest)?;
        // Passed: only now is anything allocated (the record of who vouched for what).
        let signed = Signed {
            kid: sign1.kid,
            signer: key.label.clone(),
            manifest: m.to_owned(),
        };
        Ok(VerifiedCapsule::new(
            capsule,
            Provenance::Signed(Box::new(signed)),
        ))
    }
}

/// Reads the manifest a capsule carries, signed or not, *without* checking anything: for tools
/// that show what a capsule claims (`trevm inspect`) or re-sign it (`trevm sign`).
pub fn claimed_manifest(
    capsule: &Capsule<'_>,
) -> Result<Option<(Manifest, Option<KeyId>)>, TrustError> {
    match capsule.header().trailer_kind {
        TrailerKind::None => Ok(None),
        TrailerKind::Manifest => Ok(Some((Manifest::from_cbor(capsule.trailer())?, None))),
        TrailerKind::Signed => {
            let sign1 = Sign1::decode(capsule.trailer())?;
            Ok(Some((sign1.manifest.to_owned(), Some(sign1.kid))))
        }
    }
}
