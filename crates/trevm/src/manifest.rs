//! The capsule manifest: what a signer vouches for.
//!
//! A manifest is a CBOR map (RFC 8949, definite lengths) with small integer keys:
//!
//! ```text
//! {
//!   1: "sandbox",                 ; name: text, at most 32 bytes, equal to the header's name
//!   2: 20261130061502,            ; version: unsigned, anti-rollback counter (higher = newer)
//!   3: [2, 1, 48, 1],             ; profile: [target, preemption, Wasmtime major, profile revision]
//!   4: h'9f86…0a08',              ; SHA-256 of the payload (the precompiled component), 32 bytes
//!   5: ["ariel:wasm-bindings/log-api@0.0.1", "uppercase"]
//!                                 ; grants: the imports the capsule may have, at most 32 names
//! }
//! ```
//!
//! `trevm build` writes the map with keys in this order; readers accept any order but refuse
//! unknown or repeated keys, so a manifest means exactly one thing. Signed, it is the payload of
//! the capsule's COSE_Sign1 (see [`crate::trust`]); unsigned, it is the trailer as it is.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use coset::cbor::value::Value;

use crate::capsule::{MAX_NAME_LEN, MAX_TRAILER_LEN, StampedProfile};
use crate::profile::{EngineProfile, Preemption, Target};

/// Most grants (imports) a manifest may list.
pub const MAX_GRANTS: usize = 32;
/// Longest grant name, in bytes.
pub const MAX_GRANT_LEN: usize = 128;
/// Most CBOR data items a manifest or signature may contain: they are counted before anything is
/// decoded, so hostile CBOR cannot make the decoder allocate much (see [`check_cbor_items`]).
pub const MAX_CBOR_ITEMS: usize = 96;

const KEY_NAME: i64 = 1;
const KEY_VERSION: i64 = 2;
const KEY_PROFILE: i64 = 3;
const KEY_DIGEST: i64 = 4;
const KEY_GRANTS: i64 = 5;

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
}

/// Why a manifest could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManifestError(pub &'static str);

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed capsule manifest: {}", self.0)
    }
}

impl core::error::Error for ManifestError {}

impl Manifest {
    /// Encodes the manifest as CBOR.
    pub fn to_cbor(&self) -> Vec<u8> {
        let profile = Value::Array(alloc::vec![
            Value::from(self.profile.profile.target as u8),
            Value::from(self.profile.profile.preemption as u8),
            Value::from(self.profile.wasmtime_major),
            Value::from(self.profile.revision),
        ]);
        let map = Value::Map(alloc::vec![
            (Value::from(KEY_NAME), Value::Text(self.name.clone())),
            (Value::from(KEY_VERSION), Value::from(self.version)),
            (Value::from(KEY_PROFILE), profile),
            (Value::from(KEY_DIGEST), Value::Bytes(self.digest.to_vec())),
            (
                Value::from(KEY_GRANTS),
                Value::Array(self.grants.iter().cloned().map(Value::Text).collect()),
            ),
        ]);
        let mut out = Vec::new();
        // Writing a `Value` into a `Vec` cannot fail.
        let _ = coset::cbor::ser::into_writer(&map, &mut out);
        out
    }

    /// Decodes and checks a manifest: every field present once, every bound respected.
    pub fn from_cbor(bytes: &[u8]) -> Result<Self, ManifestError> {
        let value = decode_value(bytes)?;
        let Value::Map(entries) = value else {
            return Err(ManifestError("not a CBOR map"));
        };
        let (mut name, mut version, mut profile, mut digest, mut grants) =
            (None, None, None, None, None);
        for (key, value) in entries {
            let key = key
                .as_integer()
                .and_then(|k| i64::try_from(k).ok())
                .ok_or(ManifestError("a key is not a small integer"))?;
            let slot_taken = match key {
                KEY_NAME => name.replace(decode_name(value)?).is_some(),
                KEY_VERSION => version.replace(decode_u64(value)?).is_some(),
                KEY_PROFILE => profile.replace(decode_profile(value)?).is_some(),
                KEY_DIGEST => digest.replace(decode_digest(value)?).is_some(),
                KEY_GRANTS => grants.replace(decode_grants(value)?).is_some(),
                _ => return Err(ManifestError("unknown key")),
            };
            if slot_taken {
                return Err(ManifestError("repeated key"));
            }
        }
        Ok(Manifest {
            name: name.ok_or(ManifestError("no name (key 1)"))?,
            version: version.ok_or(ManifestError("no version (key 2)"))?,
            profile: profile.ok_or(ManifestError("no profile (key 3)"))?,
            digest: digest.ok_or(ManifestError("no digest (key 4)"))?,
            grants: grants.ok_or(ManifestError("no grants (key 5)"))?,
        })
    }

    /// The manifest of `capsule` as it is (name, profile and payload digest from the capsule),
    /// with `version` and `grants`: what a signer signs.
    pub fn describe(capsule: &crate::Capsule<'_>, version: u64, grants: Vec<String>) -> Self {
        Manifest {
            name: String::from(capsule.name()),
            version,
            profile: capsule.header().stamp,
            digest: sha256(capsule.payload()),
            grants,
        }
    }

    /// Whether the manifest grants the import `name`.
    pub fn grants(&self, name: &str) -> bool {
        self.grants.iter().any(|g| g == name)
    }
}

/// SHA-256 of `data` (the manifest's digest of a payload).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

/// Decodes one CBOR data item that must fill `bytes` exactly, after [`check_cbor_items`].
pub(crate) fn decode_value(bytes: &[u8]) -> Result<Value, ManifestError> {
    check_cbor_items(bytes, MAX_CBOR_ITEMS)?;
    // A small scratch buffer: longer strings are read in pieces (ciborium's default is 4 KiB of
    // stack, too much next to a microcontroller's capsule stacks).
    let mut scratch = [0u8; 128];
    let mut rest = bytes;
    coset::cbor::de::from_reader_with_buffer(&mut rest, &mut scratch)
        .map_err(|_| ManifestError("not valid CBOR"))
}

/// Counts the CBOR data items in `bytes` without decoding or allocating: refuses more than
/// `max_items`, indefinite lengths, anything that is not exactly one well-formed item, and
/// nesting deeper than 8. Byte and text strings are skipped, not looked into.
///
/// Written by hand because it must run *before* any decoder allocates: decoders (ciborium,
/// minicbor) allocate per item as they go, and a 4 KiB trailer of one-byte items would become
/// thousands of values on a device with a few hundred KiB of heap.
pub fn check_cbor_items(bytes: &[u8], max_items: usize) -> Result<(), ManifestError> {
    const MAX_DEPTH: usize = 8;
    if bytes.len() > MAX_TRAILER_LEN {
        return Err(ManifestError("longer than 4096 bytes"));
    }
    let mut pos = 0usize;
    let mut items = 0usize;
    // Items still expected at each open nesting level.
    let mut pending = [0usize; MAX_DEPTH + 1];
    let mut depth = 0usize;
    pending[0] = 1;
    loop {
        while depth > 0 && pending[depth] == 0 {
            depth -= 1;
        }
        if pending[depth] == 0 {
            break;
        }
        pending[depth] -= 1;
        items += 1;
        if items > max_items {
            return Err(ManifestError("too many CBOR items"));
        }
        let initial = *bytes.get(pos).ok_or(ManifestError("truncated CBOR"))?;
        pos += 1;
        let major = initial >> 5;
        let info = initial & 0x1f;
        let arg: u64 = match info {
            0..=23 => u64::from(info),
            24..=27 => {
                let n = 1usize << (info - 24);
                let end = pos.checked_add(n).ok_or(ManifestError("truncated CBOR"))?;
                let raw = bytes.get(pos..end).ok_or(ManifestError("truncated CBOR"))?;
                pos = end;
                raw.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
            }
            31 => return Err(ManifestError("indefinite-length CBOR")),
            _ => return Err(ManifestError("reserved CBOR encoding")),
        };
        let children = match major {
            0 | 1 | 7 => 0,
            2 | 3 => {
                let len = usize::try_from(arg).map_err(|_| ManifestError("truncated CBOR"))?;
                pos = pos
                    .checked_add(len)
                    .filter(|&end| end <= bytes.len())
                    .ok_or(ManifestError("truncated CBOR"))?;
                0
            }
            4 => arg,
            5 => arg
                .checked_mul(2)
                .ok_or(ManifestError("too many CBOR items"))?,
            // A tag wraps exactly one item.
            _ => 1,
        };
        if children > 0 {
            // More children than items allowed fails on the count anyway; refuse it early.
            let children =
                usize::try_from(children).map_err(|_| ManifestError("too many CBOR items"))?;
            if children > max_items {
                return Err(ManifestError("too many CBOR items"));
            }
            if depth == MAX_DEPTH {
                return Err(ManifestError("CBOR nested too deeply"));
            }
            depth += 1;
            pending[depth] = children;
        }
    }
    if pos != bytes.len() {
        return Err(ManifestError("bytes after the CBOR item"));
    }
    Ok(())
}

fn decode_u64(value: Value) -> Result<u64, ManifestError> {
    value
        .as_integer()
        .and_then(|i| u64::try_from(i).ok())
        .ok_or(ManifestError("version is not an unsigned integer"))
}

fn decode_name(value: Value) -> Result<String, ManifestError> {
    match value {
        Value::Text(s) if s.len() <= MAX_NAME_LEN && !s.contains('\0') => Ok(s),
        Value::Text(_) => Err(ManifestError("name longer than 32 bytes or with NUL")),
        _ => Err(ManifestError("name is not text")),
    }
}

fn decode_profile(value: Value) -> Result<StampedProfile, ManifestError> {
    const BAD: ManifestError = ManifestError("profile is not [target, preemption, major, rev]");
    let Value::Array(items) = value else {
        return Err(BAD);
    };
    let nums: Vec<u16> = items
        .iter()
        .map(|v| v.as_integer().and_then(|i| u16::try_from(i).ok()))
        .collect::<Option<_>>()
        .ok_or(BAD)?;
    let [target, preemption, major, revision] = nums.as_slice() else {
        return Err(BAD);
    };
    let byte = |n: u16| u8::try_from(n).map_err(|_| BAD);
    Ok(StampedProfile {
        profile: EngineProfile {
            target: Target::from_u8(byte(*target)?).ok_or(BAD)?,
            preemption: Preemption::from_u8(byte(*preemption)?).ok_or(BAD)?,
        },
        wasmtime_major: *major,
        revision: *revision,
    })
}

fn decode_digest(value: Value) -> Result<[u8; 32], ManifestError> {
    match value {
        Value::Bytes(b) => {
            <[u8; 32]>::try_from(b.as_slice()).map_err(|_| ManifestError("digest is not 32 bytes"))
        }
        _ => Err(ManifestError("digest is not a byte string")),
    }
}

fn decode_grants(value: Value) -> Result<Vec<String>, ManifestError> {
    let Value::Array(items) = value else {
        return Err(ManifestError("grants are not an array"));
    };
    if items.len() > MAX_GRANTS {
        return Err(ManifestError("more than 32 grants"));
    }
    items
        .into_iter()
        .map(|v| match v {
            Value::Text(s) if !s.is_empty() && s.len() <= MAX_GRANT_LEN => Ok(s),
            _ => Err(ManifestError("a grant is not a name of 1–128 bytes")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn sample() -> Manifest {
        Manifest {
            name: "hello".into(),
            version: 20261130061502,
            profile: StampedProfile::current(EngineProfile::pulley32(Preemption::Fuel)),
            digest: sha256(b"code"),
            grants: vec![
                "ariel:wasm-bindings/log-api@0.0.1".into(),
                "uppercase".into(),
            ],
        }
    }

    #[test]
    fn round_trip() {
        let m = sample();
        assert_eq!(Manifest::from_cbor(&m.to_cbor()).unwrap(), m);
    }

    #[test]
    fn refuses_extra_and_missing_and_repeated_keys() {
        let bytes = sample().to_cbor();
        // Trailing byte.
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            Manifest::from_cbor(&longer).unwrap_err(),
            ManifestError("bytes after the CBOR item")
        );
        // A map of 4 entries instead of 5: the last entry dangles, then "missing grants".
        let mut fewer = bytes.clone();
        fewer[0] = 0xa4;
        assert!(Manifest::from_cbor(&fewer).is_err());
        // Every truncation is refused without a panic.
        for cut in 0..bytes.len() {
            assert!(Manifest::from_cbor(&bytes[..cut]).is_err());
        }
    }

    #[test]
    fn item_count_is_bounded_before_decoding() {
        // An array of 200 zeros: 201 items.
        let mut many = vec![0x98, 200];
        many.extend([0u8; 200]);
        assert_eq!(
            check_cbor_items(&many, MAX_CBOR_ITEMS).unwrap_err(),
            ManifestError("too many CBOR items")
        );
        // A declared length far beyond the bytes present.
        assert!(
            check_cbor_items(&[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 8).is_err()
        );
        // Deep nesting.
        assert!(check_cbor_items(&[0x81; 20], 96).is_err());
        // Indefinite length.
        assert!(check_cbor_items(&[0x9f, 0xff], 8).is_err());
        assert!(check_cbor_items(&[0x82, 0x01, 0x02], 8).is_ok());
    }
}
