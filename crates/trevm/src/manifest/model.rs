//! [`Manifest`], the owned manifest, and its encoder.

use alloc::string::String;
use alloc::vec::Vec;

use super::exports;
use crate::capsule::{Capsule, StampedProfile};
use crate::value::ExportedFunc;

/// Most grants (imports) a manifest may list.
pub const MAX_GRANTS: usize = 32;
/// Longest grant name, in bytes.
pub const MAX_GRANT_LEN: usize = 128;

pub(super) const KEY_NAME: u8 = 1;
pub(super) const KEY_VERSION: u8 = 2;
pub(super) const KEY_PROFILE: u8 = 3;
pub(super) const KEY_DIGEST: u8 = 4;
pub(super) const KEY_GRANTS: u8 = 5;
pub(super) const KEY_EXPORTS: u8 = 6;

/// What a capsule is, as its builder states it and its signer vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The capsule's name (as in its header).
    pub name: String,
    /// Anti-rollback version: a device refuses a capsule older than the one it has.
    pub version: u64,
    /// The engine profile the payload was precompiled for.
    pub profile: StampedProfile,
    /// SHA-256 of the payload.
    pub digest: [u8; 32],
    /// The imports the capsule may have: interface names such as
    /// `ariel:wasm-bindings/log-api@0.0.1`, or plain function names of the world.
    pub grants: Vec<String>,
    /// The functions a plain-wasm capsule ([`Target::Wasm`](crate::Target::Wasm)) exports, with
    /// their WIT types: what a device calls them with, since a core module does not say. Empty
    /// for a precompiled component, whose types are in the component (and then not encoded:
    /// key 6 is absent).
    pub exports: Vec<ExportedFunc>,
}

impl Manifest {
    /// Encodes the manifest as CBOR: the map of the [module docs](super), keys in order, every
    /// length and integer in its shortest form.
    pub fn to_cbor(&self) -> Vec<u8> {
        let p = &self.profile;
        let mut e = minicbor::Encoder::new(VecWriter(Vec::new()));
        // Writing into a `Vec` cannot fail.
        let _ = (|| -> Result<(), minicbor::encode::Error<core::convert::Infallible>> {
            e.map(if self.exports.is_empty() { 5 } else { 6 })?;
            e.u8(KEY_NAME)?.str(&self.name)?;
            e.u8(KEY_VERSION)?.u64(self.version)?;
            e.u8(KEY_PROFILE)?.array(4)?;
            e.u8(p.profile.target as u8)?
                .u8(p.profile.preemption as u8)?;
            e.u16(p.wasmtime_major)?.u16(p.revision)?;
            e.u8(KEY_DIGEST)?.bytes(&self.digest)?;
            e.u8(KEY_GRANTS)?.array(self.grants.len() as u64)?;
            for g in &self.grants {
                e.str(g)?;
            }
            if !self.exports.is_empty() {
                e.u8(KEY_EXPORTS)?;
                exports::encode(&mut e, &self.exports)?;
            }
            Ok(())
        })();
        e.into_writer().0
    }

    /// The manifest of `capsule` as it is (name, profile and payload digest from the capsule),
    /// with `version` and `grants` and no `exports` (see [`Manifest::with_exports`]): what a
    /// signer signs.
    pub fn describe(capsule: &Capsule<'_>, version: u64, grants: Vec<String>) -> Self {
        Manifest {
            name: String::from(capsule.name()),
            version,
            profile: capsule.header().stamp,
            digest: sha256(capsule.payload()),
            grants,
            exports: Vec::new(),
        }
    }

    /// The manifest with `exports` (those of a plain-wasm capsule).
    pub fn with_exports(mut self, exports: Vec<ExportedFunc>) -> Self {
        self.exports = exports;
        self
    }

    /// The exported function `name`, if the manifest lists it.
    pub fn export(&self, name: &str) -> Option<&ExportedFunc> {
        self.exports.iter().find(|f| f.name == name)
    }

    /// Whether the manifest grants the import `name`.
    pub fn grants(&self, name: &str) -> bool {
        self.grants.iter().any(|g| g == name)
    }
}

/// A `Vec` as minicbor's output (its own `Vec` support needs minicbor's `alloc` feature, which
/// changes what minicbor's derive writes for every crate in the build: coapcore's no longer
/// compiles).
struct VecWriter(Vec<u8>);

impl minicbor::encode::Write for VecWriter {
    type Error = core::convert::Infallible;

    fn write_all(&mut self, buf: &[u8]) -> Result<(), Self::Error> {
        self.0.extend_from_slice(buf);
        Ok(())
    }
}

/// SHA-256 of `data` (the manifest's digest of a payload).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}
