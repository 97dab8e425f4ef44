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
//! 2. it is well formed, at most [`MAX_TRAILER_LEN`](crate::capsule::MAX_TRAILER_LEN) bytes and
//!    [`MAX_CBOR_ITEMS`](crate::manifest::MAX_CBOR_ITEMS) CBOR items, algorithm EdDSA
//!    ([`TrustError::Malformed`]);
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
//! installed is touched.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use coset::cbor::value::Value;
use coset::{AsCborValue, CoseSign1, iana};

use crate::capsule::{Capsule, TrailerKind};
use crate::manifest::{Manifest, ManifestError, check_cbor_items, decode_value, sha256};

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

/// Which capsule names a key may sign, or which imports it may grant.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Allow {
    Any,
    /// Exact names, or prefixes written with a trailing `*`.
    Only(Vec<String>),
}

impl Allow {
    fn permits(&self, what: &str) -> bool {
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
    public: [u8; 32],
    kid: KeyId,
    label: String,
    names: Allow,
    grants: Allow,
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
    pub(crate) fn embedded(capsule: Capsule<'a>) -> Self {
        VerifiedCapsule {
            capsule,
            provenance: Provenance::Embedded,
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
            Some(s) => self.check(&s.manifest),
            None => Ok(()),
        }
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
            if len > crate::capsule::MAX_NAME_LEN {
                return None;
            }
            let name = String::from(core::str::from_utf8(take(len)?).ok()?);
            let digest: [u8; 32] = take(32)?.try_into().ok()?;
            let version = u64::from_le_bytes(take(8)?.try_into().ok()?);
            installed.insert(name, (digest, version));
        }
        rest.is_empty().then_some(VersionLedger { installed })
    }

    fn check(&self, m: &Manifest) -> Result<(), TrustError> {
        match self.installed.get(&m.name) {
            Some(&(digest, installed))
                if m.version < installed || (m.version == installed && m.digest != digest) =>
            {
                Err(TrustError::Rollback {
                    name: m.name.clone(),
                    version: m.version,
                    installed,
                })
            }
            _ => Ok(()),
        }
    }
}

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
                Ok(VerifiedCapsule {
                    capsule,
                    provenance: Provenance::Unchecked,
                })
            } else {
                Err(TrustError::Unsigned)
            };
        }
        let sign1 = parse_sign1(capsule.trailer())?;
        let kid = signer_kid(&sign1)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or(TrustError::UnknownSigner { kid })?;
        let bad_signature = || TrustError::BadSignature {
            signer: key.label.clone(),
        };
        let signature = ed25519_compact::Signature::from_slice(&sign1.signature)
            .map_err(|_| bad_signature())?;
        sign1.verify_signature(b"", |_, tbs| {
            ed25519_compact::PublicKey::new(key.public)
                .verify(tbs, &signature)
                .map_err(|_| bad_signature())
        })?;
        let manifest = Manifest::from_cbor(sign1.payload.as_deref().unwrap_or_default())?;
        if sha256(capsule.payload()) != manifest.digest {
            return Err(TrustError::DigestMismatch);
        }
        if manifest.name != capsule.name() {
            return Err(TrustError::HeaderMismatch("name"));
        }
        if manifest.profile != capsule.header().stamp {
            return Err(TrustError::HeaderMismatch("engine profile"));
        }
        if !key.names.permits(&manifest.name) {
            return Err(TrustError::NameNotAllowed {
                name: manifest.name,
                signer: key.label.clone(),
            });
        }
        if let Some(grant) = manifest.grants.iter().find(|g| !key.grants.permits(g)) {
            return Err(TrustError::GrantNotAllowed {
                grant: grant.clone(),
                signer: key.label.clone(),
            });
        }
        ledger.check(&manifest)?;
        Ok(VerifiedCapsule {
            capsule,
            provenance: Provenance::Signed(Box::new(Signed {
                kid,
                signer: key.label.clone(),
                manifest,
            })),
        })
    }
}

/// Reads a signature trailer: bounded, tag 18, a COSE_Sign1 with an attached payload.
fn parse_sign1(trailer: &[u8]) -> Result<CoseSign1, TrustError> {
    let Value::Tag(18, inner) = decode_value(trailer)? else {
        return Err(TrustError::Malformed("not a COSE_Sign1 (CBOR tag 18)"));
    };
    // The protected header is CBOR inside a byte string: bound it too before coset decodes it.
    if let Value::Array(parts) = inner.as_ref()
        && let Some(Value::Bytes(protected)) = parts.first()
    {
        check_cbor_items(protected, crate::manifest::MAX_CBOR_ITEMS)?;
    }
    let sign1 = CoseSign1::from_cbor_value(*inner)
        .map_err(|_| TrustError::Malformed("not a COSE_Sign1"))?;
    if sign1.payload.is_none() {
        return Err(TrustError::Malformed("the manifest is not attached"));
    }
    Ok(sign1)
}

fn signer_kid(sign1: &CoseSign1) -> Result<KeyId, TrustError> {
    let header = &sign1.protected.header;
    if header.alg != Some(coset::Algorithm::Assigned(iana::Algorithm::EdDSA)) {
        return Err(TrustError::Malformed(
            "the algorithm is not EdDSA in the protected header",
        ));
    }
    let kid = <[u8; KID_LEN]>::try_from(header.key_id.as_slice())
        .map_err(|_| TrustError::Malformed("the protected header has no 8-byte kid"))?;
    Ok(KeyId(kid))
}

/// Makes the signature trailer for `manifest`: a COSE_Sign1 with `kid` in its protected header,
/// its signature computed by `sign` (Ed25519 over the bytes it is given). Host tools pass their
/// key here (see `trevm-sign`); the device never signs.
pub fn sign_manifest(
    manifest: &Manifest,
    kid: KeyId,
    sign: impl FnOnce(&[u8]) -> [u8; 64],
) -> Vec<u8> {
    use coset::{CoseSign1Builder, HeaderBuilder, TaggedCborSerializable};
    let protected = HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .key_id(kid.0.to_vec())
        .build();
    CoseSign1Builder::new()
        .protected(protected)
        .payload(manifest.to_cbor())
        .create_signature(b"", |tbs| sign(tbs).to_vec())
        .build()
        .to_tagged_vec()
        // Encoding into a `Vec` cannot fail.
        .unwrap_or_default()
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
            let sign1 = parse_sign1(capsule.trailer())?;
            let kid = signer_kid(&sign1)?;
            let manifest = Manifest::from_cbor(sign1.payload.as_deref().unwrap_or_default())?;
            Ok(Some((manifest, Some(kid))))
        }
    }
}

#[cfg(test)]
mod tests {

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
    use super::*;
    use crate::capsule::{encode, with_trailer};
    use crate::profile::{EngineProfile, Preemption};
    use alloc::string::ToString;

    struct Key(ed25519_compact::KeyPair);

    impl Key {
        fn new(seed: u8) -> Self {
            Key(ed25519_compact::KeyPair::from_seed(
                ed25519_compact::Seed::new([seed; 32]),
            ))
        }
        fn trusted(&self) -> TrustedKey {
            TrustedKey::ed25519(*self.0.pk).unwrap()
        }
        fn sign(&self, capsule: &[u8], version: u64, grants: &[&str]) -> Vec<u8> {
            let c = Capsule::from_slice(capsule).unwrap();
            let m = Manifest::describe(&c, version, grants.iter().map(|g| g.to_string()).collect());
            let kid = KeyId::of(&self.0.pk);
            let trailer = sign_manifest(&m, kid, |tbs| *self.0.sk.sign(tbs, None));
            with_trailer(&c, TrailerKind::Signed, &trailer).unwrap()
        }
    }

    fn unsigned() -> Vec<u8> {
        encode(
            EngineProfile::pulley32(Preemption::Fuel),
            "hello",
            b"pretend precompiled code",
        )
        .unwrap()
    }

    fn verify(policy: &TrustPolicy, bytes: &[u8]) -> Result<u64, TrustError> {
        let c = Capsule::from_slice(bytes).unwrap();
        policy
            .verify(c, &VersionLedger::new())
            .map(|v| v.signed().unwrap().manifest.version)
    }

    #[test]
    fn signed_by_a_trusted_key_passes_and_everything_else_is_refused() {
        let key = Key::new(1);
        let policy = TrustPolicy::new().trust(key.trusted());
        let signed = key.sign(&unsigned(), 7, &["ariel:wasm-bindings/log-api@0.0.1"]);
        assert_eq!(verify(&policy, &signed), Ok(7));

        assert_eq!(verify(&policy, &unsigned()), Err(TrustError::Unsigned));

        let stranger = Key::new(2).sign(&unsigned(), 7, &[]);
        assert!(matches!(
            verify(&policy, &stranger),
            Err(TrustError::UnknownSigner { .. })
        ));

        // Payload patched after signing, CRC recomputed.
        let c = Capsule::from_slice(&signed).unwrap();
        let mut payload = c.payload().to_vec();
        payload[3] ^= 0x40;
        let patched = crate::capsule::encode_with_trailer(
            c.profile(),
            c.name(),
            &payload,
            TrailerKind::Signed,
            c.trailer(),
        )
        .unwrap();
        assert_eq!(verify(&policy, &patched), Err(TrustError::DigestMismatch));

        // A signature byte flipped, CRC recomputed.
        let mut trailer = c.trailer().to_vec();
        let last = trailer.len() - 1;
        trailer[last] ^= 1;
        let forged = with_trailer(&c, TrailerKind::Signed, &trailer).unwrap();
        assert!(matches!(
            verify(&policy, &forged),
            Err(TrustError::BadSignature { .. })
        ));

        // Renamed in the header after signing.
        let renamed = crate::capsule::encode_with_trailer(
            c.profile(),
            "other",
            c.payload(),
            TrailerKind::Signed,
            c.trailer(),
        )
        .unwrap();
        assert_eq!(
            verify(&policy, &renamed),
            Err(TrustError::HeaderMismatch("name"))
        );
    }

    #[test]
    fn per_key_names_and_grants() {
        let key = Key::new(3);
        let policy = TrustPolicy::new().trust(
            key.trusted()
                .with_label("sensor key")
                .only_names(["sensor-*"])
                .only_grants(["ariel:wasm-bindings/log-api@0.0.1"]),
        );
        let err = verify(&policy, &key.sign(&unsigned(), 1, &[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "sensor key is not allowed to sign capsules named `hello` on this device"
        );
        let named = encode(
            EngineProfile::pulley32(Preemption::Fuel),
            "sensor-1",
            b"code",
        )
        .unwrap();
        assert!(
            verify(
                &policy,
                &key.sign(&named, 1, &["ariel:wasm-bindings/log-api@0.0.1"])
            )
            .is_ok()
        );
        let err = verify(
            &policy,
            &key.sign(&named, 1, &["ariel:wasm-bindings/udp-api@0.0.1"]),
        )
        .unwrap_err();
        assert!(matches!(err, TrustError::GrantNotAllowed { .. }), "{err}");
        assert!(!err.is_authentication_failure());
    }

    #[test]
    fn anti_rollback() {
        let key = Key::new(4);
        let policy = TrustPolicy::new().trust(key.trusted());
        let mut ledger = VersionLedger::new();
        let v2 = key.sign(&unsigned(), 2, &[]);
        let verified = policy
            .verify(Capsule::from_slice(&v2).unwrap(), &ledger)
            .unwrap();
        ledger.record(&verified);
        assert_eq!(ledger.installed("hello"), Some(2));
        // The same capsule again is fine.
        assert!(
            policy
                .verify(Capsule::from_slice(&v2).unwrap(), &ledger)
                .is_ok()
        );
        let v1 = key.sign(&unsigned(), 1, &[]);
        let err = policy
            .verify(Capsule::from_slice(&v1).unwrap(), &ledger)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "version 1 of `hello` is older than the installed version 2 (anti-rollback)"
        );
        let other = encode(
            EngineProfile::pulley32(Preemption::Fuel),
            "hello",
            b"new code",
        )
        .unwrap();
        let same_version = key.sign(&other, 2, &[]);
        assert!(matches!(
            policy.verify(Capsule::from_slice(&same_version).unwrap(), &ledger),
            Err(TrustError::Rollback { installed: 2, .. })
        ));
    }

    #[test]
    fn unsigned_only_with_the_unsafe_opt_in() {
        // SAFETY: test bytes are never loaded.
        let policy = unsafe { TrustPolicy::new().accept_unsigned() };
        let bytes = unsigned();
        let v = policy
            .verify(Capsule::from_slice(&bytes).unwrap(), &VersionLedger::new())
            .unwrap();
        assert_eq!(v.provenance(), &Provenance::Unchecked);
    }

    #[test]
    fn hostile_trailers_are_refused_without_panicking() {
        let c = Capsule::from_slice(&unsigned()).unwrap().into_owned();
        let policy = TrustPolicy::new().trust(Key::new(5).trusted());
        let cases: [&[u8]; 6] = [
            &[0xd2],
            &[0xd2, 0x84, 0x40, 0xa0, 0x40, 0x40],
            &[0xd2, 0x98, 0xff],
            &[0xc6, 0x00],
            &[0xd2, 0x84, 0x43, 0xa1, 0x01, 0x27, 0xa0, 0xf6, 0x40],
            &[0xff; 100],
        ];
        for trailer in cases {
            let bytes = with_trailer(&c, TrailerKind::Signed, trailer).unwrap();
            let err = verify(&policy, &bytes).unwrap_err();
            assert!(err.is_authentication_failure(), "{err}");
        }
    }
}
