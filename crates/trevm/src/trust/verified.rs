//! [`VerifiedCapsule`], the only input of `Runtime::load`, and where it comes from.

use alloc::boxed::Box;
use alloc::string::String;

use super::kid::KeyId;
use crate::capsule::{Capsule, CapsuleError, EmbeddedCapsule};
use crate::manifest::Manifest;

/// Who signed a verified capsule, and what they vouched for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The signer's key id.
    pub kid: KeyId,
    /// The signer's label in the policy.
    pub signer: String,
    /// The signed manifest.
    pub manifest: Manifest,
}

/// Why a capsule may be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provenance {
    /// A trusted key signed it.
    Signed(Box<Signed>),
    /// Built into the firmware image ([`include_capsule!`](crate::include_capsule)).
    Embedded,
    /// Nobody vouched for it: an embedder said so in `unsafe` code
    /// ([`TrustPolicy::accept_unsigned`], [`VerifiedCapsule::assume_trusted`]).
    Unchecked,
}

/// A capsule that may be handed to Wasmtime: signed by a trusted key, embedded in the image, or
/// declared trusted in `unsafe` code. The only input of [`Runtime::load`](crate::Runtime::load).
#[derive(Debug, Clone)]
pub struct VerifiedCapsule<'a> {
    capsule: Capsule<'a>,
    provenance: Provenance,
}

impl<'a> VerifiedCapsule<'a> {
    pub(super) fn new(capsule: Capsule<'a>, provenance: Provenance) -> Self {
        VerifiedCapsule {
            capsule,
            provenance,
        }
    }

    /// Declares a capsule trusted without any check.
    ///
    /// # Safety
    ///
    /// Wasmtime runs precompiled code as it is. The caller guarantees that `capsule` was produced
    /// by `trevm build` (Wasmtime's `precompile_component`) from code it trusts and has not been
    /// altered since: forged or corrupted code may read and write any host memory, crash the
    /// device or stop it from ever running another task.
    pub unsafe fn assume_trusted(capsule: Capsule<'a>) -> Self {
        VerifiedCapsule {
            capsule,
            provenance: Provenance::Unchecked,
        }
    }

    /// The same, owning its bytes (copies them unless they are `'static` already).
    pub fn into_static(self) -> VerifiedCapsule<'static> {
        VerifiedCapsule {
            capsule: self.capsule.into_owned(),
            provenance: self.provenance,
        }
    }

    /// The capsule.
    pub fn capsule(&self) -> &Capsule<'a> {
        &self.capsule
    }

    /// Why it may be loaded.
    pub fn provenance(&self) -> &Provenance {
        &self.provenance
    }

    /// The signed manifest, if a trusted key signed the capsule.
    pub fn signed(&self) -> Option<&Signed> {
        match &self.provenance {
            Provenance::Signed(s) => Some(s),
            _ => None,
        }
    }

    /// The capsule's name.
    pub fn name(&self) -> &str {
        self.capsule.name()
    }
}

impl<'a> core::ops::Deref for VerifiedCapsule<'a> {
    type Target = Capsule<'a>;
    fn deref(&self) -> &Capsule<'a> {
        &self.capsule
    }
}

impl EmbeddedCapsule {
    /// Checks header, length and CRC (a corrupted image is still refused) and returns the
    /// capsule ready for [`Runtime::load`](crate::Runtime::load), trusted as part of the image.
    pub fn check(&self) -> Result<VerifiedCapsule<'static>, CapsuleError> {
        let capsule = Capsule::from_static(self.bytes())?;
        Ok(VerifiedCapsule::new(capsule, Provenance::Embedded))
    }
}
