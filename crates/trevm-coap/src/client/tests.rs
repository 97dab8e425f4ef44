//! The client against scripted servers: retransmission, blocks, strays, refusals.

use alloc::vec;
use alloc::vec::Vec;

use super::{Client, Error, Limits, Reply, Request, Step, Timing};
use crate::block::BlockOpt;
use crate::message::{Message, MsgType, code, opt};

/// What a scripted run saw: the datagrams sent (with the time), the progress reported, and the end.
pub(super) struct Run {
    pub(super) sent: Vec<(u64, Vec<u8>)>,
    pub(super) progress: Vec<(usize, usize)>,
    pub(super) result: Result<Reply, Error>,
}

/// Drives `client` to the end: `server` answers each datagram it is sent (or not: lost), at a
/// clock that jumps to each deadline.
pub(super) fn drive(client: &mut Client, mut server: impl FnMut(&[u8]) -> Vec<Vec<u8>>) -> Run {
    let mut now = 0;
    let mut run = Run {
        sent: Vec::new(),
        progress: Vec::new(),
        result: Err(Error::Idle),
    };
    let mut inbox: Vec<Vec<u8>> = Vec::new();
    loop {
        match client.poll(now) {
            Step::Send(d) => {
                run.sent.push((now, d.to_vec()));
                let d = d.to_vec();
                inbox.extend(server(&d));
            }
            Step::Progress { done, total } => run.progress.push((done, total)),
            Step::Wait { until_ms } => {
                if inbox.is_empty() {
                    now = until_ms;
                } else {
                    for reply in inbox.drain(..) {
                        client.receive(&reply, now);
                    }
                }
            }
            Step::Done(result) => {
                run.result = result;
                return run;
            }
            Step::Idle => panic!("idle"),
        }
    }
}

pub(super) fn client() -> Client {
    Client::new(100, Timing::default(), Limits::default())
}

/// The piggybacked answer to `request` with `code`, `options` and `payload`.
pub(super) fn answer(
    request: &Message,
    code: u8,
    options: &[(u16, u32)],
    payload: &[u8],
) -> Vec<u8> {
    let mut m = Message {
        ty: MsgType::Ack,
        code,
        mid: request.mid,
        token: request.token.clone(),
        payload: payload.to_vec(),
        ..Default::default()
    };
    for (n, v) in options {
        m.add_uint_option(*n, *v);
    }
    m.encode()
}

fn block1(m: &Message) -> BlockOpt {
    BlockOpt::from_uint(m.uint_option(opt::BLOCK1).expect("Block1")).expect("valid")
}

/// A server taking uploads, answering 2.31 (asking for blocks of `2^(szx+4)` bytes at most)
/// then 2.04.
fn uploads(szx: u8, body: &mut Vec<u8>) -> impl FnMut(&[u8]) -> Vec<Vec<u8>> + '_ {
    move |d| {
        let m = Message::parse(d).unwrap();
        let b = block1(&m);
        assert_eq!(body.len(), b.offset(), "blocks in sequence");
        body.extend_from_slice(&m.payload);
        let reply = if b.more {
            code::CONTINUE
        } else {
            code::CHANGED
        };
        let ours = BlockOpt {
            szx: b.szx.min(szx),
            ..b
        };
        vec![answer(&m, reply, &[(opt::BLOCK1, ours.to_uint())], &[])]
    }
}

#[test]
fn an_upload_goes_block_by_block_with_size1_first_and_progress() {
    let payload: Vec<u8> = (0..2500u32).map(|i| i as u8).collect();
    let mut c = client();
    c.start(
        Request::new(code::PUT, &["sandbox", "x"]).with_payload(payload.clone()),
        0,
    )
    .unwrap();
    let mut got = Vec::new();
    let run = drive(&mut c, uploads(6, &mut got));
    assert_eq!(run.result.unwrap().code, code::CHANGED);
    assert_eq!(got, payload);
    let sent: Vec<Message> = run
        .sent
        .iter()
        .map(|(_, d)| Message::parse(d).unwrap())
        .collect();
    let blocks: Vec<(u32, bool)> = sent
        .iter()
        .map(|m| (block1(m).num, block1(m).more))
        .collect();
    assert_eq!(blocks, [(0, true), (1, true), (2, false)]);
    assert_eq!(sent[0].uint_option(opt::SIZE1), Some(2500));
    assert!(sent[1..].iter().all(|m| m.option(opt::SIZE1).is_none()));
    assert_eq!(sent[0].path(), Some(vec!["sandbox", "x"]));
    assert_eq!(run.progress, [(1024, 2500), (2048, 2500), (2500, 2500)]);
    // Each block is its own message with its own ID and token.
    assert!(
        sent.windows(2)
            .all(|w| w[0].mid != w[1].mid && w[0].token != w[1].token)
    );
}

#[test]
fn the_server_s_smaller_block_size_is_honoured() {
    let payload = vec![7u8; 1500];
    let mut c = client();
    c.start(
        Request::new(code::PUT, &["x"]).with_payload(payload.clone()),
        0,
    )
    .unwrap();
    let mut got = Vec::new();
    let run = drive(&mut c, uploads(4, &mut got));
    assert_eq!(run.result.unwrap().code, code::CHANGED);
    assert_eq!(got, payload);
    let blocks: Vec<(u32, usize)> = run
        .sent
        .iter()
        .map(|(_, d)| Message::parse(d).unwrap())
        .map(|m| (block1(&m).num, m.payload.len()))
        .collect();
    // The first 1024-byte block, then 256-byte blocks from there (RFC 7959 §2.3: numbered in
    // the new size).
    assert_eq!(blocks, [(0, 1024), (4, 256), (5, 220)]);
}

#[test]
fn a_lost_ack_is_made_good_by_resending_the_same_bytes() {
    let mut c = client();
    c.start(
        Request::new(code::PUT, &["x"]).with_payload(vec![1; 2048]),
        0,
    )
    .unwrap();
    let mut seen = 0;
    let run = drive(&mut c, |d| {
        seen += 1;
        let m = Message::parse(d).unwrap();
        let b = block1(&m);
        // The answer to the first block is lost once.
        if seen == 1 {
            return Vec::new();
        }
        let reply = if b.more {
            code::CONTINUE
        } else {
            code::CHANGED
        };
        vec![answer(&m, reply, &[(opt::BLOCK1, b.to_uint())], &[])]
    });
    assert_eq!(run.result.unwrap().code, code::CHANGED);
    let times: Vec<u64> = run.sent.iter().map(|(t, _)| *t).collect();
    assert_eq!(times, [0, 2000, 2000]);
    assert_eq!(
        run.sent[0].1, run.sent[1].1,
        "a retransmission is the same datagram"
    );
    assert_eq!(run.progress, [(1024, 2048), (2048, 2048)]);
}

#[test]
fn a_server_that_never_answers_is_given_up_after_five_tries() {
    let mut c = client();
    c.start(Request::new(code::GET, &["x"]), 0).unwrap();
    let run = drive(&mut c, |_| Vec::new());
    assert_eq!(run.result, Err(Error::NoAnswer { tries: 5 }));
    let times: Vec<u64> = run.sent.iter().map(|(t, _)| *t).collect();
    assert_eq!(times, [0, 2000, 6000, 14000, 30000]);
    // Idle again: another request may start.
    assert!(c.start(Request::new(code::GET, &["x"]), 0).is_ok());
}

#[test]
fn strays_and_garbage_are_ignored() {
    let mut c = client();
    c.start(Request::new(code::GET, &["x"]), 0).unwrap();
    let run = drive(&mut c, |d| {
        let m = Message::parse(d).unwrap();
        let mut stray = Message::parse(&answer(&m, code::NOT_FOUND, &[], b"stray")).unwrap();
        stray.mid = m.mid.wrapping_sub(1);
        stray.token = vec![0xee];
        vec![
            stray.encode(),
            vec![0xff, 0x00],
            answer(&m, code::CONTENT, &[], b"mine"),
        ]
    });
    assert_eq!(run.result.unwrap().payload, b"mine");
    assert_eq!(run.sent.len(), 1);
}

#[test]
fn a_reset_ends_the_request() {
    let mut c = client();
    c.start(Request::new(code::GET, &["x"]), 0).unwrap();
    let run = drive(&mut c, |d| {
        let m = Message::parse(d).unwrap();
        let rst = Message {
            ty: MsgType::Rst,
            mid: m.mid,
            ..Default::default()
        };
        vec![rst.encode()]
    });
    assert_eq!(run.result, Err(Error::Reset));
}

#[test]
fn a_4_13_with_size1_ends_the_upload_and_says_how_much_fits() {
    let mut c = client();
    c.start(
        Request::new(code::PUT, &["x"]).with_payload(vec![0; 5000]),
        0,
    )
    .unwrap();
    let run = drive(&mut c, |d| {
        let m = Message::parse(d).unwrap();
        vec![answer(
            &m,
            code::REQUEST_ENTITY_TOO_LARGE,
            &[(opt::SIZE1, 4096)],
            b"too big",
        )]
    });
    let reply = run.result.unwrap();
    assert_eq!(
        (reply.code, reply.size1),
        (code::REQUEST_ENTITY_TOO_LARGE, Some(4096))
    );
    assert_eq!(reply.describe(), "4.13 Request Entity Too Large: too big");
    assert_eq!(run.sent.len(), 1, "no block after the refusal");
}

#[test]
fn a_4_13_asking_for_smaller_blocks_starts_again_with_them() {
    let payload: Vec<u8> = (0..2000u32).map(|i| i as u8).collect();
    let mut c = client();
    c.start(
        Request::new(code::PUT, &["x"]).with_payload(payload.clone()),
        0,
    )
    .unwrap();
    let mut got = Vec::new();
    let mut uploads = uploads(6, &mut got);
    let run = drive(&mut c, |d| {
        let m = Message::parse(d).unwrap();
        if block1(&m).szx > 5 {
            let smaller = BlockOpt {
                num: 0,
                more: false,
                szx: 5,
            };
            let block1 = (opt::BLOCK1, smaller.to_uint());
            return vec![answer(&m, code::REQUEST_ENTITY_TOO_LARGE, &[block1], &[])];
        }
        uploads(d)
    });
    assert_eq!(run.result.unwrap().code, code::CHANGED);
    let sizes: Vec<usize> = run
        .sent
        .iter()
        .map(|(_, d)| Message::parse(d).unwrap().payload.len())
        .collect();
    assert_eq!(sizes, [1024, 512, 512, 512, 464]);
    assert_eq!(
        run.progress,
        [(512, 2000), (1024, 2000), (1536, 2000), (2000, 2000)]
    );
    drop(uploads);
    assert_eq!(got, payload);
}

/// A server with a body of `len` bytes, served in blocks of `2^(szx+4)`.
fn downloads(len: usize, szx: u8) -> impl FnMut(&[u8]) -> Vec<Vec<u8>> {
    let body: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
    move |d| {
        let m = Message::parse(d).unwrap();
        let num = m
            .uint_option(opt::BLOCK2)
            .and_then(BlockOpt::from_uint)
            .map_or(0, |b| b.num);
        let b = BlockOpt {
            num,
            more: false,
            szx,
        };
        let end = (b.offset() + b.size()).min(body.len());
        let b = BlockOpt {
            more: end < body.len(),
            ..b
        };
        vec![answer(
            &m,
            code::CONTENT,
            &[(opt::BLOCK2, b.to_uint())],
            &body[b.offset()..end],
        )]
    }
}

#[test]
fn a_long_response_is_fetched_block_by_block() {
    let mut c = client();
    c.start(Request::new(code::GET, &["status"]), 0).unwrap();
    let run = drive(&mut c, downloads(700, 4));
    let reply = run.result.unwrap();
    assert_eq!(
        reply.payload,
        (0..700).map(|i| (i * 7) as u8).collect::<Vec<_>>()
    );
    let asked: Vec<Option<u32>> = run
        .sent
        .iter()
        .map(|(_, d)| {
            Message::parse(d)
                .unwrap()
                .uint_option(opt::BLOCK2)
                .map(|v| v >> 4)
        })
        .collect();
    assert_eq!(asked, [None, Some(1), Some(2)]);
}

#[test]
fn a_response_longer_than_the_limit_is_refused() {
    let mut c = Client::new(1, Timing::default(), Limits { max_body: 500 });
    c.start(Request::new(code::GET, &["status"]), 0).unwrap();
    let run = drive(&mut c, downloads(700, 4));
    assert_eq!(run.result, Err(Error::TooLarge));
}

#[test]
fn a_block2_block_out_of_order_is_refused() {
    let mut c = client();
    c.start(Request::new(code::GET, &["status"]), 0).unwrap();
    let run = drive(&mut c, |d| {
        let m = Message::parse(d).unwrap();
        let b = BlockOpt {
            num: 3,
            more: true,
            szx: 4,
        };
        vec![answer(
            &m,
            code::CONTENT,
            &[(opt::BLOCK2, b.to_uint())],
            &[0; 256],
        )]
    });
    assert!(matches!(run.result, Err(Error::Protocol(_))));
}

#[test]
fn one_request_at_a_time() {
    let mut c = client();
    c.start(Request::new(code::GET, &["x"]), 0).unwrap();
    assert_eq!(
        c.start(Request::new(code::GET, &["y"]), 0),
        Err(Error::Busy)
    );
}
