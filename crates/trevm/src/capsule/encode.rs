//! Writing capsules: a header in front of a payload, and a trailer after it.

use alloc::vec::Vec;

use super::checked::Capsule;
use super::crc::Crc32;
use super::error::CapsuleError;
use super::header::{CapsuleHeader, TrailerKind};
use super::layout::{HEADER_LEN, MAX_TRAILER_LEN};
use super::stamp::StampedProfile;
use crate::profile::EngineProfile;

/// Wraps a precompiled component (the output of `Engine::precompile_component` for `profile`)
/// into capsule bytes with no trailer. The name is cut to [`MAX_NAME_LEN`] bytes at a character
/// boundary.
///
/// Fails only if the payload is larger than 4 GiB.
pub fn encode(profile: EngineProfile, name: &str, cwasm: &[u8]) -> Result<Vec<u8>, CapsuleError> {
    encode_with_trailer(profile, name, cwasm, TrailerKind::None, &[])
}

/// Like [`encode`], with a trailer (a manifest, or a COSE_Sign1 over one: see
/// `trevm_sign::sign_manifest`).
///
/// Fails if the payload is larger than 4 GiB, the trailer longer than [`MAX_TRAILER_LEN`], or the
/// kind and the trailer disagree (an empty trailer goes with [`TrailerKind::None`] only).
pub fn encode_with_trailer(
    profile: EngineProfile,
    name: &str,
    cwasm: &[u8],
    trailer_kind: TrailerKind,
    trailer: &[u8],
) -> Result<Vec<u8>, CapsuleError> {
    encode_stamped(
        StampedProfile::current(profile),
        name,
        cwasm,
        trailer_kind,
        trailer,
    )
}

/// [`encode_with_trailer`] with the given stamp (kept from an existing capsule, or current).
fn encode_stamped(
    stamp: StampedProfile,
    name: &str,
    cwasm: &[u8],
    trailer_kind: TrailerKind,
    trailer: &[u8],
) -> Result<Vec<u8>, CapsuleError> {
    let payload_len =
        u32::try_from(cwasm.len()).map_err(|_| CapsuleError::BadHeader("payload too large"))?;
    if trailer.len() > MAX_TRAILER_LEN {
        return Err(CapsuleError::BadHeader("trailer longer than 4096 bytes"));
    }
    if (trailer_kind == TrailerKind::None) != trailer.is_empty() {
        return Err(CapsuleError::BadHeader(
            "trailer length does not match trailer kind",
        ));
    }
    let mut crc = Crc32::new();
    crc.update(cwasm);
    crc.update(trailer);
    let header = CapsuleHeader::new(
        stamp,
        payload_len as usize,
        crc.finish(),
        trailer_kind,
        trailer.len(),
        name,
    );
    let mut out = Vec::with_capacity(HEADER_LEN + cwasm.len() + trailer.len());
    out.extend_from_slice(&header.to_bytes());
    out.extend_from_slice(cwasm);
    out.extend_from_slice(trailer);
    Ok(out)
}

/// The same capsule (header, payload) with another trailer: how a manifest or a signature is
/// attached to a built capsule.
pub fn with_trailer(
    capsule: &Capsule<'_>,
    trailer_kind: TrailerKind,
    trailer: &[u8],
) -> Result<Vec<u8>, CapsuleError> {
    // The stamp stays the capsule's own (it says which Wasmtime produced the payload).
    encode_stamped(
        capsule.header().stamp,
        capsule.name(),
        capsule.payload(),
        trailer_kind,
        trailer,
    )
}
