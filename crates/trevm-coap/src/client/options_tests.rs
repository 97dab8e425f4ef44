//! Uri-Query, Content-Format and empty Uri-Path segments out; Location-Path and Content-Format
//! back.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::tests::{answer, client, drive};
use super::{Error, Request};
use crate::message::{Message, MsgType, code, opt};

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|s| String::from(*s)).collect()
}

fn values(m: &Message, number: u16) -> Vec<&[u8]> {
    m.options
        .iter()
        .filter(|(n, _)| *n == number)
        .map(|(_, v)| v.as_slice())
        .collect()
}

#[test]
fn query_content_format_and_an_empty_trailing_segment_are_sent() {
    let mut c = client();
    let request = Request::new(code::POST, &["reg", "1", ""])
        .with_query(strings(&["ep=dev1", "lt=60"]))
        .with_content_format(40)
        .with_payload(b"</a>".to_vec());
    c.start(request, 0).unwrap();
    let mut seen = None;
    let run = drive(&mut c, |d| {
        let m = Message::parse(d).unwrap();
        seen = Some(m.clone());
        vec![answer(&m, code::CHANGED, &[], &[])]
    });
    assert!(run.result.unwrap().is_success());
    let m = seen.unwrap();
    assert_eq!(
        values(&m, opt::URI_PATH),
        [&b"reg"[..], &b"1"[..], &b""[..]]
    );
    assert_eq!(values(&m, opt::URI_QUERY), [&b"ep=dev1"[..], &b"lt=60"[..]]);
    assert_eq!(m.uint_option(opt::CONTENT_FORMAT), Some(40));
    assert_eq!(m.payload, b"</a>");
}

#[test]
fn a_block_wise_upload_carries_query_and_content_format_in_every_block() {
    let mut c = client();
    let request = Request::new(code::POST, &["rd"])
        .with_query(strings(&["ep=x"]))
        .with_content_format(40)
        .with_payload(vec![b'a'; 40])
        .with_block(16);
    c.start(request, 0).unwrap();
    let mut blocks = 0;
    let run = drive(&mut c, |d| {
        let m = Message::parse(d).unwrap();
        blocks += 1;
        assert_eq!(values(&m, opt::URI_QUERY), [&b"ep=x"[..]]);
        assert_eq!(m.uint_option(opt::CONTENT_FORMAT), Some(40));
        let b1 = m.uint_option(opt::BLOCK1).unwrap();
        let more = b1 & 0x8 != 0;
        let reply = if more { code::CONTINUE } else { code::CREATED };
        vec![answer(&m, reply, &[(opt::BLOCK1, b1)], &[])]
    });
    assert_eq!(run.result.unwrap().code, code::CREATED);
    assert_eq!(blocks, 3);
}

#[test]
fn location_path_and_content_format_come_back_with_empty_segments_kept() {
    let mut c = client();
    c.start(Request::new(code::POST, &["rd"]), 0).unwrap();
    let run = drive(&mut c, |d| {
        let m = Message::parse(d).unwrap();
        let mut reply = Message {
            ty: MsgType::Ack,
            code: code::CREATED,
            mid: m.mid,
            token: m.token.clone(),
            options: vec![
                (opt::LOCATION_PATH, b"reg".to_vec()),
                (opt::LOCATION_PATH, b"1".to_vec()),
                (opt::LOCATION_PATH, Vec::new()),
            ],
            ..Default::default()
        };
        reply.add_uint_option(opt::CONTENT_FORMAT, 40);
        vec![reply.encode()]
    });
    let reply = run.result.unwrap();
    assert_eq!(reply.location, strings(&["reg", "1", ""]));
    assert_eq!(reply.content_format, Some(40));
    // Request::new leaves the new fields empty.
    let plain = Request::new(code::GET, &["x"]);
    assert!(plain.query.is_empty() && plain.content_format.is_none());
}

#[test]
fn a_location_path_that_is_not_utf8_is_refused() {
    let mut c = client();
    c.start(Request::new(code::POST, &["rd"]), 0).unwrap();
    let run = drive(&mut c, |d| {
        let m = Message::parse(d).unwrap();
        let reply = Message {
            ty: MsgType::Ack,
            code: code::CREATED,
            mid: m.mid,
            token: m.token.clone(),
            options: vec![(opt::LOCATION_PATH, vec![0xff, 0xfe])],
            ..Default::default()
        };
        vec![reply.encode()]
    });
    assert!(matches!(run.result, Err(Error::Protocol(_))));
}

#[test]
fn sent_gives_the_datagram_again() {
    let mut c = client();
    c.start(Request::new(code::GET, &["x"]), 0).unwrap();
    let first = match c.poll(0) {
        super::Step::Send(d) => d.to_vec(),
        other => panic!("{other:?}"),
    };
    assert_eq!(c.sent(), first);
}
