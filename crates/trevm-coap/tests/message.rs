//! Properties of the CoAP message codec, over generated messages and bytes: what a peer on the
//! network can send is either a message or a [`ParseError`], never a panic, and every message this
//! crate encodes parses back to itself.
//!
//! Each property runs `TREVM_FUZZ_CASES` cases (default 2,000), like
//! `crates/trevm-native/tests/fuzz_verify_load.rs`.

use proptest::collection::vec;
use proptest::prelude::*;
use trevm_coap::message::{Options, encode_options_payload, parse_options_payload};
use trevm_coap::{Message, MsgType, ParseError};

fn config() -> ProptestConfig {
    let cases = std::env::var("TREVM_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn msg_type() -> impl Strategy<Value = MsgType> {
    prop_oneof![
        Just(MsgType::Con),
        Just(MsgType::Non),
        Just(MsgType::Ack),
        Just(MsgType::Rst),
    ]
}

/// An option delta from each of the encoding's classes: in the nibble (0–12), one extension byte
/// (13–268), two extension bytes (269 and up), up to the largest option number.
fn delta() -> impl Strategy<Value = u16> {
    prop_oneof![
        4 => 0u16..13,
        3 => 13u16..269,
        2 => 269u16..2_000,
        1 => 2_000u16..=u16::MAX,
    ]
}

/// An option value whose length is from each of the same classes.
fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => vec(any::<u8>(), 0..13),
        2 => vec(any::<u8>(), 13..269),
        1 => vec(any::<u8>(), 269..400),
    ]
}

/// Options in ascending number order (repeats allowed: a delta of 0), stopping before a number
/// would pass 65535.
fn options() -> impl Strategy<Value = Options> {
    vec((delta(), value()), 0..6).prop_map(|pairs| {
        let mut number = 0u16;
        pairs
            .into_iter()
            .map_while(|(delta, value)| {
                number = number.checked_add(delta)?;
                Some((number, value))
            })
            .collect()
    })
}

/// Any message this crate can encode: every type and code, any message ID, a token of 0–8
/// bytes, options as above, a payload or none.
fn message() -> impl Strategy<Value = Message> {
    (
        msg_type(),
        any::<u8>(),
        any::<u16>(),
        vec(any::<u8>(), 0..=8),
        options(),
        vec(any::<u8>(), 0..300),
    )
        .prop_map(|(ty, code, mid, token, options, payload)| Message {
            ty,
            code,
            mid,
            token,
            options,
            payload,
        })
}

/// Parses `bytes`; when they are a message, checks that encoding it gives bytes that parse to the
/// same message (what a server does with a request it then answers or caches).
fn parse_and_reencode(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(m) = Message::parse(bytes) {
        prop_assert_eq!(Message::parse(&m.encode()), Ok(m));
    }
    Ok(())
}

/// Positions in `m.encode()` whose byte the parser interprets rather than copies: the header, each
/// option's header with its extension bytes, and the payload marker. Token bytes, option values
/// and the payload are copied as they are.
fn interpreted_positions(m: &Message) -> Vec<usize> {
    let mut at: Vec<usize> = (0..4).collect();
    let base = 4 + m.token.len();
    for k in 0..m.options.len() {
        let start = base + encode_options_payload(&m.options[..k], &[]).len();
        let end = base + encode_options_payload(&m.options[..=k], &[]).len() - m.options[k].1.len();
        at.extend(start..end);
    }
    if !m.payload.is_empty() {
        at.push(base + encode_options_payload(&m.options, &[]).len());
    }
    at
}

proptest! {
    #![proptest_config(config())]

    /// (a) Every message survives encode → parse unchanged.
    #[test]
    fn every_message_round_trips(m in message()) {
        let bytes = m.encode();
        prop_assert_eq!(Message::parse(&bytes), Ok(m.clone()));
        // The part after the token is what `coap-server-guest.coap-run` passes around.
        let rest = &bytes[4 + m.token.len()..];
        prop_assert_eq!(parse_options_payload(rest), Ok((m.options.clone(), m.payload.clone())));
    }

    /// (b) Arbitrary bytes are a message or an error, never a panic; what parses re-encodes to
    /// itself.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..600)) {
        parse_and_reencode(&bytes)?;
        if let Ok((options, payload)) = parse_options_payload(&bytes) {
            prop_assert_eq!(
                parse_options_payload(&encode_options_payload(&options, &payload)),
                Ok((options, payload))
            );
        }
    }

    /// (b) The same behind a valid header, so that most cases reach the token and options.
    #[test]
    fn arbitrary_bytes_behind_a_valid_header_never_panic(
        first in 0x40u8..=0x7f,
        rest in vec(any::<u8>(), 3..600),
    ) {
        let mut bytes = vec![first];
        bytes.extend_from_slice(&rest);
        parse_and_reencode(&bytes)?;
    }

    /// (c) Every prefix of a generated message, and every value (all 256) of every byte the parser
    /// interprets, parse or are an error, never a panic. Copied bytes (token, option values,
    /// payload) are each replaced by one generated value.
    #[test]
    fn every_prefix_and_every_mutation_parses_or_is_an_error(
        m in message(),
        copied in any::<u8>(),
    ) {
        let bytes = m.encode();
        for n in 0..bytes.len() {
            let cut = Message::parse(&bytes[..n]);
            // A prefix loses something: at least the last byte of the token, an option or the
            // payload; it is never the whole message again.
            prop_assert_ne!(cut.as_ref(), Ok(&m), "prefix of {} bytes", n);
            parse_and_reencode(&bytes[..n])?;
        }
        let interpreted = interpreted_positions(&m);
        for i in 0..bytes.len() {
            let values: Vec<u8> = if interpreted.contains(&i) {
                (0..=255).collect()
            } else {
                vec![copied]
            };
            let mut mutated = bytes.clone();
            for v in values {
                mutated[i] = v;
                parse_and_reencode(&mutated)?;
            }
        }
    }
}

#[test]
fn interpreted_positions_are_the_headers_and_the_marker() {
    // 4 header bytes, a 2-byte token, option 11 "a" (1 header byte), option 300 with a 20-byte
    // value (header byte, two delta bytes, one length byte), the marker, a payload.
    let m = Message {
        token: vec![7, 7],
        options: vec![(11, b"a".to_vec()), (300, vec![0; 20])],
        payload: b"hi".to_vec(),
        ..Default::default()
    };
    let bytes = m.encode();
    assert_eq!(interpreted_positions(&m), [0, 1, 2, 3, 6, 8, 9, 10, 11, 32]);
    assert_eq!(bytes[32], 0xff);
    assert_eq!(
        bytes[8], 0xed,
        "delta 289 (two bytes), length 20 (one byte)"
    );
}

#[test]
fn a_prefix_cut_inside_the_token_or_an_option_is_truncated() {
    let m = Message {
        token: vec![1, 2, 3, 4],
        options: vec![(11, b"path".to_vec())],
        ..Default::default()
    };
    let bytes = m.encode();
    assert_eq!(Message::parse(&bytes[..6]), Err(ParseError::Truncated));
    assert_eq!(
        Message::parse(&bytes[..bytes.len() - 1]),
        Err(ParseError::Truncated)
    );
}
