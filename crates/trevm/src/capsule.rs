//! The capsule container: a small header in front of Wasmtime's precompiled component, and a
//! trailer carrying the capsule's manifest, signed or not.
//!
//! ```text
//! offset size field
//!      0    8 magic "TREVMCAP"
//!      8    2 container format version (2), little endian
//!     10    2 header length in bytes (64)
//!     12    1 target        (see [`Target`])
//!     13    1 preemption    (see [`Preemption`])
//!     14    2 Wasmtime major version the code was produced by
//!     16    4 payload length in bytes (P)
//!     20    4 CRC-32 (IEEE) of everything after the header: payload and trailer
//!     24    2 profile revision ([`PROFILE_REVISION`])
//!     26    1 trailer kind: 0 none, 1 unsigned manifest, 2 signed manifest (see [`TrailerKind`])
//!     27    1 reserved, zero
//!     28    4 trailer length in bytes (T), at most [`MAX_TRAILER_LEN`]
//!     32   32 capsule name, UTF-8, NUL padded
//!     64    P payload: the `.cwasm` produced by `Engine::precompile_component`
//!   64+P    T trailer: a manifest (CBOR, see [`crate::manifest`]), or a COSE_Sign1 over one
//!               (see [`crate::trust`])
//! ```
//! A capsule is exactly `64 + P + T` bytes: trailing bytes are refused.
//!
//! The header is checked before Wasmtime sees a byte: wrong magic, truncation, corruption (the
//! CRC) and a different profile are all reported as [`CapsuleError`]s that say what differs. The
//! 64-byte header keeps the payload as aligned as the whole buffer, so an aligned
//! `&'static [u8]` (see [`include_capsule!`](crate::include_capsule)) is used in place, from flash,
//! without a copy.
//!
//! The CRC guards against accidents (a truncated upload, a flipped bit), not against an attacker:
//! anyone can recompute it. Wasmtime trusts precompiled code, so a [`Capsule`] cannot be loaded:
//! only a [`VerifiedCapsule`](crate::trust::VerifiedCapsule) can, which comes from a
//! [`TrustPolicy`](crate::trust::TrustPolicy) that checked its signature, or from
//! [`include_capsule!`](crate::include_capsule) (code built into the firmware image).

use alloc::borrow::Cow;
use alloc::vec::Vec;
use core::fmt;

use crate::profile::{EngineProfile, PROFILE_REVISION, Preemption, Target, WASMTIME_MAJOR};

/// First eight bytes of every capsule.
pub const MAGIC: [u8; 8] = *b"TREVMCAP";
/// Length of the header in front of the payload.
pub const HEADER_LEN: usize = 64;
/// Container format version written and read by this crate (2: with a manifest trailer).
pub const FORMAT_VERSION: u16 = 2;
/// Longest capsule name stored in the header (bytes of UTF-8).
pub const MAX_NAME_LEN: usize = 32;
/// Longest trailer (manifest or signature) a capsule may carry: it is parsed before anything
/// else is trusted, so its size is bounded.
pub const MAX_TRAILER_LEN: usize = 4096;

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
    fn from_u8(b: u8) -> Option<Self> {
        match b {
            0 => Some(TrailerKind::None),
            1 => Some(TrailerKind::Manifest),
            2 => Some(TrailerKind::Signed),
            _ => None,
        }
    }
}

/// Why capsule bytes were refused before (or while) handing them to Wasmtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CapsuleError {
    /// Fewer bytes than a header.
    TooShort {
        /// Bytes given.
        len: usize,
    },
    /// The bytes do not start with [`MAGIC`]; `looks_like` names what they seem to be instead.
    BadMagic {
        /// A guess at what the bytes are (e.g. "a core WebAssembly module"), if recognised.
        looks_like: Option<&'static str>,
    },
    /// A container format this runtime does not know.
    UnsupportedFormat {
        /// Version found.
        version: u16,
    },
    /// The header is internally inconsistent (bad length, unknown enum value, bad name).
    BadHeader(&'static str),
    /// Fewer bytes than the header announces.
    Truncated {
        /// Bytes after the header announced by the header (payload and trailer).
        expected: usize,
        /// Bytes present after the header.
        found: usize,
    },
    /// More bytes than the header announces: a capsule is exactly header, payload and trailer.
    TrailingBytes {
        /// Bytes after the end of the trailer.
        extra: usize,
    },
    /// The payload and trailer do not match their checksum.
    Corrupted {
        /// CRC in the header.
        expected: u32,
        /// CRC of the bytes present.
        found: u32,
    },
    /// Built with settings this runtime cannot load.
    ProfileMismatch {
        /// What the capsule was built for.
        capsule: StampedProfile,
        /// What this runtime runs.
        runtime: StampedProfile,
    },
}

impl fmt::Display for CapsuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CapsuleError::TooShort { len } => {
                write!(
                    f,
                    "not a trevm capsule: only {len} bytes, a capsule header alone is {HEADER_LEN}"
                )
            }
            CapsuleError::BadMagic {
                looks_like: Some(what),
            } => write!(
                f,
                "not a trevm capsule: this looks like {what}; precompile it with `trevm build` first"
            ),
            CapsuleError::BadMagic { looks_like: None } => {
                write!(f, "not a trevm capsule: missing the \"TREVMCAP\" magic")
            }
            CapsuleError::UnsupportedFormat { version } => write!(
                f,
                "capsule container format {version} is not supported (this runtime reads format \
                 {FORMAT_VERSION}); rebuild it with this version of `trevm build`"
            ),
            CapsuleError::BadHeader(why) => write!(f, "corrupted capsule header: {why}"),
            CapsuleError::Truncated { expected, found } => write!(
                f,
                "capsule is truncated: header announces {expected} bytes after it, only {found} present"
            ),
            CapsuleError::TrailingBytes { extra } => write!(
                f,
                "capsule has {extra} unexpected byte(s) after its end (header, payload and trailer)"
            ),
            CapsuleError::Corrupted { expected, found } => write!(
                f,
                "capsule is corrupted: CRC-32 is {found:#010x}, header says {expected:#010x}"
            ),
            CapsuleError::ProfileMismatch { capsule, runtime } => {
                write!(
                    f,
                    "capsule was built for {capsule} but this runtime runs {runtime}: "
                )?;
                capsule.describe_differences(runtime, f)?;
                write!(
                    f,
                    "; rebuild it with `trevm build --target {} --preemption {}`",
                    runtime.profile.target, runtime.profile.preemption
                )
            }
        }
    }
}

impl core::error::Error for CapsuleError {}

/// A profile as stamped into a capsule: the [`EngineProfile`] plus the versions that must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StampedProfile {
    /// Target and preemption.
    pub profile: EngineProfile,
    /// Wasmtime major version.
    pub wasmtime_major: u16,
    /// [`PROFILE_REVISION`] of the fixed settings.
    pub revision: u16,
}

impl StampedProfile {
    /// The stamp this build of the runtime writes and accepts for `profile`.
    pub const fn current(profile: EngineProfile) -> Self {
        StampedProfile {
            profile,
            wasmtime_major: WASMTIME_MAJOR,
            revision: PROFILE_REVISION,
        }
    }

    fn describe_differences(&self, other: &Self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut item = |f: &mut fmt::Formatter<'_>, args: fmt::Arguments<'_>| {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            f.write_fmt(args)
        };
        if self.profile.target != other.profile.target {
            item(
                f,
                format_args!("target {} ≠ {}", self.profile.target, other.profile.target),
            )?;
        }
        if self.profile.preemption != other.profile.preemption {
            item(
                f,
                format_args!(
                    "preemption {} ≠ {}",
                    self.profile.preemption, other.profile.preemption
                ),
            )?;
        }
        if self.wasmtime_major != other.wasmtime_major {
            item(
                f,
                format_args!(
                    "Wasmtime {} ≠ {}",
                    self.wasmtime_major, other.wasmtime_major
                ),
            )?;
        }
        if self.revision != other.revision {
            item(
                f,
                format_args!("profile revision {} ≠ {}", self.revision, other.revision),
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for StampedProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (Wasmtime {}, profile rev {})",
            self.profile, self.wasmtime_major, self.revision
        )
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

/// Wraps a precompiled component (the output of `Engine::precompile_component` for `profile`)
/// into capsule bytes with no trailer. The name is cut to [`MAX_NAME_LEN`] bytes at a character
/// boundary.
///
/// Fails only if the payload is larger than 4 GiB.
pub fn encode(profile: EngineProfile, name: &str, cwasm: &[u8]) -> Result<Vec<u8>, CapsuleError> {
    encode_with_trailer(profile, name, cwasm, TrailerKind::None, &[])
}

/// Like [`encode`], with a trailer (a manifest, or a COSE_Sign1 over one: see
/// [`crate::trust::sign_manifest`]).
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
    let name = cut_name(name);
    let mut name_buf = [0u8; MAX_NAME_LEN];
    name_buf[..name.len()].copy_from_slice(name.as_bytes());
    let mut crc = Crc32::new();
    crc.update(cwasm);
    crc.update(trailer);
    let header = CapsuleHeader {
        stamp,
        payload_len: payload_len as usize,
        crc: crc.finish(),
        trailer_kind,
        trailer_len: trailer.len(),
        name: name_buf,
        name_len: name.len() as u8,
    };
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

/// Capsule bytes whose header, length and checksum have been checked. Cheap: nothing is
/// deserialized, nothing is trusted yet. To load it, verify it first with a
/// [`TrustPolicy`](crate::trust::TrustPolicy).
#[derive(Debug, Clone)]
pub struct Capsule<'a> {
    header: CapsuleHeader,
    bytes: Cow<'a, [u8]>,
    /// Set only by [`Capsule::from_static`]: the same bytes, known to live forever, so Wasmtime
    /// may use them in place.
    static_bytes: Option<&'static [u8]>,
}

impl<'a> Capsule<'a> {
    /// Checks capsule bytes (header, length, CRC) without copying them.
    pub fn from_slice(bytes: &'a [u8]) -> Result<Self, CapsuleError> {
        let header = Self::check(bytes)?;
        Ok(Capsule {
            header,
            bytes: Cow::Borrowed(bytes),
            static_bytes: None,
        })
    }

    /// The decoded header.
    pub fn header(&self) -> &CapsuleHeader {
        &self.header
    }

    /// The capsule's name from its header.
    pub fn name(&self) -> &str {
        self.header.name()
    }

    /// The profile the capsule was built with.
    pub fn profile(&self) -> EngineProfile {
        self.header.stamp.profile
    }

    /// The precompiled component after the header.
    pub fn payload(&self) -> &[u8] {
        &self.bytes[HEADER_LEN..HEADER_LEN + self.header.payload_len]
    }

    /// The trailer after the payload (empty for [`TrailerKind::None`]).
    pub fn trailer(&self) -> &[u8] {
        &self.bytes[HEADER_LEN + self.header.payload_len..]
    }

    /// The whole capsule.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Size of the whole capsule in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always false: a checked capsule has a header.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Refuses the capsule unless it was built for `profile` by this runtime's Wasmtime.
    pub fn check_profile(&self, profile: EngineProfile) -> Result<(), CapsuleError> {
        let runtime = StampedProfile::current(profile);
        if self.header.stamp != runtime {
            return Err(CapsuleError::ProfileMismatch {
                capsule: self.header.stamp,
                runtime,
            });
        }
        Ok(())
    }

    /// The payload, if it lives forever (so Wasmtime may use it in place).
    pub(crate) fn static_payload(&self) -> Option<&'static [u8]> {
        self.static_bytes
            .map(|b| &b[HEADER_LEN..HEADER_LEN + self.header.payload_len])
    }

    /// An owned copy (for keeping a capsule that was checked in a borrowed buffer).
    pub fn into_owned(self) -> Capsule<'static> {
        Capsule {
            header: self.header,
            bytes: match self.static_bytes {
                Some(b) => Cow::Borrowed(b),
                None => Cow::Owned(self.bytes.into_owned()),
            },
            static_bytes: self.static_bytes,
        }
    }

    fn check(bytes: &[u8]) -> Result<CapsuleHeader, CapsuleError> {
        let header = CapsuleHeader::parse(bytes)?;
        let found = bytes.len() - HEADER_LEN;
        let expected = header.body_len();
        if found < expected {
            return Err(CapsuleError::Truncated { expected, found });
        }
        if found > expected {
            return Err(CapsuleError::TrailingBytes {
                extra: found - expected,
            });
        }
        let crc = crc32(&bytes[HEADER_LEN..]);
        if crc != header.crc {
            return Err(CapsuleError::Corrupted {
                expected: header.crc,
                found: crc,
            });
        }
        Ok(header)
    }
}

impl Capsule<'static> {
    /// Checks capsule bytes that live forever (e.g. a capsule in a flash partition). When they
    /// are suitably aligned, [`Runtime::load`](crate::Runtime::load) uses them in place once they
    /// are verified.
    pub fn from_static(bytes: &'static [u8]) -> Result<Self, CapsuleError> {
        let header = Self::check(bytes)?;
        Ok(Capsule {
            header,
            bytes: Cow::Borrowed(bytes),
            static_bytes: Some(bytes),
        })
    }

    /// Checks owned capsule bytes (e.g. received over the network).
    pub fn from_vec(bytes: Vec<u8>) -> Result<Self, CapsuleError> {
        let header = Self::check(&bytes)?;
        Ok(Capsule {
            header,
            bytes: Cow::Owned(bytes),
            static_bytes: None,
        })
    }
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

/// The capsule checksum: CRC-32/ISO-HDLC (IEEE 802.3, as zlib), from the `crc` crate.
struct Crc32(crc::Digest<'static, u32>);

static CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

impl Crc32 {
    fn new() -> Self {
        Crc32(CRC32.digest())
    }
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    fn finish(self) -> u32 {
        self.0.finalize()
    }
}

/// CRC-32 (IEEE 802.3, reflected, as zlib) of `data`.
pub fn crc32(data: &[u8]) -> u32 {
    CRC32.checksum(data)
}

/// A capsule built into the firmware image: the output of [`include_capsule!`](crate::include_capsule).
///
/// It is trusted because it is part of the image that was built, signed and flashed as a whole,
/// not because of anything in its bytes: [`EmbeddedCapsule::check`] checks its header and CRC and
/// turns it into a [`VerifiedCapsule`](crate::trust::VerifiedCapsule) without a signature. The
/// only way to make one is the macro (or the `unsafe` [`EmbeddedCapsule::new_unchecked`]).
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedCapsule {
    bytes: &'static [u8],
}

impl EmbeddedCapsule {
    /// Wraps capsule bytes that are part of the firmware image.
    ///
    /// # Safety
    ///
    /// `bytes` must be a capsule produced by `trevm build` (or `trevm_build`) from code the
    /// firmware's builder trusts, e.g. embedded with `include_bytes!` at build time. Wasmtime
    /// runs precompiled code without checking it: bytes from anywhere else (a network, a
    /// writable flash region, a file) can take over the device. Use
    /// [`TrustPolicy::verify`](crate::trust::TrustPolicy::verify) for those.
    pub const unsafe fn new_unchecked(bytes: &'static [u8]) -> Self {
        EmbeddedCapsule { bytes }
    }

    /// The capsule bytes.
    pub const fn bytes(&self) -> &'static [u8] {
        self.bytes
    }

    /// Checks header, length and CRC (a corrupted image is still refused) and returns the
    /// capsule ready for [`Runtime::load`](crate::Runtime::load), trusted as part of the image.
    pub fn check(&self) -> Result<crate::trust::VerifiedCapsule<'static>, CapsuleError> {
        let capsule = Capsule::from_static(self.bytes)?;
        Ok(crate::trust::VerifiedCapsule::embedded(capsule))
    }
}

/// Embeds a capsule file in the binary with the alignment that lets the runtime use it in place.
///
/// Expands to an [`EmbeddedCapsule`](crate::capsule::EmbeddedCapsule): code built into the image
/// is trusted without a signature, because the image itself is what the device's owner built and
/// flashed. Give the macro only capsules your build made (e.g. in `build.rs` with
/// `trevm_build::embed_payload`).
///
/// ```ignore
/// static CAPSULE: trevm::EmbeddedCapsule =
///     trevm::include_capsule!(concat!(env!("OUT_DIR"), "/hello.cwasm"));
/// let loaded = runtime.load(&CAPSULE.check()?)?;
/// ```
#[macro_export]
macro_rules! include_capsule {
    ($path:expr) => {{
        #[repr(C, align(16))]
        struct __TrevmAligned<T: ?Sized>(T);
        const __TREVM_CAPSULE: &__TrevmAligned<[u8]> = &__TrevmAligned(*include_bytes!($path));
        // SAFETY: the bytes are a file included into the binary at build time, i.e. part of the
        // firmware image its builder made and flashed (the contract of `new_unchecked`).
        unsafe { $crate::capsule::EmbeddedCapsule::new_unchecked(&__TREVM_CAPSULE.0) }
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_zlib() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn trailing_bytes_and_trailers_are_checked() {
        let profile = EngineProfile::pulley32(Preemption::Fuel);
        let bytes =
            encode_with_trailer(profile, "t", b"code", TrailerKind::Manifest, b"\xa0").unwrap();
        let c = Capsule::from_slice(&bytes).unwrap();
        assert_eq!(c.payload(), b"code");
        assert_eq!(c.trailer(), b"\xa0");
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            Capsule::from_slice(&longer).unwrap_err(),
            CapsuleError::TrailingBytes { extra: 1 }
        );
        // The CRC covers the trailer too.
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(matches!(
            Capsule::from_slice(&flipped),
            Err(CapsuleError::Corrupted { .. })
        ));
        let mut reserved = bytes.clone();
        reserved[27] = 1;
        assert_eq!(
            Capsule::from_slice(&reserved).unwrap_err(),
            CapsuleError::BadHeader("reserved byte is not zero")
        );
        assert!(encode_with_trailer(profile, "t", b"", TrailerKind::Signed, &[0; 4097]).is_err());
    }

    #[test]
    fn header_round_trip_and_checks() {
        let profile = EngineProfile::pulley32(Preemption::Fuel);
        let bytes = encode(profile, "hello", b"payload!").unwrap();
        let c = Capsule::from_slice(&bytes).unwrap();
        assert_eq!(c.name(), "hello");
        assert_eq!(c.payload(), b"payload!");
        assert_eq!(c.profile(), profile);
        assert!(c.check_profile(profile).is_ok());
        let err = c
            .check_profile(EngineProfile::pulley64(Preemption::Epoch))
            .unwrap_err();
        let msg = alloc::format!("{err}");
        assert!(msg.contains("target pulley32 ≠ pulley64"), "{msg}");
        assert!(msg.contains("preemption fuel ≠ epoch"), "{msg}");

        assert!(matches!(
            Capsule::from_slice(&bytes[..bytes.len() - 1]),
            Err(CapsuleError::Truncated {
                expected: 8,
                found: 7
            })
        ));
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(matches!(
            Capsule::from_slice(&flipped),
            Err(CapsuleError::Corrupted { .. })
        ));
        assert!(matches!(
            Capsule::from_slice(b"\0asm\x01\0\0\0"),
            Err(CapsuleError::BadMagic {
                looks_like: Some("a core WebAssembly module")
            })
        ));
        assert!(matches!(
            Capsule::from_slice(&bytes[..20]),
            Err(CapsuleError::TooShort { len: 20 })
        ));
    }

    #[test]
    fn long_names_are_cut_at_char_boundary() {
        let name = "ééééééééééééééééééééé"; // 42 bytes
        let bytes = encode(EngineProfile::default(), name, b"").unwrap();
        let c = Capsule::from_slice(&bytes).unwrap();
        assert_eq!(c.name().len(), 32);
        assert!(name.starts_with(c.name()));
    }
}
