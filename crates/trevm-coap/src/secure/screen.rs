//! What the security layer checks of a request before coapcore, lakers and liboscore see it.
//!
//! Those libraries parse peer input themselves, and mostly refuse bad input with an error. Where
//! one of them panics, aborts or throws away a security context instead, the check is here (each
//! named in `docs/coap-security.md`, "Which peer input reaches which library"):
//! - [`message_1`]: EDHOC message 1 (RFC 9528 §5.2.1), a CBOR sequence `METHOD, SUITES_I, G_X,
//!   C_I, ?EAD_1`: `G_X` must be on P-256 (lakers' provider panics otherwise), `C_I` short enough
//!   to be an OSCORE sender ID (coapcore `unwrap`s liboscore's key derivation, which refuses IDs
//!   longer than the AEAD nonce allows), only method 3 and cipher suite 2 (all coapcore speaks);
//! - [`oscore_option`]: the OSCORE option (RFC 8613 §6.1): reserved flag bits and partial IV
//!   lengths 6 and 7 are malformed, the lengths must add up; returns the kid;
//! - [`outer_options`]: only options OSCORE allows outside (others end liboscore's iterator in an
//!   endless error), and [`MAX_OSCORE_COPY`]: no request coapcore cannot copy;
//! - [`combined_payload`]: an EDHOC + OSCORE request (RFC 9668) must start with message 3 as a
//!   CBOR byte string in its shortest head, of 8 to [`max_message_3`] bytes, or lakers panics, or
//!   coapcore drops the security context the kid names, whoever's it is.
//!
//! Message 1 is read byte by byte (its items have fixed shapes), EAD values with `minicbor` (the
//! decoder coapcore uses); nothing here allocates.

use minicbor::Decoder;
use minicbor::data::Type;

use super::crypto::is_p256_x;

/// EDHOC method 3: both parties authenticate with static Diffie-Hellman keys.
const METHOD_STAT_STAT: u8 = 3;
/// EDHOC cipher suite 2: AES-CCM-16-64-128, SHA-256, P-256 (the one coapcore supports).
const SUITE_2: u8 = 2;
/// The longest OSCORE sender/recipient ID with a 13-byte AEAD nonce (RFC 8613 §5.2: nonce length
/// minus 6): a C_I longer than this cannot become the device's OSCORE sender ID.
pub const MAX_ID_LEN: usize = 7;
/// The largest EAD value lakers keeps (`MAX_EAD_SIZE_LEN`).
const MAX_EAD_VALUE: usize = 64;

/// Why a request was refused before the libraries saw it (a diagnostic for the 4.00 payload).
pub type Refusal = &'static str;

/// Checks EDHOC message 1 (the payload after the leading `true`). lakers' own decoder reads
/// heads by their first byte and mis-sizes the rest (a SUITES_I array of length 0 in a one-byte
/// length head underflows an index, a C_I of 8 to 23 bytes overruns its buffer), so every item
/// must have the shortest encoding here, checked byte by byte.
pub fn message_1(m1: &[u8]) -> Result<(), Refusal> {
    let malformed =
        "EDHOC message 1 is not METHOD, SUITES_I, G_X, C_I, ?EAD_1 (shortest encodings)";
    let mut at = 0;
    let mut next = || {
        let b = m1.get(at).copied();
        at += 1;
        b.ok_or(malformed)
    };
    if next()? != METHOD_STAT_STAT {
        return Err("EDHOC method not supported (only 3, static-static)");
    }
    let selected = match next()? {
        one @ 0x00..=0x17 => one,
        head @ 0x82..=0x89 => {
            let mut last = 0;
            for _ in 0..(head - 0x80) {
                last = match next()? {
                    suite @ 0x00..=0x17 => suite,
                    _ => return Err("EDHOC SUITES_I: suites 0 to 23 only"),
                };
            }
            last
        }
        _ => return Err("EDHOC SUITES_I: one suite, or an array of 2 to 9"),
    };
    if selected != SUITE_2 {
        return Err("EDHOC cipher suite not supported (only 2)");
    }
    if (next()?, next()?) != (0x58, 32) {
        return Err("EDHOC G_X is not a 32-byte string");
    }
    let g_x: &[u8; 32] = m1
        .get(at..at + 32)
        .and_then(|x| x.try_into().ok())
        .ok_or(malformed)?;
    at += 32;
    if !is_p256_x(g_x) {
        return Err("EDHOC G_X is not a point on P-256");
    }
    match m1.get(at).copied().ok_or("EDHOC C_I is missing")? {
        // An integer with its value in the initial byte (-24..=23).
        0x00..=0x17 | 0x20..=0x37 => at += 1,
        head @ 0x40..=0x47 => at += 1 + usize::from(head - 0x40),
        _ => return Err("EDHOC C_I: a one-byte integer or a byte string of at most 7 bytes"),
    }
    let rest = m1.get(at..).ok_or(malformed)?;
    let mut d = Decoder::new(rest);
    while d.position() < rest.len() {
        // EAD items: an integer label, optionally followed by a byte string value.
        match rest.get(d.position()) {
            Some(0x00..=0x19 | 0x20..=0x39) => {}
            _ => return Err("EDHOC EAD_1: a label is not an integer of at most 16 bits"),
        }
        d.skip().map_err(|_| malformed)?;
        if d.position() < rest.len() && d.datatype().map_err(|_| malformed)? == Type::Bytes {
            let value = d.bytes().map_err(|_| malformed)?;
            if value.len() > MAX_EAD_VALUE {
                return Err("EDHOC EAD_1 value is too long");
            }
        }
    }
    Ok(())
}

/// Checks an OSCORE option value (RFC 8613 §6.1) and returns its kid, if it has one.
pub fn oscore_option(value: &[u8]) -> Result<Option<&[u8]>, Refusal> {
    // coapcore keeps at most 16 bytes of it, and treats a longer one as no OSCORE at all.
    if value.len() > 16 {
        return Err("OSCORE option: longer than 16 bytes");
    }
    let Some((&flags, rest)) = value.split_first() else {
        // An empty option: all flags zero, no kid (a response's option; refused later).
        return Ok(None);
    };
    if flags & 0xe0 != 0 {
        return Err("OSCORE option: reserved flag bits are set");
    }
    let n = usize::from(flags & 0x07);
    if n > 5 {
        return Err("OSCORE option: partial IV length 6 and 7 are reserved");
    }
    let rest = rest
        .get(n..)
        .ok_or("OSCORE option: shorter than its partial IV")?;
    let rest = if flags & 0x10 != 0 {
        let (&s, context) = rest
            .split_first()
            .ok_or("OSCORE option: kid context length is missing")?;
        context
            .get(usize::from(s)..)
            .ok_or("OSCORE option: shorter than its kid context")?
    } else {
        rest
    };
    if flags & 0x08 != 0 {
        Ok(Some(rest))
    } else if rest.is_empty() {
        Ok(None)
    } else {
        Err("OSCORE option: bytes after the partial IV without the k flag")
    }
}

/// Checks that the payload of an EDHOC + OSCORE request starts with message 3, a CBOR byte string
/// of 8 to `max_len` bytes in its shortest encoding. coapcore cuts it off with a general CBOR
/// decoder, but lakers reads the head by its first byte (a longer head is misread as `0x58`),
/// subtracts the 8-byte tag from the length (a shorter one wraps) and builds MAC_3's context in a
/// fixed buffer before it checks anything (a long message 3 overruns it: see
/// [`max_message_3`]); and when coapcore cannot cut it off, it drops the security context the kid
/// names, whoever's it is.
pub fn combined_payload(payload: &[u8], max_len: usize) -> Result<usize, Refusal> {
    let len = match payload {
        [head @ 0x48..=0x57, ..] => usize::from(head - 0x40),
        [0x58, n, ..] if *n >= 24 => usize::from(*n),
        _ => {
            return Err(
                "EDHOC + OSCORE request does not start with message 3 (a byte string of 8 bytes or more)",
            );
        }
    };
    let head = if len < 24 { 1 } else { 2 };
    if len > max_len {
        return Err("EDHOC message 3 is longer than this device takes");
    }
    if payload.len() < head + len {
        return Err("EDHOC message 3 is cut short");
    }
    Ok(head + len)
}

/// The most bytes of options and payload an OSCORE request may have (without message 3):
/// coapcore copies it into a buffer of 1152 bytes, and drops the security context the kid names
/// when it does not fit. Two bytes spare for an option delta that grows when the EDHOC option
/// is left out of the copy.
pub const MAX_OSCORE_COPY: usize = 1152 - 2;

/// Outer options liboscore lets an OSCORE request carry (RFC 8613 §4.1: class U and I, and
/// those that are both). Any other outer option ends liboscore's option iterator in an error
/// that repeats without end (see `inner.rs`): an on-path attacker adding an outer Uri-Path to a
/// genuine request would hang the device.
const OUTER_OPTIONS: &[u16] = &[3, 4, 6, 7, 9, 14, 21, 39, 252, 258];

/// Checks that an OSCORE request's outer options are ones OSCORE allows outside.
pub fn outer_options(numbers: impl Iterator<Item = u16>) -> Result<(), Refusal> {
    for n in numbers {
        if !OUTER_OPTIONS.contains(&n) {
            return Err("an option that belongs inside OSCORE is outside it");
        }
    }
    Ok(())
}

/// The longest message 3 (its ciphertext, tag included) lakers 0.8 can take without overrunning
/// its 256-byte MAC_3 context: the context holds the plaintext (less the tag) and the initiator's
/// credential (at most `max_peer_ccs` bytes for a client the policy knows) and 28 bytes more; a
/// stranger's credential comes by value inside the plaintext, so with `strangers` it counts twice.
pub fn max_message_3(max_peer_ccs: usize, strangers: bool) -> usize {
    const CONTEXT: usize = 256;
    const TAG: usize = 8;
    let known = (CONTEXT - 28 + TAG - 1).saturating_sub(max_peer_ccs);
    let unknown = if strangers { 128 } else { usize::MAX };
    // lakers' message buffer is 192 bytes, with the head.
    known.min(unknown).min(190)
}

/// The OSCORE option (RFC 8613).
pub(super) const OPT_OSCORE: u16 = 9;
/// The EDHOC option (RFC 9668): the request carries message 3 before its OSCORE ciphertext.
pub(super) const OPT_EDHOC: u16 = 21;

/// Whether `request` is EDHOC message 1: a POST to `/.well-known/edhoc` whose payload starts with
/// CBOR `true` (RFC 9528 appendix A.2: no C_R yet).
pub fn is_edhoc_message_1(request: &crate::message::Message) -> bool {
    request.code == crate::message::code::POST
        && request.payload.first() == Some(&0xf5)
        && request
            .path()
            .is_some_and(|p| p == [".well-known", "edhoc"])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A well-formed message 1 with `g_x`, `c_i` (CBOR) and `tail` (EAD items, CBOR).
    fn m1(suites: &[u8], g_x: &[u8], c_i: &[u8], tail: &[u8]) -> alloc::vec::Vec<u8> {
        let mut m = alloc::vec![0x03];
        m.extend_from_slice(suites);
        m.push(0x58);
        m.push(g_x.len() as u8);
        m.extend_from_slice(g_x);
        m.extend_from_slice(c_i);
        m.extend_from_slice(tail);
        m
    }

    /// The x-coordinate of P-256's generator: a point on the curve.
    const G: [u8; 32] = [
        0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40,
        0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98,
        0xc2, 0x96,
    ];

    #[test]
    fn message_1_refusals() {
        assert_eq!(message_1(&m1(&[0x02], &G, &[0x0e], &[])), Ok(()));
        // lakers' index underflow: an empty array in a one-byte length head.
        assert!(message_1(&m1(&[0x98, 0x00], &G, &[0x0e], &[])).is_err());
        assert_eq!(
            message_1(&m1(&[0x82, 0x06, 0x02], &G, &[0x37], &[0x01, 0x41, 0])),
            Ok(())
        );
        assert_eq!(message_1(&m1(&[0x02], &G, &[0x43, 1, 2, 3], &[])), Ok(()));
        assert_eq!(
            message_1(&m1(&[0x02], &[0x01; 32], &[0x0e], &[])),
            Err("EDHOC G_X is not a point on P-256")
        );
        assert_eq!(
            message_1(&m1(&[0x02], &[0xff; 32], &[0x0e], &[])),
            Err("EDHOC G_X is not a point on P-256")
        );
        assert_eq!(
            message_1(&m1(&[0x02], &G[..31], &[0x0e], &[])),
            Err("EDHOC G_X is not a 32-byte string")
        );
        assert!(message_1(&m1(&[0x06], &G, &[0x0e], &[])).is_err());
        assert!(message_1(&m1(&[0x81, 0x02], &G, &[0x0e], &[])).is_err());
        assert!(message_1(&m1(&[0x02], &G, &[0x48, 1, 2, 3, 4, 5, 6, 7, 8], &[])).is_err());
        assert!(message_1(&m1(&[0x02], &G, &[0x18, 0x18], &[])).is_err());
        assert!(message_1(&m1(&[0x02], &G, &[], &[])).is_err());
        assert!(message_1(&m1(&[0x02], &G, &[0x0e], &[0x41])).is_err());
        let mut long_ead = alloc::vec![0x01, 0x58, 65];
        long_ead.extend_from_slice(&[0; 65]);
        assert!(message_1(&m1(&[0x02], &G, &[0x0e], &long_ead)).is_err());
        let mut wrong_method = m1(&[0x02], &G, &[0x0e], &[]);
        wrong_method[0] = 0x00;
        assert!(message_1(&wrong_method).is_err());
        assert!(message_1(&[]).is_err());
    }

    #[test]
    fn oscore_option_layouts() {
        assert_eq!(oscore_option(&[]), Ok(None));
        assert_eq!(oscore_option(&[0x09, 0x05, 0x2b]), Ok(Some(&[0x2b][..])));
        assert_eq!(oscore_option(&[0x08]), Ok(Some(&[][..])));
        assert_eq!(
            oscore_option(&[0x19, 0x05, 0x02, 0xaa, 0xbb, 0x2b]),
            Ok(Some(&[0x2b][..]))
        );
        assert!(oscore_option(&[0x29, 0x05, 0x2b]).is_err());
        assert!(oscore_option(&[0x0e, 1, 2, 3, 4, 5, 6]).is_err());
        assert!(oscore_option(&[0x0b, 0x05]).is_err());
        assert!(oscore_option(&[0x19, 0x05, 0x09, 0xaa]).is_err());
        assert!(oscore_option(&[0x01, 0x05, 0x2b]).is_err());
        let mut long = alloc::vec![0x19, 0x05, 0x0d];
        long.extend_from_slice(&[0; 14]);
        assert!(oscore_option(&long).is_err());
    }

    #[test]
    fn only_outer_options_oscore_allows_outside() {
        assert_eq!(outer_options([3, 7, 9, 21].into_iter()), Ok(()));
        for inner_only in [11, 12, 15, 23, 27, 35, 60] {
            assert!(
                outer_options([9, inner_only].into_iter()).is_err(),
                "{inner_only}"
            );
        }
    }

    #[test]
    fn a_combined_request_starts_with_a_byte_string() {
        let m3 = |head: &[u8], n: usize| [head, &[7u8; 200][..n], b"\xff"].concat();
        assert_eq!(combined_payload(&m3(&[0x48], 8), 128), Ok(9));
        assert_eq!(combined_payload(&m3(&[0x58, 100], 100), 128), Ok(102));
        // Shorter than the tag, longer heads than needed, indefinite length: refused.
        assert!(combined_payload(&m3(&[0x42], 2), 128).is_err());
        assert!(combined_payload(&m3(&[0x58, 9], 9), 128).is_err());
        assert!(combined_payload(&m3(&[0x59, 0, 100], 100), 128).is_err());
        assert!(combined_payload(&[0x5f, 0x41, 1, 0xff], 128).is_err());
        // Longer than the limit, or cut short.
        assert!(combined_payload(&m3(&[0x58, 129], 129), 128).is_err());
        assert!(combined_payload(&[0x4a, 1], 128).is_err());
        assert!(combined_payload(&[], 128).is_err());
        assert_eq!(max_message_3(46, false), 189);
        assert_eq!(max_message_3(46, true), 128);
        assert_eq!(max_message_3(150, false), 85);
    }
}
