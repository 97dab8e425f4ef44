//! Trusted capsules: only code that a key the device trusts signed reaches Wasmtime.
//!
//! Wasmtime runs precompiled code as it is: forged Pulley bytecode can read and write host memory
//! or loop without ever yielding. So [`Runtime::load`](crate::Runtime::load) takes only a
//! [`VerifiedCapsule`], and there are exactly two safe ways to get one:
//!
//! - [`TrustPolicy::verify`]: the capsule's trailer is a COSE_Sign1 (RFC 9052) made with
//!   EdDSA/Ed25519 by a key the policy trusts, over a [`Manifest`] that binds the capsule's name,
//!   version, engine profile, the SHA-256 of its payload and the imports it may have.
//! - [`EmbeddedCapsule::check`](crate::capsule::EmbeddedCapsule::check): code built into the
//!   firmware image with [`include_capsule!`](crate::include_capsule).
//!
//! Anything else is `unsafe` ([`TrustPolicy::accept_unsigned`], [`VerifiedCapsule::assume_trusted`]).
//!
//! # The signature
//!
//! ```text
//! COSE_Sign1 = 18([                       ; CBOR tag 18
//!     protected:   bstr .cbor { 1: -8,    ; alg: EdDSA
//!                               4: kid }, ; key id: 8 bytes, SHA-256(public key)[0..8]
//!     unprotected: {},
//!     payload:     bstr .cbor Manifest,   ; see crate::manifest
//!     signature:   bstr,                  ; 64 bytes, Ed25519 over the RFC 9052 Sig_structure
//! ])                                      ; ["Signature1", protected, h'', payload]
//! ```
//!
//! # What is checked, in order
//!
//! 1. there is a signature ([`TrustError::Unsigned`]);
//! 2. it is well formed: at most [`MAX_TRAILER_LEN`](crate::capsule::MAX_TRAILER_LEN) bytes,
//!    exactly the shape above (algorithm EdDSA, an 8-byte kid, nothing else in either header, a
//!    64-byte signature) around a manifest of exactly the shape of [`crate::manifest`]
//!    ([`TrustError::Malformed`]). [`Sign1::decode`] reads both in one pass, in place, without
//!    allocating;
//! 3. its `kid` names a trusted key ([`TrustError::UnknownSigner`]);
//! 4. the signature verifies with that key ([`TrustError::BadSignature`]);
//! 5. the SHA-256 of the payload is the manifest's ([`TrustError::DigestMismatch`]), and the
//!    header's name and profile are the manifest's ([`TrustError::HeaderMismatch`]);
//! 6. the key may sign this name ([`TrustError::NameNotAllowed`]) and grant these imports
//!    ([`TrustError::GrantNotAllowed`]);
//! 7. the version is not older than the one installed ([`TrustError::Rollback`]; see
//!    [`VersionLedger`]);
//! 8. at load, after Wasmtime read the (now trusted) code: the component imports nothing outside
//!    the manifest's grants ([`TrustError::ImportNotGranted`]).
//!
//! Steps 1–7 run on the bytes alone, before Wasmtime sees any of them and before anything
//! installed is touched. They allocate nothing until the capsule has passed them (then the
//! [`Signed`] record with its owned [`Manifest`](crate::Manifest)). Signing is for host tools:
//! `trevm_sign::sign_manifest` writes the signature this module reads.

mod cose;
mod error;
mod key;
mod kid;
mod ledger;
mod policy;
mod verified;

pub use cose::Sign1;
pub use error::TrustError;
pub use key::TrustedKey;
pub use kid::{KID_LEN, KeyId};
pub use ledger::VersionLedger;
pub use policy::{TrustPolicy, claimed_manifest};
pub use verified::{Provenance, Signed, VerifiedCapsule};
