//! The capsule container: a small header in front of Wasmtime's precompiled component.
//!
//! ```text
//! offset size field
//!      0    8 magic "TREVMCAP"
//!      8    2 container format version (1), little endian
//!     10    2 header length in bytes (64)
//!     12    1 target        (see [`Target`])
//!     13    1 preemption    (see [`Preemption`])
//!     14    2 Wasmtime major version the code was produced by
//!     16    4 payload length in bytes
//!     20    4 payload CRC-32 (IEEE)
//!     24    2 profile revision ([`PROFILE_REVISION`])
//!     26    6 reserved, zero
//!     32   32 capsule name, UTF-8, NUL padded
//!     64    … payload: the `.cwasm` produced by `Engine::precompile_component`
//! ```
//!
//! The header is checked before Wasmtime sees a byte: wrong magic, truncation, corruption (the
//! CRC) and a different profile are all reported as [`CapsuleError`]s that say what differs. The
//! 64-byte header keeps the payload as aligned as the whole buffer, so an aligned
//! `&'static [u8]` (see [`include_capsule!`](crate::include_capsule)) is used in place, from flash,
//! without a copy.
//!
//! The CRC guards against accidents (a truncated upload, a flipped bit), not against an attacker:
//! Wasmtime trusts precompiled code, so capsules from untrusted sources must be authenticated
//! (signed) before they are loaded.

use alloc::borrow::Cow;
use alloc::vec::Vec;
use core::fmt;

use crate::profile::{EngineProfile, PROFILE_REVISION, Preemption, Target, WASMTIME_MAJOR};

/// First eight bytes of every capsule.
pub const MAGIC: [u8; 8] = *b"TREVMCAP";
/// Length of the header in front of the payload.
pub const HEADER_LEN: usize = 64;
/// Container format version written by this crate.
pub const FORMAT_VERSION: u16 = 1;
/// Longest capsule name stored in the header (bytes of UTF-8).
pub const MAX_NAME_LEN: usize = 32;

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
    /// Fewer payload bytes than the header announces.
    Truncated {
        /// Payload bytes announced by the header.
        expected: usize,
        /// Payload bytes present.
        found: usize,
    },
    /// The payload does not match its checksum.
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
                "capsule container format {version} is not supported (this runtime reads format {FORMAT_VERSION})"
            ),
            CapsuleError::BadHeader(why) => write!(f, "corrupted capsule header: {why}"),
            CapsuleError::Truncated { expected, found } => write!(
                f,
                "capsule is truncated: header announces {expected} payload bytes, only {found} present"
            ),
            CapsuleError::Corrupted { expected, found } => write!(
                f,
                "capsule is corrupted: payload CRC-32 is {found:#010x}, header says {expected:#010x}"
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
    /// Payload CRC-32.
    pub payload_crc: u32,
    name: [u8; MAX_NAME_LEN],
    name_len: u8,
}

impl CapsuleHeader {
    /// The capsule's name (may be empty).
    pub fn name(&self) -> &str {
        // The name was validated as UTF-8 when the header was parsed or built.
        core::str::from_utf8(&self.name[..usize::from(self.name_len)]).unwrap_or("")
    }

    /// Parses and checks a header (not the payload).
    pub fn parse(bytes: &[u8]) -> Result<Self, CapsuleError> {
        if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
            return Err(CapsuleError::BadMagic {
                looks_like: sniff(bytes),
            });
        }
        if bytes.len() < HEADER_LEN {
            return Err(CapsuleError::TooShort { len: bytes.len() });
        }
        let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]);
        let u32_at =
            |o: usize| u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
        let version = u16_at(8);
        if version != FORMAT_VERSION {
            return Err(CapsuleError::UnsupportedFormat { version });
        }
        if usize::from(u16_at(10)) != HEADER_LEN {
            return Err(CapsuleError::BadHeader("unexpected header length"));
        }
        let target = Target::from_u8(bytes[12]).ok_or(CapsuleError::BadHeader("unknown target"))?;
        let preemption =
            Preemption::from_u8(bytes[13]).ok_or(CapsuleError::BadHeader("unknown preemption"))?;
        let stamp = StampedProfile {
            profile: EngineProfile { target, preemption },
            wasmtime_major: u16_at(14),
            revision: u16_at(24),
        };
        let payload_len = usize::try_from(u32_at(16))
            .map_err(|_| CapsuleError::BadHeader("payload too large"))?;
        let payload_crc = u32_at(20);
        let mut name = [0u8; MAX_NAME_LEN];
        name.copy_from_slice(&bytes[32..64]);
        let name_len = name.iter().position(|&b| b == 0).unwrap_or(MAX_NAME_LEN);
        if core::str::from_utf8(&name[..name_len]).is_err() {
            return Err(CapsuleError::BadHeader("name is not UTF-8"));
        }
        Ok(CapsuleHeader {
            stamp,
            payload_len,
            payload_crc,
            name,
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
        h[16..20].copy_from_slice(&(self.payload_len as u32).to_le_bytes());
        h[20..24].copy_from_slice(&self.payload_crc.to_le_bytes());
        h[24..26].copy_from_slice(&self.stamp.revision.to_le_bytes());
        h[32..32 + usize::from(self.name_len)]
            .copy_from_slice(&self.name[..usize::from(self.name_len)]);
        h
    }
}

/// Wraps a precompiled component (the output of `Engine::precompile_component` for `profile`)
/// into capsule bytes. The name is cut to [`MAX_NAME_LEN`] bytes at a character boundary.
///
/// Fails only if the payload is larger than 4 GiB.
pub fn encode(profile: EngineProfile, name: &str, cwasm: &[u8]) -> Result<Vec<u8>, CapsuleError> {
    let payload_len =
        u32::try_from(cwasm.len()).map_err(|_| CapsuleError::BadHeader("payload too large"))?;
    let mut cut = name.len().min(MAX_NAME_LEN);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut name_buf = [0u8; MAX_NAME_LEN];
    name_buf[..cut].copy_from_slice(&name.as_bytes()[..cut]);
    let header = CapsuleHeader {
        stamp: StampedProfile::current(profile),
        payload_len: payload_len as usize,
        payload_crc: crc32(cwasm),
        name: name_buf,
        name_len: cut as u8,
    };
    let mut out = Vec::with_capacity(HEADER_LEN + cwasm.len());
    out.extend_from_slice(&header.to_bytes());
    out.extend_from_slice(cwasm);
    Ok(out)
}

/// Capsule bytes whose header and checksum have been checked. Cheap: nothing is deserialized yet;
/// [`Runtime::load`](crate::Runtime::load) does that.
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

    /// Size of the whole capsule in bytes.
    pub fn len(&self) -> usize {
        HEADER_LEN + self.header.payload_len
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

    fn check(bytes: &[u8]) -> Result<CapsuleHeader, CapsuleError> {
        let header = CapsuleHeader::parse(bytes)?;
        let found = bytes.len() - HEADER_LEN;
        if found < header.payload_len {
            return Err(CapsuleError::Truncated {
                expected: header.payload_len,
                found,
            });
        }
        let crc = crc32(&bytes[HEADER_LEN..HEADER_LEN + header.payload_len]);
        if crc != header.payload_crc {
            return Err(CapsuleError::Corrupted {
                expected: header.payload_crc,
                found: crc,
            });
        }
        Ok(header)
    }
}

impl Capsule<'static> {
    /// Checks capsule bytes that live forever (e.g. `include_bytes!` in flash). When they are
    /// suitably aligned, [`Runtime::load`](crate::Runtime::load) uses them in place.
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

/// CRC-32 (IEEE 802.3, reflected, as zlib), a byte at a time from a 1 KiB table computed at
/// compile time (a bitwise loop was the slowest step of a cold start, ≈ 5 ns per byte on the host).
pub fn crc32(data: &[u8]) -> u32 {
    const fn table() -> [u32; 256] {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut crc = i as u32;
            let mut bit = 0;
            while bit < 8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
                bit += 1;
            }
            table[i] = crc;
            i += 1;
        }
        table
    }
    static TABLE: [u32; 256] = table();
    let mut crc = !0u32;
    for &b in data {
        crc = (crc >> 8) ^ TABLE[((crc ^ u32::from(b)) & 0xff) as usize];
    }
    !crc
}

/// Embeds a capsule file in the binary with the alignment that lets the runtime use it in place.
///
/// Expands to a `&'static [u8]`.
///
/// ```ignore
/// static CAPSULE: &[u8] = trevm::include_capsule!(concat!(env!("OUT_DIR"), "/hello.cwasm"));
/// ```
#[macro_export]
macro_rules! include_capsule {
    ($path:expr) => {{
        #[repr(C, align(16))]
        struct __TrevmAligned<T: ?Sized>(T);
        static __TREVM_CAPSULE: &__TrevmAligned<[u8]> = &__TrevmAligned(*include_bytes!($path));
        &__TREVM_CAPSULE.0
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
