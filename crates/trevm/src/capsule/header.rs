//! The 64-byte header: its constants, fields, parser and encoder.

use super::error::CapsuleError;
use super::layout::{FORMAT_VERSION, HEADER_LEN, MAGIC, MAX_NAME_LEN, MAX_TRAILER_LEN};
use super::stamp::StampedProfile;
use crate::profile::{EngineProfile, Preemption, Target};

/// What follows the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum TrailerKind {
    /// Nothing: a bare capsule (no manifest).
    None = 0,
    /// A manifest (CBOR, [`crate::manifest::Manifest`]) that nobody signed: it says what the
    /// capsule is, but proves nothing.
    Manifest = 1,
    /// A COSE_Sign1 (RFC 9052) whose payload is the manifest (see [`crate::trust`]).
    Signed = 2,
}

impl TrailerKind {
    pub(crate) fn from_u8(b: u8) -> Option<Self> {
        match b {
            0 => Some(TrailerKind::None),
            1 => Some(TrailerKind::Manifest),
            2 => Some(TrailerKind::Signed),
            _ => None,
        }
    }
}

/// The decoded header of a capsule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapsuleHeader {
    /// Profile the payload was built with.
    pub stamp: StampedProfile,
    /// Payload length.
    pub payload_len: usize,
    /// CRC-32 of payload and trailer.
    pub crc: u32,
    /// What follows the payload.
    pub trailer_kind: TrailerKind,
    /// Trailer length.
    pub trailer_len: usize,
    name: [u8; MAX_NAME_LEN],
    name_len: u8,
}

impl CapsuleHeader {
    /// The capsule's name (may be empty).
    pub fn name(&self) -> &str {
        // The name was validated as UTF-8 when the header was parsed or built.
        core::str::from_utf8(&self.name[..usize::from(self.name_len)]).unwrap_or("")
    }

    /// Bytes after the header: payload and trailer.
    pub fn body_len(&self) -> usize {
        // Both are bounded (u32 and MAX_TRAILER_LEN) when parsed or built; saturate anyway.
        self.payload_len.saturating_add(self.trailer_len)
    }

    /// Parses and checks a header (not the payload).
    pub fn parse(bytes: &[u8]) -> Result<Self, CapsuleError> {
        let Some(h) = bytes.first_chunk::<HEADER_LEN>() else {
            return Err(if bytes.starts_with(&MAGIC) {
                CapsuleError::TooShort { len: bytes.len() }
            } else {
                CapsuleError::BadMagic {
                    looks_like: sniff(bytes),
                }
            });
        };
        if h[..MAGIC.len()] != MAGIC {
            return Err(CapsuleError::BadMagic {
                looks_like: sniff(bytes),
            });
        }
        let u16_at = |o: usize| u16::from_le_bytes([h[o], h[o + 1]]);
        let u32_at = |o: usize| u32::from_le_bytes([h[o], h[o + 1], h[o + 2], h[o + 3]]);
        let version = u16_at(8);
        if version != FORMAT_VERSION {
            return Err(CapsuleError::UnsupportedFormat { version });
        }
        if usize::from(u16_at(10)) != HEADER_LEN {
            return Err(CapsuleError::BadHeader("unexpected header length"));
        }
        let target = Target::from_u8(h[12]).ok_or(CapsuleError::BadHeader("unknown target"))?;
        let preemption =
            Preemption::from_u8(h[13]).ok_or(CapsuleError::BadHeader("unknown preemption"))?;
        let stamp = StampedProfile {
            profile: EngineProfile { target, preemption },
            wasmtime_major: u16_at(14),
            revision: u16_at(24),
        };
        let payload_len = usize::try_from(u32_at(16))
            .map_err(|_| CapsuleError::BadHeader("payload too large"))?;
        let crc = u32_at(20);
        let trailer_kind =
            TrailerKind::from_u8(h[26]).ok_or(CapsuleError::BadHeader("unknown trailer kind"))?;
        if h[27] != 0 {
            return Err(CapsuleError::BadHeader("reserved byte is not zero"));
        }
        let trailer_len = usize::try_from(u32_at(28))
            .ok()
            .filter(|&n| n <= MAX_TRAILER_LEN)
            .ok_or(CapsuleError::BadHeader("trailer longer than 4096 bytes"))?;
        if (trailer_kind == TrailerKind::None) != (trailer_len == 0) {
            return Err(CapsuleError::BadHeader(
                "trailer length does not match trailer kind",
            ));
        }
        let mut name = [0u8; MAX_NAME_LEN];
        name.copy_from_slice(&h[32..64]);
        let name_len = name.iter().position(|&b| b == 0).unwrap_or(MAX_NAME_LEN);
        if name[name_len..].iter().any(|&b| b != 0) {
            return Err(CapsuleError::BadHeader("name is not NUL padded"));
        }
        if core::str::from_utf8(&name[..name_len]).is_err() {
            return Err(CapsuleError::BadHeader("name is not UTF-8"));
        }
        Ok(CapsuleHeader {
            stamp,
            payload_len,
            crc,
            trailer_kind,
            trailer_len,
            name,
            // At most MAX_NAME_LEN (32).
            name_len: name_len as u8,
        })
    }

    /// A header for a payload and trailer of these lengths; `name` is cut to [`MAX_NAME_LEN`]
    /// bytes at a character boundary. The caller bounds the lengths (a `u32` payload, a trailer
    /// of at most [`MAX_TRAILER_LEN`]).
    pub(crate) fn new(
        stamp: StampedProfile,
        payload_len: usize,
        crc: u32,
        trailer_kind: TrailerKind,
        trailer_len: usize,
        name: &str,
    ) -> Self {
        let name = cut_name(name);
        let mut buf = [0u8; MAX_NAME_LEN];
        buf[..name.len()].copy_from_slice(name.as_bytes());
        CapsuleHeader {
            stamp,
            payload_len,
            crc,
            trailer_kind,
            trailer_len,
            name: buf,
            // At most MAX_NAME_LEN (32).
            name_len: name.len() as u8,
        }
    }

    /// Encodes the header.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[..8].copy_from_slice(&MAGIC);
        h[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        h[10..12].copy_from_slice(&(HEADER_LEN as u16).to_le_bytes());
        h[12] = self.stamp.profile.target as u8;
        h[13] = self.stamp.profile.preemption as u8;
        h[14..16].copy_from_slice(&self.stamp.wasmtime_major.to_le_bytes());
        // Both lengths were bounded when the header was built (`encode`) or parsed.
        h[16..20].copy_from_slice(&(self.payload_len as u32).to_le_bytes());
        h[20..24].copy_from_slice(&self.crc.to_le_bytes());
        h[24..26].copy_from_slice(&self.stamp.revision.to_le_bytes());
        h[26] = self.trailer_kind as u8;
        h[28..32].copy_from_slice(&(self.trailer_len as u32).to_le_bytes());
        h[32..32 + usize::from(self.name_len)]
            .copy_from_slice(&self.name[..usize::from(self.name_len)]);
        h
    }
}

/// Cuts `name` to [`MAX_NAME_LEN`] bytes at a character boundary.
pub fn cut_name(name: &str) -> &str {
    let mut cut = name.len().min(MAX_NAME_LEN);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    &name[..cut]
}

/// What non-capsule bytes look like, for a helpful error.
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0x00, b'a', b's', b'm', 0x01, 0x00, 0x00, 0x00, ..] => Some("a core WebAssembly module"),
        [0x00, b'a', b's', b'm', _, _, 0x01, 0x00, ..] => Some("a WebAssembly component"),
        [0x7f, b'E', b'L', b'F', ..] => Some("a bare Wasmtime .cwasm without the trevm header"),
        _ => None,
    }
}
