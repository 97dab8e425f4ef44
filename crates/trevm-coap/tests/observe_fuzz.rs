//! Structure-aware fuzzing of observers (RFC 7641): sequences of *well-formed* messages from
//! several peers — registrations with any Observe value, token and query, deregistrations, ACKs
//! and Resets naming any message ID (the notifications' own among them), other requests — while
//! the observable resource changes and time passes. After every step: at most
//! `ServerLimits::observers` observers, every notification goes to a peer and token that
//! registered, and at most one unacknowledged notification per observer is on its way. In the
//! end, with nobody acknowledging, every observer is dropped and nothing is left to send.
//!
//! Cases: `TREVM_FUZZ_CASES` (default 300), each a sequence of up to 40 steps.

use std::collections::HashSet;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use trevm_coap::message::{code, opt};
use trevm_coap::server::{Handled, Request, Resources, Response};
use trevm_coap::{Message, MsgType, Server, ServerLimits};

fn cases() -> u32 {
    std::env::var("TREVM_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300)
}

/// `/feed`, observable: the number of changes so far.
#[derive(Default)]
struct Feed(u64);

impl Resources for Feed {
    fn handle(&mut self, _: Request<'_>) -> Handled {
        Response::text(code::CONTENT, self.0.to_string()).into()
    }
    fn links(&self) -> Vec<String> {
        Vec::new()
    }
    fn observe(&mut self, request: &Request<'_>) -> Option<(Response, u64)> {
        (request.path == ["feed"])
            .then(|| (Response::text(code::CONTENT, self.0.to_string()), self.0))
    }
    fn notification(&mut self, _: &[String], cursor: u64) -> Option<(Response, u64)> {
        (self.0 > cursor).then(|| (Response::text(code::CONTENT, self.0.to_string()), self.0))
    }
}

#[derive(Debug, Clone)]
enum Step {
    /// A GET from `peer` with this Observe value (raw bytes: any length), token and path.
    Get {
        peer: u8,
        observe: Vec<u8>,
        token: Vec<u8>,
        feed: bool,
        query: Option<String>,
    },
    /// An empty ACK or Reset from `peer` for the message ID of the `n`th datagram sent so far
    /// (or an arbitrary one).
    Answer {
        peer: u8,
        reset: bool,
        nth: Option<usize>,
        mid: u16,
    },
    /// The resource changes.
    Change,
    /// Time passes.
    Wait(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (
            0u8..4,
            prop::collection::vec(any::<u8>(), 0..5),
            prop::collection::vec(any::<u8>(), 0..9),
            any::<bool>(),
            prop::option::of("[a-z=0-9]{0,12}"),
        )
            .prop_map(|(peer, observe, token, feed, query)| Step::Get {
                peer,
                observe,
                token,
                feed,
                query
            }),
        (
            0u8..4,
            any::<bool>(),
            prop::option::of(0usize..40),
            any::<u16>()
        )
            .prop_map(|(peer, reset, nth, mid)| Step::Answer {
                peer,
                reset,
                nth,
                mid
            }),
        Just(Step::Change),
        (0u64..40_000).prop_map(Step::Wait),
    ]
}

fn run(steps: Vec<Step>) -> Result<(), TestCaseError> {
    let limits = ServerLimits {
        observers: 3,
        ..ServerLimits::default()
    };
    let mut server: Server<u8, Feed> = Server::new(Feed::default(), limits);
    let mut now = 0u64;
    let mut mid = 0u16;
    let mut registered: HashSet<(u8, Vec<u8>)> = HashSet::new();
    let mut sent: Vec<Message> = Vec::new();
    for step in steps {
        match step {
            Step::Get {
                peer,
                observe,
                token,
                feed,
                query,
            } => {
                mid = mid.wrapping_add(1);
                let mut m = Message {
                    ty: MsgType::Con,
                    code: code::GET,
                    mid,
                    token: token.clone(),
                    ..Default::default()
                };
                m.options.push((opt::OBSERVE, observe));
                m.options.push((
                    opt::URI_PATH,
                    if feed {
                        b"feed".to_vec()
                    } else {
                        b"x".to_vec()
                    },
                ));
                if let Some(q) = query {
                    m.options.push((opt::URI_QUERY, q.into_bytes()));
                }
                let reply = futures_executor::block_on(server.handle(&peer, &m.encode(), now));
                let reply =
                    Message::parse(&reply.expect("a GET is answered")).expect("well-formed");
                if reply.option(opt::OBSERVE).is_some() {
                    registered.insert((peer, token));
                }
            }
            Step::Answer {
                peer,
                reset,
                nth,
                mid,
            } => {
                let mid = nth.and_then(|i| sent.get(i)).map_or(mid, |m| m.mid);
                let m = Message {
                    ty: if reset { MsgType::Rst } else { MsgType::Ack },
                    mid,
                    ..Default::default()
                };
                let reply = futures_executor::block_on(server.handle(&peer, &m.encode(), now));
                prop_assert!(reply.is_none(), "an ACK or Reset is never answered");
            }
            Step::Change => server.resources.0 += 1,
            Step::Wait(ms) => now += ms,
        }
        let mut outstanding = HashSet::new();
        for (peer, datagram) in server.notifications(now) {
            let m = Message::parse(&datagram).expect("a well-formed notification");
            prop_assert_eq!(m.ty, MsgType::Con);
            prop_assert!(
                registered.contains(&(peer, m.token.clone())),
                "a notification to {} {:?}, which never registered",
                peer,
                m.token
            );
            prop_assert!(outstanding.insert((peer, m.token.clone())), "two at once");
            sent.push(m);
        }
        prop_assert!(server.observers() <= limits.observers);
    }
    // Nobody acknowledges any more: every observer is given up, in bounded time.
    let mut rounds = 0;
    while let Some(at) = server.notify_deadline() {
        now = now.max(at);
        server.notifications(now);
        rounds += 1;
        prop_assert!(rounds <= 64, "retransmissions without end");
    }
    server.resources.0 += 1;
    let left = server.notifications(now);
    // Observers with nothing on their way got one now; they too go unanswered.
    let mut rounds = 0;
    while let Some(at) = server.notify_deadline() {
        now = now.max(at);
        server.notifications(now);
        rounds += 1;
        prop_assert!(rounds <= 64);
    }
    prop_assert!(left.len() <= limits.observers);
    prop_assert_eq!(server.observers(), 0);
    Ok(())
}

#[test]
fn hostile_observers_stay_bounded_and_vanish() {
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&prop::collection::vec(step(), 0..40), run)
        .unwrap();
}
