//! The client against scripted servers (retransmission, blocks, strays, refusals) and, with
//! `oscore`, against this crate's own [`Server`](crate::Server) with [`Security`](crate::Security).

use alloc::vec;
use alloc::vec::Vec;

use super::{Client, Error, Limits, Reply, Request, Step, Timing};
use crate::block::BlockOpt;
use crate::message::{Message, MsgType, code, opt};

/// What a scripted run saw: the datagrams sent (with the time), the progress reported, and the end.
struct Run {
    sent: Vec<(u64, Vec<u8>)>,
    progress: Vec<(usize, usize)>,
    result: Result<Reply, Error>,
}

/// Drives `client` to the end: `server` answers each datagram it is sent (or not: lost), at a
/// clock that jumps to each deadline.
fn drive(client: &mut Client, mut server: impl FnMut(&[u8]) -> Vec<Vec<u8>>) -> Run {
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

fn client() -> Client {
    Client::new(100, Timing::default(), Limits::default())
}

/// The piggybacked answer to `request` with `code`, `options` and `payload`.
fn answer(request: &Message, code: u8, options: &[(u16, u32)], payload: &[u8]) -> Vec<u8> {
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

#[cfg(feature = "oscore")]
mod oscore {
    use alloc::boxed::Box;
    use alloc::string::String;

    use super::*;
    use crate::client::{Credentials, OscoreError, PeerCred};
    use crate::secure::{Identity, Peer, Policy, Scope};
    use crate::server::{Handled, Request as Incoming, Resources, Response};
    use crate::{Security, Server, ServerLimits};

    /// Counts the requests that reach it; answers "hi", or the payload's length to a PUT.
    struct Counter(u32);

    impl Resources for Counter {
        fn handle(&mut self, request: Incoming<'_>) -> Handled {
            self.0 += 1;
            if request.code == code::PUT {
                let n = alloc::format!("{}", request.payload.len());
                return Response::text(code::CHANGED, &n).into();
            }
            Response::text(code::CONTENT, "hi").into()
        }
        fn links(&self) -> Vec<String> {
            Vec::new()
        }
    }

    fn rng() -> rand_core::UnwrapErr<rand_core::OsRng> {
        rand_core::UnwrapErr(rand_core::OsRng)
    }

    /// A device that knows the returned client credentials.
    fn device() -> (Server<&'static str, Counter>, Credentials) {
        let client = Identity::generate(&mut rng());
        let stored = client.to_bytes();
        let mut private_key = [0u8; 32];
        private_key.copy_from_slice(&stored[33..65]);
        let policy = Policy {
            unauthenticated: None,
            peers: vec![Peer {
                ccs: client.ccs(),
                scope: Scope::AllowAll,
            }],
        };
        let identity = Identity::generate(&mut rng());
        let device_ccs = identity.ccs();
        let security = Security::new(identity, &policy, Box::new(rng())).expect("security");
        let server = Server::new(Counter(0), ServerLimits::default()).with_security(security);
        let creds = Credentials {
            own_cred: client.ccs(),
            own_by_value: false,
            private_key,
            peer: PeerCred::Pinned(device_ccs),
        };
        (server, creds)
    }

    fn over<'a>(
        server: &'a mut Server<&'static str, Counter>,
    ) -> impl FnMut(&[u8]) -> Vec<Vec<u8>> + 'a {
        |d| {
            futures_executor::block_on(server.handle(&"client", d, 0))
                .into_iter()
                .collect()
        }
    }

    #[test]
    fn edhoc_then_protected_requests_and_uploads_against_the_device() {
        let (mut server, creds) = device();
        let mut c = client();
        c.connect(&creds, [5; 32], 0).unwrap();
        let run = drive(&mut c, over(&mut server));
        assert_eq!(run.result.unwrap().code, code::CHANGED);
        assert!(c.is_secured());
        // The first request carries message 3 (EDHOC option), the outer code is not the GET.
        c.start(Request::new(code::GET, &["x"]), 0).unwrap();
        let run = drive(&mut c, over(&mut server));
        let first = Message::parse(&run.sent[0].1).unwrap();
        assert!(first.option(crate::client::oscore::OPT_EDHOC).is_some());
        assert_ne!(first.code, code::GET);
        assert!(
            first.path().unwrap().is_empty(),
            "Uri-Path is inside OSCORE"
        );
        let reply = run.result.unwrap();
        assert_eq!(
            (reply.code, reply.payload.as_slice()),
            (code::CONTENT, &b"hi"[..])
        );
        // An upload in blocks, each protected; at most 512 bytes each inside OSCORE.
        c.start(
            Request::new(code::PUT, &["x"]).with_payload(vec![3; 1300]),
            0,
        )
        .unwrap();
        let run = drive(&mut c, over(&mut server));
        let reply = run.result.unwrap();
        assert_eq!(
            (reply.code, reply.payload.as_slice()),
            (code::CHANGED, &b"1300"[..])
        );
        assert_eq!(run.progress, [(512, 1300), (1024, 1300), (1300, 1300)]);
        assert!(
            run.sent
                .iter()
                .all(|(_, d)| Message::parse(d).unwrap().option(opt::BLOCK1).is_none())
        );
        assert_eq!(server.resources.0, 2);
    }

    #[test]
    fn a_replayed_protected_request_is_refused_and_not_run_again() {
        let (mut server, creds) = device();
        let mut c = client();
        c.connect(&creds, [6; 32], 0).unwrap();
        drive(&mut c, over(&mut server)).result.unwrap();
        c.start(Request::new(code::GET, &["x"]), 0).unwrap();
        let run = drive(&mut c, over(&mut server));
        assert_eq!(run.result.unwrap().payload, b"hi");
        assert_eq!(server.resources.0, 1);
        // The same protected request again, under a new message ID (so it is not a mere
        // retransmission): OSCORE's replay window refuses it.
        let mut replay = Message::parse(&run.sent[0].1).unwrap();
        replay.mid = replay.mid.wrapping_add(1000);
        let answer = futures_executor::block_on(server.handle(&"client", &replay.encode(), 0))
            .expect("an answer");
        assert!(Message::parse(&answer).unwrap().code >= 0x80);
        assert_eq!(server.resources.0, 1, "the replay reached the resources");
        // A fresh request still works.
        c.start(Request::new(code::GET, &["x"]), 0).unwrap();
        assert_eq!(
            drive(&mut c, over(&mut server)).result.unwrap().payload,
            b"hi"
        );
        assert_eq!(server.resources.0, 2);
    }

    #[test]
    fn a_device_with_another_identity_is_refused() {
        let (mut server, mut creds) = device();
        creds.peer = PeerCred::Pinned(Identity::generate(&mut rng()).ccs());
        let mut c = client();
        c.connect(&creds, [7; 32], 0).unwrap();
        let run = drive(&mut c, over(&mut server));
        assert!(matches!(
            run.result,
            Err(Error::Oscore(OscoreError::UnexpectedCredential {
                by_value: Some(_),
                ..
            }))
        ));
        assert!(!c.is_secured());
    }

    #[test]
    fn an_unknown_client_s_message_3_is_refused() {
        let (mut server, mut creds) = device();
        let stranger = Identity::generate(&mut rng());
        creds
            .private_key
            .copy_from_slice(&stranger.to_bytes()[33..65]);
        creds.own_cred = stranger.ccs();
        let mut c = client();
        c.connect(&creds, [8; 32], 0).unwrap();
        drive(&mut c, over(&mut server)).result.unwrap();
        c.start(Request::new(code::GET, &["x"]), 0).unwrap();
        let run = drive(&mut c, over(&mut server));
        assert!(
            matches!(
                run.result,
                Err(Error::Oscore(OscoreError::Message3Refused { .. }))
            ),
            "{:?}",
            run.result
        );
        assert_eq!(server.resources.0, 0);
    }
}
