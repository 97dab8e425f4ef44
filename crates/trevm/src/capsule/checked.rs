//! [`Capsule`]: bytes whose header, length and checksum were checked.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::crc::crc32;
use super::error::CapsuleError;
use super::header::CapsuleHeader;
use super::layout::HEADER_LEN;
use super::owned::OwnedBytes;
use super::stamp::StampedProfile;
use crate::profile::EngineProfile;

/// Capsule bytes whose header, length and checksum have been checked. Cheap: nothing is
/// deserialized, nothing is trusted yet. To load it, verify it first with a
/// [`TrustPolicy`](crate::trust::TrustPolicy).
#[derive(Debug, Clone)]
pub struct Capsule<'a> {
    header: CapsuleHeader,
    bytes: Bytes<'a>,
}

/// Where a capsule's bytes are, which decides whether Wasmtime may use them in place.
#[derive(Debug, Clone)]
pub(crate) enum Bytes<'a> {
    /// Borrowed for a while: loading copies them.
    Borrowed(&'a [u8]),
    /// Living forever (flash): used in place when aligned.
    Static(&'static [u8]),
    /// A heap buffer of the capsule's own: used in place when aligned, kept alive by what is
    /// loaded from it (see `owned.rs`).
    Owned(Arc<OwnedBytes>),
}

impl<'a> Capsule<'a> {
    /// Checks capsule bytes (header, length, CRC) without copying them.
    pub fn from_slice(bytes: &'a [u8]) -> Result<Self, CapsuleError> {
        let header = Self::check(bytes)?;
        Ok(Capsule {
            header,
            bytes: Bytes::Borrowed(bytes),
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

    /// The profile the capsule was built with, with the versions stamped beside it.
    pub fn stamp(&self) -> StampedProfile {
        self.header.stamp
    }

    /// The engine profile the capsule was built for (its target and preemption).
    pub fn profile(&self) -> EngineProfile {
        self.header.stamp.profile
    }

    /// The precompiled component after the header.
    pub fn payload(&self) -> &[u8] {
        &self.as_bytes()[HEADER_LEN..HEADER_LEN + self.header.payload_len]
    }

    /// The trailer after the payload (empty for [`TrailerKind::None`](super::TrailerKind)).
    pub fn trailer(&self) -> &[u8] {
        &self.as_bytes()[HEADER_LEN + self.header.payload_len..]
    }

    /// The whole capsule.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Borrowed(b) => b,
            Bytes::Static(b) => b,
            Bytes::Owned(o) => o.bytes(),
        }
    }

    /// Size of the whole capsule in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Always false: a checked capsule has a header.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Refuses the capsule unless it was built for `profile` by this build of trevm: its VM
    /// provider compiled in ([`CapsuleError::ProviderMissing`]), then the same settings and
    /// versions ([`CapsuleError::ProfileMismatch`]).
    pub fn check_profile(&self, profile: EngineProfile) -> Result<(), CapsuleError> {
        let capsule = self.header.stamp;
        let built_with = match capsule.profile.target {
            crate::Target::Wasm => cfg!(feature = "wasmi"),
            _ => cfg!(feature = "wasmtime"),
        };
        if !built_with {
            return Err(CapsuleError::ProviderMissing { capsule });
        }
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
    #[cfg(feature = "wasmtime")]
    pub(crate) fn static_payload(&self) -> Option<&'static [u8]> {
        match self.bytes {
            Bytes::Static(b) => Some(&b[HEADER_LEN..HEADER_LEN + self.header.payload_len]),
            _ => None,
        }
    }

    /// Where the bytes are (for the runtime: in place or a copy).
    #[cfg(feature = "wasmtime")]
    pub(crate) fn bytes(&self) -> &Bytes<'a> {
        &self.bytes
    }

    /// The same capsule owning (or sharing) its bytes: a copy only if they were borrowed.
    pub fn into_owned(self) -> Capsule<'static> {
        Capsule {
            header: self.header,
            bytes: match self.bytes {
                Bytes::Borrowed(b) => Bytes::Owned(Arc::new(OwnedBytes::new(b.to_vec(), 0))),
                Bytes::Static(b) => Bytes::Static(b),
                Bytes::Owned(o) => Bytes::Owned(o),
            },
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
    /// are aligned to [`CODE_ALIGN`](super::CODE_ALIGN), [`Runtime::load`](crate::Runtime::load)
    /// uses them in place once they are verified.
    pub fn from_static(bytes: &'static [u8]) -> Result<Self, CapsuleError> {
        let header = Self::check(bytes)?;
        Ok(Capsule {
            header,
            bytes: Bytes::Static(bytes),
        })
    }

    /// Checks owned capsule bytes (e.g. received over the network), without copying them. When
    /// the buffer happens to be aligned to [`CODE_ALIGN`](super::CODE_ALIGN),
    /// [`Runtime::load`](crate::Runtime::load) makes it the capsule's code memory instead of
    /// copying the code; [`Capsule::from_vec_at`] lets the caller see to that.
    pub fn from_vec(bytes: Vec<u8>) -> Result<Self, CapsuleError> {
        Self::from_vec_at(bytes, 0)
    }

    /// Like [`Capsule::from_vec`], for a capsule that is `buf[start..]`: the bytes before `start`
    /// are padding, which lets whoever fills the buffer place the capsule at an address aligned
    /// to [`CODE_ALIGN`](super::CODE_ALIGN) (e.g. a network upload reassembled into it), so that
    /// [`Runtime::load`](crate::Runtime::load) uses the buffer as the capsule's code memory
    /// without a copy. Misaligned, the code is copied once at load. The buffer lives as long as
    /// the capsule or anything loaded from it.
    pub fn from_vec_at(buf: Vec<u8>, start: usize) -> Result<Self, CapsuleError> {
        let owned = OwnedBytes::new(buf, start);
        let header = Self::check(owned.bytes())?;
        Ok(Capsule {
            header,
            bytes: Bytes::Owned(Arc::new(owned)),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::capsule::*;
    use crate::profile::{EngineProfile, Preemption};

    #[test]
    fn a_kind_without_its_provider_says_which_feature_is_missing() {
        use alloc::string::ToString;
        let wasm = CapsuleError::ProviderMissing {
            capsule: StampedProfile::current(EngineProfile::wasmi(Preemption::Fuel)),
        }
        .to_string();
        assert!(
            wasm.starts_with("capsule is plain wasm for the wasmi provider"),
            "{wasm}"
        );
        assert!(
            wasm.contains("built without trevm's `wasmi` feature"),
            "{wasm}"
        );
        let pulley = CapsuleError::ProviderMissing {
            capsule: StampedProfile::current(EngineProfile::pulley32(Preemption::Fuel)),
        }
        .to_string();
        assert!(
            pulley.starts_with("capsule is precompiled Wasmtime code"),
            "{pulley}"
        );
        assert!(pulley.contains("`wasmtime` feature"), "{pulley}");
        // A plain-wasm stamp names no Wasmtime version, and round-trips through the header.
        let bytes = encode(EngineProfile::wasmi(Preemption::Fuel), "w", b"\0asm").unwrap();
        let capsule = Capsule::from_slice(&bytes).unwrap();
        assert_eq!(capsule.stamp().wasmtime_major, 0);
        assert_eq!(capsule.profile(), EngineProfile::wasmi(Preemption::Fuel));
    }

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
