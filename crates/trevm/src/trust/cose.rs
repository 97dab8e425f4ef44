//! [`Sign1`]: the capsule's signature trailer read in place, in one pass, without allocating.
//!
//! Exactly the shape the [module docs](super) draw is accepted; everything else is refused with
//! [`TrustError::Malformed`] saying what differs: another tag or array length, indefinite
//! lengths, a protected header with anything besides `alg` (EdDSA) and an 8-byte `kid` (or with
//! one of them twice), a non-empty unprotected header, a detached payload, a signature that is
//! not 64 bytes, bytes after the structure, and every refusal of
//! [`ManifestRef::decode`] for the payload.

use minicbor::Decoder;

use super::error::TrustError;
use super::kid::{KID_LEN, KeyId};
use crate::manifest::ManifestRef;

/// The CBOR tag of a COSE_Sign1 (RFC 9052).
const TAG_COSE_SIGN1: u64 = 18;
/// Header label `alg` and its one allowed value, EdDSA.
const LABEL_ALG: i64 = 1;
const ALG_EDDSA: i64 = -8;
/// Header label `kid`.
const LABEL_KID: i64 = 4;
/// Length of an Ed25519 signature.
pub(crate) const SIGNATURE_LEN: usize = 64;

const fn malformed(why: &'static str) -> TrustError {
    TrustError::Malformed(why)
}

/// A capsule's COSE_Sign1 and the manifest it carries, decoded in place: every slice borrows
/// from the trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sign1<'a> {
    /// The protected header as it was signed (the bytes inside its byte string).
    pub protected: &'a [u8],
    /// The signer's key id, from the protected header.
    pub kid: KeyId,
    /// The payload as it was signed: the manifest's CBOR.
    pub payload: &'a [u8],
    /// The payload decoded.
    pub manifest: ManifestRef<'a>,
    /// The Ed25519 signature.
    pub signature: &'a [u8; SIGNATURE_LEN],
}

impl<'a> Sign1<'a> {
    /// Reads a signature trailer that must be exactly one tagged COSE_Sign1 of the allowed shape.
    pub fn decode(trailer: &'a [u8]) -> Result<Self, TrustError> {
        let mut d = Decoder::new(trailer);
        if d.tag().ok().map(|t| t.as_u64()) != Some(TAG_COSE_SIGN1) {
            return Err(malformed("not a COSE_Sign1 (CBOR tag 18)"));
        }
        if definite(d.array(), "not a COSE_Sign1 (an array of 4)")? != 4 {
            return Err(malformed("not a COSE_Sign1 (an array of 4)"));
        }
        let protected = d
            .bytes()
            .map_err(|_| malformed("the protected header is not a byte string"))?;
        let kid = decode_protected(protected)?;
        if definite(d.map(), "the unprotected header is not a map")? != 0 {
            return Err(malformed("the unprotected header is not empty"));
        }
        if d.datatype().ok() == Some(minicbor::data::Type::Null) {
            return Err(malformed("the manifest is not attached"));
        }
        let payload = d
            .bytes()
            .map_err(|_| malformed("the payload is not a byte string"))?;
        let signature = d
            .bytes()
            .ok()
            .and_then(|s| <&[u8; SIGNATURE_LEN]>::try_from(s).ok())
            .ok_or(malformed("the signature is not a 64-byte string"))?;
        if d.position() != trailer.len() {
            return Err(malformed("bytes after the COSE_Sign1"));
        }
        let manifest = ManifestRef::decode(payload)?;
        Ok(Sign1 {
            protected,
            kid,
            payload,
            manifest,
            signature,
        })
    }

    /// Whether the signature verifies with `public` over the RFC 9052 `Sig_structure`
    /// `["Signature1", protected, h'', payload]`, fed to Ed25519 piece by piece (nothing is
    /// copied into a buffer).
    pub fn verify_signature(&self, public: &[u8; 32]) -> bool {
        let key = ed25519_compact::PublicKey::new(*public);
        let signature = ed25519_compact::Signature::new(*self.signature);
        let Ok(mut state) = key.verify_incremental(&signature) else {
            return false;
        };
        // An array of 4, the text "Signature1", the protected header, no external AAD, the payload.
        state.absorb([0x84, 0x6a]);
        state.absorb(b"Signature1");
        let (head, len) = bstr_head(self.protected.len());
        state.absorb(&head[..len]);
        state.absorb(self.protected);
        state.absorb([0x40]);
        let (head, len) = bstr_head(self.payload.len());
        state.absorb(&head[..len]);
        state.absorb(self.payload);
        state.verify().is_ok()
    }
}

/// The protected header: a map of exactly `alg` (EdDSA) and an 8-byte `kid`, in either order.
fn decode_protected(bytes: &[u8]) -> Result<KeyId, TrustError> {
    const NOT_EDDSA: TrustError = malformed("the algorithm is not EdDSA in the protected header");
    const NO_KID: TrustError = malformed("the protected header has no 8-byte kid");
    const OTHER: TrustError = malformed("the protected header holds more than alg and kid");
    let mut d = Decoder::new(bytes);
    match definite(d.map(), "the protected header is not a map")? {
        0 | 1 => return Err(malformed("the protected header lacks alg or kid")),
        2 => {}
        _ => return Err(OTHER),
    }
    let (mut alg, mut kid) = (false, None);
    for _ in 0..2 {
        match d.i64().map_err(|_| OTHER)? {
            LABEL_ALG if !alg => {
                if d.i64().ok() != Some(ALG_EDDSA) {
                    return Err(NOT_EDDSA);
                }
                alg = true;
            }
            LABEL_KID if kid.is_none() => {
                let id = d.bytes().map_err(|_| NO_KID)?;
                kid = Some(KeyId(<[u8; KID_LEN]>::try_from(id).map_err(|_| NO_KID)?));
            }
            LABEL_ALG | LABEL_KID => {
                return Err(malformed("the protected header repeats a label"));
            }
            _ => return Err(OTHER),
        }
    }
    if d.position() != bytes.len() {
        return Err(malformed("bytes after the protected header"));
    }
    // Two entries, neither repeated: both are there.
    kid.ok_or(NO_KID)
}

/// The length of a definite-length array or map; `wrong_type` if the item is not one.
fn definite(
    len: Result<Option<u64>, minicbor::decode::Error>,
    wrong_type: &'static str,
) -> Result<u64, TrustError> {
    len.map_err(|_| malformed(wrong_type))?
        .ok_or(malformed("indefinite-length CBOR"))
}

/// The head of a CBOR byte string of `len` bytes in its shortest form (as coset writes it):
/// the buffer and how many of its bytes are the head.
fn bstr_head(len: usize) -> ([u8; 9], usize) {
    let n = len as u64;
    let mut head = [0u8; 9];
    let used: usize = match n {
        0..=23 => {
            head[0] = 0x40 | n as u8;
            return (head, 1);
        }
        24..=0xff => 1,
        0x100..=0xffff => 2,
        0x1_0000..=0xffff_ffff => 4,
        _ => 8,
    };
    // Additional information 24, 25, 26, 27: 1, 2, 4, 8 bytes of length follow.
    head[0] = 0x58 + used.trailing_zeros() as u8;
    head[1..=used].copy_from_slice(&n.to_be_bytes()[8 - used..]);
    (head, 1 + used)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    const KID: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

    fn manifest() -> Vec<u8> {
        use crate::capsule::StampedProfile;
        use crate::profile::{EngineProfile, Preemption};
        crate::manifest::Manifest {
            name: "hello".into(),
            version: 1,
            profile: StampedProfile::current(EngineProfile::pulley32(Preemption::Fuel)),
            digest: [7; 32],
            grants: vec![],
            exports: vec![],
        }
        .to_cbor()
    }

    /// `18([bstr(protected), unprotected, payload, signature])`, each given as CBOR.
    fn sign1(protected: &[u8], unprotected: &[u8], payload: &[u8], signature: &[u8]) -> Vec<u8> {
        let mut out = vec![0xd2, 0x84];
        out.extend(bstr(protected));
        out.extend(unprotected);
        out.extend(payload);
        out.extend(signature);
        out
    }

    fn bstr(bytes: &[u8]) -> Vec<u8> {
        let (head, len) = bstr_head(bytes.len());
        let mut out = head[..len].to_vec();
        out.extend(bytes);
        out
    }

    fn protected() -> Vec<u8> {
        let mut p = vec![0xa2, 0x01, 0x27, 0x04, 0x48];
        p.extend(KID);
        p
    }

    fn good() -> Vec<u8> {
        sign1(&protected(), &[0xa0], &bstr(&manifest()), &bstr(&[9; 64]))
    }

    fn refused(bytes: &[u8]) -> &'static str {
        match Sign1::decode(bytes).unwrap_err() {
            TrustError::Malformed(why) => why,
            e => panic!("{e}"),
        }
    }

    #[test]
    fn the_allowed_shape_is_read_in_place() {
        let bytes = good();
        let s = Sign1::decode(&bytes).unwrap();
        assert_eq!(s.kid, KeyId(KID));
        assert_eq!(s.signature, &[9; 64]);
        assert_eq!(s.payload, manifest().as_slice());
        assert_eq!(s.manifest.name, "hello");
        // The labels in the other order are the same header.
        let mut swapped = vec![0xa2, 0x04, 0x48];
        swapped.extend(KID);
        swapped.extend([0x01, 0x27]);
        let bytes = sign1(&swapped, &[0xa0], &bstr(&manifest()), &bstr(&[9; 64]));
        assert_eq!(Sign1::decode(&bytes).unwrap().kid, KeyId(KID));
    }

    #[test]
    fn byte_string_heads_are_shortest() {
        for (len, head) in [
            (0usize, &[0x40][..]),
            (23, &[0x57]),
            (24, &[0x58, 24]),
            (255, &[0x58, 0xff]),
            (256, &[0x59, 1, 0]),
            (65_536, &[0x5a, 0, 1, 0, 0]),
        ] {
            let (h, n) = bstr_head(len);
            assert_eq!(&h[..n], head, "{len}");
        }
    }

    #[test]
    fn each_refusal_says_why() {
        let (p, m, s) = (protected(), bstr(&manifest()), bstr(&[9; 64]));
        let mut untagged = good();
        untagged[0] = 0xc6;
        assert_eq!(refused(&untagged), "not a COSE_Sign1 (CBOR tag 18)");
        assert_eq!(
            refused(&[0xd2, 0x83, 0x40, 0xa0, 0x40]),
            "not a COSE_Sign1 (an array of 4)"
        );
        assert_eq!(refused(&[0xd2, 0xa0]), "not a COSE_Sign1 (an array of 4)");
        assert_eq!(refused(&[0xd2, 0x9f, 0xff]), "indefinite-length CBOR");
        let mut text = good();
        text[2] = 0x60 | (text[2] & 0x1f);
        assert_eq!(refused(&text), "the protected header is not a byte string");
        assert_eq!(
            refused(&sign1(&[0x80], &[0xa0], &m, &s)),
            "the protected header is not a map"
        );
        assert_eq!(
            refused(&sign1(&[0xa1, 0x01, 0x27], &[0xa0], &m, &s)),
            "the protected header lacks alg or kid"
        );
        let mut three = p.clone();
        three[0] = 0xa3;
        three.extend([0x03, 0x00]);
        assert_eq!(
            refused(&sign1(&three, &[0xa0], &m, &s)),
            "the protected header holds more than alg and kid"
        );
        let mut other = p.clone();
        other[1] = 0x03;
        assert_eq!(
            refused(&sign1(&other, &[0xa0], &m, &s)),
            "the protected header holds more than alg and kid"
        );
        let mut es256 = p.clone();
        es256[2] = 0x26;
        assert_eq!(
            refused(&sign1(&es256, &[0xa0], &m, &s)),
            "the algorithm is not EdDSA in the protected header"
        );
        let twice = [0xa2, 0x01, 0x27, 0x01, 0x27];
        assert_eq!(
            refused(&sign1(&twice, &[0xa0], &m, &s)),
            "the protected header repeats a label"
        );
        let mut short_kid = vec![0xa2, 0x01, 0x27, 0x04, 0x47];
        short_kid.extend(&KID[..7]);
        assert_eq!(
            refused(&sign1(&short_kid, &[0xa0], &m, &s)),
            "the protected header has no 8-byte kid"
        );
        let mut trailing = p.clone();
        trailing.push(0);
        assert_eq!(
            refused(&sign1(&trailing, &[0xa0], &m, &s)),
            "bytes after the protected header"
        );
        assert_eq!(
            refused(&sign1(&p, &[0x80], &m, &s)),
            "the unprotected header is not a map"
        );
        assert_eq!(
            refused(&sign1(&p, &[0xa1, 0x04, 0x40], &m, &s)),
            "the unprotected header is not empty"
        );
        assert_eq!(
            refused(&sign1(&p, &[0xa0], &[0xf6], &s)),
            "the manifest is not attached"
        );
        assert_eq!(
            refused(&sign1(&p, &[0xa0], &[0x60], &s)),
            "the payload is not a byte string"
        );
        assert_eq!(
            refused(&sign1(&p, &[0xa0], &m, &bstr(&[9; 63]))),
            "the signature is not a 64-byte string"
        );
        let mut longer = good();
        longer.push(0);
        assert_eq!(refused(&longer), "bytes after the COSE_Sign1");
        // The manifest's own refusals come through.
        assert_eq!(
            refused(&sign1(&p, &[0xa0], &bstr(&[0x80]), &s)),
            "not a CBOR map"
        );
        let bytes = good();
        for cut in 0..bytes.len() {
            assert!(Sign1::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn the_signature_covers_the_sig_structure() {
        let pair = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([3; 32]));
        let (p, m) = (protected(), manifest());
        // RFC 9052 Sig_structure, written out by hand.
        let mut tbs = vec![0x84, 0x6a];
        tbs.extend(b"Signature1");
        tbs.extend(bstr(&p));
        tbs.push(0x40);
        tbs.extend(bstr(&m));
        let sig = pair.sk.sign(&tbs, None);
        let bytes = sign1(&p, &[0xa0], &bstr(&m), &bstr(&sig[..]));
        let s = Sign1::decode(&bytes).unwrap();
        assert!(s.verify_signature(&pair.pk));
        let other = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([4; 32]));
        assert!(!s.verify_signature(&other.pk));
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(!Sign1::decode(&flipped).unwrap().verify_signature(&pair.pk));
    }
}
