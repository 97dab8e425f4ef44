//! Observers as a client sees them, over the message layer without security: registration,
//! notifications, their acknowledgement and retransmission, and every way an observer goes.

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::{Handled, Request, Resources, Response, Server, ServerLimits, TEXT_PLAIN};
use crate::message::{Message, MsgType, code, opt};

/// An observable `/feed` of numbered lines (the cursor is the number of the last line seen).
#[derive(Default)]
struct Feed {
    lines: Vec<String>,
}

impl Feed {
    fn since(&self, cursor: u64) -> Option<(Response, u64)> {
        let from = usize::try_from(cursor).ok()?;
        let new = self.lines.get(from..).filter(|l| !l.is_empty())?;
        Some((
            Response::text(code::CONTENT, new.join("\n")),
            self.lines.len() as u64,
        ))
    }
}

impl Resources for Feed {
    fn handle(&mut self, request: Request<'_>) -> Handled {
        if request.path == ["feed"] {
            return Response::text(code::CONTENT, self.lines.join("\n")).into();
        }
        Response::text(code::NOT_FOUND, "no").into()
    }
    fn links(&self) -> Vec<String> {
        Vec::new()
    }
    fn observe(&mut self, request: &Request<'_>) -> Option<(Response, u64)> {
        (request.path == ["feed"]).then(|| {
            let mut r = Response::text(code::CONTENT, self.lines.join("\n"));
            r.content_format = Some(TEXT_PLAIN);
            (r, self.lines.len() as u64)
        })
    }
    fn notification(&mut self, path: &[String], cursor: u64) -> Option<(Response, u64)> {
        if path != ["feed"] {
            return None;
        }
        self.since(cursor)
    }
}

type Srv = Server<&'static str, Feed>;

fn server(limits: ServerLimits) -> Srv {
    Server::new(Feed::default(), limits)
}

fn get(mid: u16, token: &[u8], path: &str, observe: Option<u32>) -> Vec<u8> {
    let mut m = Message {
        ty: MsgType::Con,
        code: code::GET,
        mid,
        token: token.to_vec(),
        ..Default::default()
    };
    if let Some(o) = observe {
        m.add_uint_option(opt::OBSERVE, o);
    }
    m.options.push((opt::URI_PATH, path.as_bytes().to_vec()));
    m.encode()
}

fn empty(ty: MsgType, mid: u16) -> Vec<u8> {
    Message {
        ty,
        mid,
        ..Default::default()
    }
    .encode()
}

fn ask(s: &mut Srv, peer: &'static str, datagram: &[u8], now: u64) -> Option<Message> {
    futures_executor::block_on(s.handle(&peer, datagram, now)).map(|d| Message::parse(&d).unwrap())
}

fn notes(s: &mut Srv, now: u64) -> Vec<(&'static str, Message)> {
    s.notifications(now)
        .into_iter()
        .map(|(p, d)| (p, Message::parse(&d).unwrap()))
        .collect()
}

fn text(m: &Message) -> &str {
    core::str::from_utf8(&m.payload).unwrap()
}

#[test]
fn a_registration_gets_the_state_then_each_change_once_confirmably() {
    let mut s = server(ServerLimits::default());
    s.resources.lines.push("one".to_string());
    let reply = ask(&mut s, "a", &get(1, b"tk", "feed", Some(0)), 0).unwrap();
    assert_eq!(
        (reply.ty, reply.code, text(&reply)),
        (MsgType::Ack, code::CONTENT, "one")
    );
    let first = reply.uint_option(opt::OBSERVE).expect("registered");
    assert_eq!(reply.uint_option(opt::MAX_AGE), Some(60));
    assert_eq!(s.observers(), 1);
    assert!(notes(&mut s, 10).is_empty(), "nothing changed");

    s.resources.lines.push("two".to_string());
    let n = notes(&mut s, 20);
    assert_eq!(n.len(), 1);
    let (peer, m) = &n[0];
    assert_eq!(
        (*peer, m.ty, m.code, m.token.as_slice()),
        ("a", MsgType::Con, code::CONTENT, &b"tk"[..])
    );
    assert_eq!(text(m), "two");
    let second = m.uint_option(opt::OBSERVE).unwrap();
    assert!(second > first);
    // Until it is acknowledged, what changes waits (and is not sent twice).
    s.resources.lines.push("three".to_string());
    s.resources.lines.push("four".to_string());
    assert!(notes(&mut s, 30).is_empty());
    assert!(ask(&mut s, "a", &empty(MsgType::Ack, m.mid), 40).is_none());
    let n = notes(&mut s, 50);
    assert_eq!(text(&n[0].1), "three\nfour");
    assert!(n[0].1.uint_option(opt::OBSERVE).unwrap() > second);
}

#[test]
fn an_unacknowledged_notification_is_retransmitted_then_its_observer_dropped() {
    let limits = ServerLimits::default();
    let mut s = server(limits);
    ask(&mut s, "a", &get(1, b"tk", "feed", Some(0)), 0).unwrap();
    s.resources.lines.push("x".to_string());
    let first = notes(&mut s, 0).remove(0).1;
    let mut now = 0;
    let mut retransmits = 0;
    while let Some(at) = s.notify_deadline() {
        assert!(at > now);
        now = at;
        for (_, m) in notes(&mut s, now) {
            assert_eq!(
                (m.mid, m.payload.as_slice()),
                (first.mid, first.payload.as_slice())
            );
            retransmits += 1;
        }
    }
    assert_eq!(retransmits, limits.notify_retransmits);
    assert_eq!(s.observers(), 0, "a client that vanished is dropped");
    assert_eq!(now, 2_000 + 4_000 + 8_000 + 16_000 + 32_000);
    // Nothing of it is left to send.
    s.resources.lines.push("y".to_string());
    assert!(notes(&mut s, now + 1).is_empty());
}

#[test]
fn a_reset_or_a_deregistration_removes_the_observer() {
    let mut s = server(ServerLimits::default());
    ask(&mut s, "a", &get(1, b"tk", "feed", Some(0)), 0).unwrap();
    s.resources.lines.push("x".to_string());
    let m = notes(&mut s, 0).remove(0).1;
    // A Reset from another peer with that message ID changes nothing.
    ask(&mut s, "b", &empty(MsgType::Rst, m.mid), 1);
    assert_eq!(s.observers(), 1);
    ask(&mut s, "a", &empty(MsgType::Rst, m.mid), 1);
    assert_eq!(s.observers(), 0);

    ask(&mut s, "a", &get(2, b"t2", "feed", Some(0)), 2).unwrap();
    assert_eq!(s.observers(), 1);
    let reply = ask(&mut s, "a", &get(3, b"t2", "feed", Some(1)), 3).unwrap();
    assert_eq!(reply.code, code::CONTENT);
    assert_eq!(reply.uint_option(opt::OBSERVE), None);
    assert_eq!(s.observers(), 0);
}

#[test]
fn observers_are_bounded_and_a_registration_again_replaces() {
    let limits = ServerLimits {
        observers: 2,
        ..ServerLimits::default()
    };
    let mut s = server(limits);
    for (mid, token) in [(1, b"t1"), (2, b"t2")] {
        let r = ask(&mut s, "a", &get(mid, token, "feed", Some(0)), 0).unwrap();
        assert!(r.option(opt::OBSERVE).is_some());
    }
    // The same token again: the same observer.
    let r = ask(&mut s, "a", &get(3, b"t2", "feed", Some(0)), 0).unwrap();
    assert!(r.option(opt::OBSERVE).is_some());
    assert_eq!(s.observers(), 2);
    // A third: answered as a plain GET (RFC 7641 §4.1), nothing kept.
    let r = ask(&mut s, "b", &get(4, b"t3", "feed", Some(0)), 0).unwrap();
    assert_eq!((r.code, r.option(opt::OBSERVE)), (code::CONTENT, None));
    assert_eq!(s.observers(), 2);
}

#[test]
fn what_cannot_be_observed_is_answered_as_a_plain_request() {
    let mut s = server(ServerLimits::default());
    // Not an observable resource.
    let r = ask(&mut s, "a", &get(1, b"t", "other", Some(0)), 0).unwrap();
    assert_eq!((r.code, r.option(opt::OBSERVE)), (code::NOT_FOUND, None));
    // An Observe value that is neither 0 nor 1, or longer than 3 bytes.
    for value in [7, 0xffff_ffff] {
        let r = ask(&mut s, "a", &get(2, b"t", "feed", Some(value)), 0).unwrap();
        assert_eq!((r.code, r.option(opt::OBSERVE)), (code::CONTENT, None));
    }
    let mut raw = Message::parse(&get(3, b"t", "feed", None)).unwrap();
    raw.options.push((opt::OBSERVE, vec![0; 9]));
    let r = ask(&mut s, "a", &raw.encode(), 0).unwrap();
    assert_eq!((r.code, r.option(opt::OBSERVE)), (code::CONTENT, None));
    // Observe on a PUT.
    let mut put = Message::parse(&get(4, b"t", "feed", Some(0))).unwrap();
    put.code = code::PUT;
    ask(&mut s, "a", &put.encode(), 0).unwrap();
    assert_eq!(s.observers(), 0);
}

#[test]
fn a_full_device_gives_the_place_of_a_silent_observer_to_a_new_one() {
    let limits = ServerLimits {
        observers: 1,
        ..ServerLimits::default()
    };
    let mut s = server(limits);
    ask(&mut s, "gone", &get(1, b"t1", "feed", Some(0)), 0).unwrap();
    // Nothing on its way yet: the place is taken.
    let r = ask(&mut s, "new", &get(2, b"t2", "feed", Some(0)), 0).unwrap();
    assert_eq!(r.option(opt::OBSERVE), None);
    s.resources.lines.push("x".to_string());
    assert_eq!(notes(&mut s, 0).len(), 1);
    // Unacknowledged but not retransmitted yet: still taken.
    let r = ask(&mut s, "new", &get(3, b"t2", "feed", Some(0)), 1).unwrap();
    assert_eq!(r.option(opt::OBSERVE), None);
    // Retransmitted once without an answer: the newcomer takes its place.
    assert_eq!(notes(&mut s, 2_000).len(), 1);
    let r = ask(&mut s, "new", &get(4, b"t2", "feed", Some(0)), 2_001).unwrap();
    assert!(r.option(opt::OBSERVE).is_some());
    assert_eq!(s.observers(), 1);
    s.resources.lines.push("y".to_string());
    let n = notes(&mut s, 2_002);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].0, "new");
}
