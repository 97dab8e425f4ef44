//! [`ManifestRef`]: a manifest read in place, in one pass, without allocating.

use alloc::string::String;
use alloc::vec::Vec;
use minicbor::Decoder;

use super::error::{ManifestError, definite};
use super::exports;
use super::model::{
    KEY_DIGEST, KEY_EXPORTS, KEY_GRANTS, KEY_NAME, KEY_PROFILE, KEY_VERSION, MAX_GRANT_LEN,
    MAX_GRANTS, Manifest,
};
use crate::capsule::{MAX_NAME_LEN, StampedProfile};
use crate::profile::{EngineProfile, Preemption, Target};
use crate::value::ExportedFunc;

/// A manifest decoded in place: its strings borrow from the bytes it was read from, nothing is
/// allocated. Every field was present exactly once and within its bound (see the
/// [module docs](super)); [`ManifestRef::to_owned`] makes the [`Manifest`] a verified capsule
/// keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManifestRef<'a> {
    /// The capsule's name (at most 32 bytes, no NUL).
    pub name: &'a str,
    /// Anti-rollback version.
    pub version: u64,
    /// The engine profile the payload was precompiled for.
    pub profile: StampedProfile,
    /// SHA-256 of the payload.
    pub digest: &'a [u8; 32],
    /// At most [`MAX_GRANTS`] grants, each 1 to [`MAX_GRANT_LEN`] bytes: `grants[..grants_len]`.
    grants: [&'a str; MAX_GRANTS],
    grants_len: u8,
    /// The CBOR of key 6 (checked), empty if the manifest has none.
    exports: &'a [u8],
}

impl<'a> ManifestRef<'a> {
    /// Reads a manifest that fills `bytes` exactly.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, ManifestError> {
        let mut d = Decoder::new(bytes);
        let manifest = Self::decode_from(&mut d)?;
        if d.position() != bytes.len() {
            return Err(ManifestError("bytes after the manifest"));
        }
        Ok(manifest)
    }

    /// Reads one manifest map at the decoder's position (the bytes after it are the caller's).
    pub(crate) fn decode_from(d: &mut Decoder<'a>) -> Result<Self, ManifestError> {
        let entries = definite(d.map(), ManifestError("not a CBOR map"))?;
        // Six keys, each once: a longer map repeats or adds one.
        if entries > 6 {
            return Err(ManifestError("more than 6 keys"));
        }
        let (mut name, mut version, mut profile, mut digest, mut grants) =
            (None, None, None, None, None);
        let mut exports = None;
        for _ in 0..entries {
            let key = d
                .u8()
                .map_err(|_| ManifestError("a key is not a small integer"))?;
            let repeated = match key {
                KEY_NAME => name.replace(decode_name(d)?).is_some(),
                KEY_VERSION => version.replace(decode_version(d)?).is_some(),
                KEY_PROFILE => profile.replace(decode_profile(d)?).is_some(),
                KEY_DIGEST => digest.replace(decode_digest(d)?).is_some(),
                KEY_GRANTS => grants.replace(decode_grants(d)?).is_some(),
                KEY_EXPORTS => {
                    let bytes: &'a [u8] = d.input();
                    let start = d.position();
                    exports::decode(d, false)?;
                    exports.replace(&bytes[start..d.position()]).is_some()
                }
                _ => return Err(ManifestError("unknown key")),
            };
            if repeated {
                return Err(ManifestError("repeated key"));
            }
        }
        let (grants, grants_len) = grants.ok_or(ManifestError("no grants (key 5)"))?;
        Ok(ManifestRef {
            name: name.ok_or(ManifestError("no name (key 1)"))?,
            version: version.ok_or(ManifestError("no version (key 2)"))?,
            profile: profile.ok_or(ManifestError("no profile (key 3)"))?,
            digest: digest.ok_or(ManifestError("no digest (key 4)"))?,
            grants,
            grants_len,
            exports: exports.unwrap_or_default(),
        })
    }

    /// The imports the capsule may have.
    pub fn grants(&self) -> &[&'a str] {
        &self.grants[..usize::from(self.grants_len)]
    }

    /// The exported functions and their types (key 6; empty without it), read into owned
    /// values (allocates).
    pub fn exports(&self) -> Vec<ExportedFunc> {
        if self.exports.is_empty() {
            return Vec::new();
        }
        // The same bytes passed the same reader in `decode_from`: this cannot fail.
        exports::decode(&mut Decoder::new(self.exports), true).unwrap_or_default()
    }

    /// The owned [`Manifest`] (allocates the name, the grants and the exports).
    pub fn to_owned(&self) -> Manifest {
        Manifest {
            name: String::from(self.name),
            version: self.version,
            profile: self.profile,
            digest: *self.digest,
            grants: self.grants().iter().map(|&g| String::from(g)).collect(),
            exports: self.exports(),
        }
    }
}

impl Manifest {
    /// Decodes and checks a manifest: every field present once, every bound respected (see
    /// [`ManifestRef::decode`], which reads it without allocating).
    pub fn from_cbor(bytes: &[u8]) -> Result<Self, ManifestError> {
        ManifestRef::decode(bytes).map(|m| m.to_owned())
    }
}

fn decode_name<'a>(d: &mut Decoder<'a>) -> Result<&'a str, ManifestError> {
    let name = d.str().map_err(|_| ManifestError("name is not text"))?;
    if name.len() > MAX_NAME_LEN || name.contains('\0') {
        return Err(ManifestError("name longer than 32 bytes or with NUL"));
    }
    Ok(name)
}

fn decode_version(d: &mut Decoder<'_>) -> Result<u64, ManifestError> {
    d.u64()
        .map_err(|_| ManifestError("version is not an unsigned integer"))
}

fn decode_profile(d: &mut Decoder<'_>) -> Result<StampedProfile, ManifestError> {
    const BAD: ManifestError = ManifestError("profile is not [target, preemption, major, rev]");
    if definite(d.array(), BAD)? != 4 {
        return Err(BAD);
    }
    // Each a u16 first (as the manifest's fields are), then the first two a known enum value.
    let mut nums = [0u16; 4];
    for n in &mut nums {
        *n = d.u16().map_err(|_| BAD)?;
    }
    let [target, preemption, wasmtime_major, revision] = nums;
    let byte = |n: u16| u8::try_from(n).map_err(|_| BAD);
    Ok(StampedProfile {
        profile: EngineProfile {
            target: Target::from_u8(byte(target)?).ok_or(BAD)?,
            preemption: Preemption::from_u8(byte(preemption)?).ok_or(BAD)?,
        },
        wasmtime_major,
        revision,
    })
}

fn decode_digest<'a>(d: &mut Decoder<'a>) -> Result<&'a [u8; 32], ManifestError> {
    let bytes = d
        .bytes()
        .map_err(|_| ManifestError("digest is not a byte string"))?;
    bytes
        .try_into()
        .map_err(|_| ManifestError("digest is not 32 bytes"))
}

fn decode_grants<'a>(d: &mut Decoder<'a>) -> Result<([&'a str; MAX_GRANTS], u8), ManifestError> {
    let len = definite(d.array(), ManifestError("grants are not an array"))?;
    let len = usize::try_from(len)
        .ok()
        .filter(|&n| n <= MAX_GRANTS)
        .ok_or(ManifestError("more than 32 grants"))?;
    let mut grants = [""; MAX_GRANTS];
    for g in &mut grants[..len] {
        *g = d
            .str()
            .ok()
            .filter(|s| !s.is_empty() && s.len() <= MAX_GRANT_LEN)
            .ok_or(ManifestError("a grant is not a name of 1–128 bytes"))?;
    }
    // At most MAX_GRANTS (32).
    Ok((grants, len as u8))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::sha256;
    use alloc::string::ToString;
    use alloc::vec;
    use alloc::vec::Vec;

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
            exports: Vec::new(),
        }
    }

    /// The CBOR of a manifest map with `entries` (key, CBOR of the value), in that order.
    fn map(entries: &[(u8, &[u8])]) -> Vec<u8> {
        let mut out = vec![0xa0 | entries.len() as u8];
        for (k, v) in entries {
            out.push(*k);
            out.extend_from_slice(v);
        }
        out
    }

    /// The sample's entries, as CBOR, to rearrange.
    fn entries() -> Vec<(u8, Vec<u8>)> {
        let bytes = sample().to_cbor();
        let mut d = Decoder::new(&bytes);
        d.map().unwrap();
        let mut out = Vec::new();
        for _ in 0..5 {
            let k = d.u8().unwrap();
            let start = d.position();
            d.skip().unwrap();
            out.push((k, bytes[start..d.position()].to_vec()));
        }
        out
    }

    fn with(key: u8, value: &[u8]) -> Vec<u8> {
        let e = entries();
        let e: Vec<(u8, &[u8])> = e
            .iter()
            .map(|(k, v)| (*k, if *k == key { value } else { v.as_slice() }))
            .collect();
        map(&e)
    }

    fn refused(bytes: &[u8]) -> &'static str {
        ManifestRef::decode(bytes).unwrap_err().0
    }

    #[test]
    fn round_trip_in_place_and_owned() {
        let m = sample();
        let bytes = m.to_cbor();
        let r = ManifestRef::decode(&bytes).unwrap();
        assert_eq!(r.name, "hello");
        assert_eq!(
            r.grants(),
            ["ariel:wasm-bindings/log-api@0.0.1", "uppercase"]
        );
        assert_eq!(Manifest::from_cbor(&bytes).unwrap(), m);
        // Any key order.
        let mut e = entries();
        e.reverse();
        let e: Vec<(u8, &[u8])> = e.iter().map(|(k, v)| (*k, v.as_slice())).collect();
        assert_eq!(Manifest::from_cbor(&map(&e)).unwrap(), m);
    }

    #[test]
    fn a_manifest_without_exports_is_the_same_bytes_as_before_key_6() {
        let bytes = sample().to_cbor();
        assert_eq!(bytes[0], 0xa5);
        // What the encoder wrote before key 6 existed (signatures over it stay valid).
        let expected = "a5016568656c6c6f021b0000126d6975c6be038401011830010458205694d08a2e53ffcae0\
                        c3103e5ad6f6076abd960eb1f8a56577040bc1028f702b05827821617269656c3a7761736d\
                        2d62696e64696e67732f6c6f672d61706940302e302e3169757070657263617365";
        let hex: alloc::string::String = bytes.iter().map(|b| alloc::format!("{b:02x}")).collect();
        assert_eq!(hex, expected);
        assert!(ManifestRef::decode(&bytes).unwrap().exports().is_empty());
    }

    #[test]
    fn exports_round_trip_in_any_key_order_and_fit_a_trailer() {
        let m = Manifest {
            name: "coap-counter-with-a-long-name-32".into(),
            profile: StampedProfile::current(EngineProfile::wasmi(Preemption::Fuel)),
            grants: (0..8)
                .map(|i| alloc::format!("ariel:wasm-bindings/some-long-api-name-{i}@0.0.1"))
                .collect(),
            ..sample()
        }
        .with_exports(super::super::exports::tests::coap_server());
        let bytes = m.to_cbor();
        assert_eq!(bytes[0], 0xa6);
        let r = ManifestRef::decode(&bytes).unwrap();
        assert_eq!(r.exports(), m.exports);
        assert_eq!(Manifest::from_cbor(&bytes).unwrap(), m);
        assert_eq!(
            m.export("ariel:wasm-bindings/coap-server-guest@0.0.1#report")
                .map(|f| f.to_string()),
            Some(
                "ariel:wasm-bindings/coap-server-guest@0.0.1#report() -> \
                 result<list<string>, enum { not-found, internal-server-error, handler-not-built }>"
                    .into()
            )
        );
        // Key 6 first, then the rest.
        let mut d = Decoder::new(&bytes);
        d.map().unwrap();
        let mut e = Vec::new();
        for _ in 0..6 {
            let k = d.u8().unwrap();
            let start = d.position();
            d.skip().unwrap();
            e.push((k, bytes[start..d.position()].to_vec()));
        }
        e.rotate_right(1);
        let e: Vec<(u8, &[u8])> = e.iter().map(|(k, v)| (*k, v.as_slice())).collect();
        assert_eq!(Manifest::from_cbor(&map(&e)).unwrap(), m);
        // With the COSE_Sign1 around it (≈ 100 bytes), far below the trailer's bound.
        assert!(
            bytes.len() + 128 < crate::capsule::MAX_TRAILER_LEN / 2,
            "{} bytes",
            bytes.len()
        );
    }

    #[test]
    fn each_refusal_says_why() {
        let bytes = sample().to_cbor();
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(refused(&longer), "bytes after the manifest");
        assert_eq!(refused(&[0x80]), "not a CBOR map");
        assert_eq!(refused(&[0xbf, 0xff]), "indefinite-length CBOR");
        let e = entries();
        let seven: Vec<(u8, &[u8])> = e
            .iter()
            .chain(&e[..2])
            .map(|(k, v)| (*k, v.as_slice()))
            .collect();
        assert_eq!(refused(&map(&seven)), "more than 6 keys");
        let mut repeated = seven.clone();
        repeated.remove(5);
        assert_eq!(refused(&map(&repeated)), "repeated key");
        let mut unknown = repeated.clone();
        unknown[5].0 = 7;
        assert_eq!(refused(&map(&unknown)), "unknown key");
        // Key 6 is read by the exports' reader (its refusals are tested in `exports.rs`).
        let mut bad_exports: Vec<(u8, &[u8])> = e.iter().map(|(k, v)| (*k, v.as_slice())).collect();
        bad_exports.push((6, &[0x80]));
        assert_eq!(
            refused(&map(&bad_exports)),
            "empty exports (a manifest without them has no key 6)"
        );
        assert_eq!(
            refused(&[0xa1, 0x61, b'a', 0x00]),
            "a key is not a small integer"
        );
        let missing = [
            "no name (key 1)",
            "no version (key 2)",
            "no profile (key 3)",
            "no digest (key 4)",
            "no grants (key 5)",
        ];
        for (i, why) in missing.into_iter().enumerate() {
            let four: Vec<(u8, &[u8])> = e
                .iter()
                .filter(|(k, _)| usize::from(*k) != i + 1)
                .map(|(k, v)| (*k, v.as_slice()))
                .collect();
            assert_eq!(refused(&map(&four)), why);
        }
        assert_eq!(refused(&with(1, &[0x01])), "name is not text");
        let mut long = vec![0x78, 33];
        long.extend([b'a'; 33]);
        assert_eq!(
            refused(&with(1, &long)),
            "name longer than 32 bytes or with NUL"
        );
        assert_eq!(
            refused(&with(1, &[0x62, b'a', 0])),
            "name longer than 32 bytes or with NUL"
        );
        assert_eq!(
            refused(&with(2, &[0x20])),
            "version is not an unsigned integer"
        );
        let bad_profile = "profile is not [target, preemption, major, rev]";
        assert_eq!(refused(&with(3, &[0x83, 1, 1, 1])), bad_profile);
        assert_eq!(refused(&with(3, &[0x84, 9, 1, 1, 1])), bad_profile);
        assert_eq!(
            refused(&with(3, &[0x84, 1, 1, 0x1a, 1, 0, 0, 0, 1])),
            bad_profile
        );
        assert_eq!(refused(&with(4, &[0x41, 0])), "digest is not 32 bytes");
        assert_eq!(
            refused(&with(4, &[0x61, b'a'])),
            "digest is not a byte string"
        );
        assert_eq!(refused(&with(5, &[0xa0])), "grants are not an array");
        let mut many = vec![0x98, 33];
        many.extend([0x61, b'g'].repeat(33));
        assert_eq!(refused(&with(5, &many)), "more than 32 grants");
        assert_eq!(
            refused(&with(5, &[0x81, 0x60])),
            "a grant is not a name of 1–128 bytes"
        );
        assert_eq!(refused(&with(5, &[0x9f, 0xff])), "indefinite-length CBOR");
        // A huge declared length is refused before anything is read, without allocating.
        assert_eq!(
            refused(&with(
                5,
                &[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
            )),
            "more than 32 grants"
        );
        // Every truncation is refused without a panic.
        for cut in 0..bytes.len() {
            assert!(ManifestRef::decode(&bytes[..cut]).is_err());
        }
    }
}
