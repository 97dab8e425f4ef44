//! Observations against a scripted server: notifications in order and acknowledged, and each
//! refusal (unknown token, stale Observe value, garbage, oversized) seen from outside.

use alloc::vec;
use alloc::vec::Vec;

use super::tests::{answer, client};
use super::{Client, MAX_NOTIFICATION, MAX_PENDING, Notification, Request, Step};
use crate::message::{Message, MsgType, code, opt};

/// Registers on `/logs` at time 0 (the answer has Observe 5, Max-Age 60): the registration's
/// token.
fn registered(c: &mut Client) -> Vec<u8> {
    c.observe(Request::new(code::GET, &["logs"]), 0).unwrap();
    let Step::Send(d) = c.poll(0) else {
        panic!("the registration is sent")
    };
    let request = Message::parse(d).unwrap();
    assert_eq!(request.option(opt::OBSERVE), Some(&[][..]), "Observe: 0");
    c.receive(
        &answer(&request, code::CONTENT, &[(opt::OBSERVE, 5)], b"#1 first\n"),
        0,
    );
    let Step::Done(Ok(reply)) = c.poll(0) else {
        panic!("the registration's answer")
    };
    assert_eq!(reply.payload, b"#1 first\n");
    assert!(c.is_observing());
    assert_eq!(c.poll(0), Step::Idle);
    request.token
}

fn notification(ty: MsgType, mid: u16, token: &[u8], observe: u32, payload: &[u8]) -> Vec<u8> {
    let mut m = Message {
        ty,
        code: code::CONTENT,
        mid,
        token: token.to_vec(),
        payload: payload.to_vec(),
        ..Default::default()
    };
    m.add_uint_option(opt::OBSERVE, observe);
    m.add_uint_option(opt::MAX_AGE, 60);
    m.encode()
}

/// What the client sends now (ACK or Reset), parsed.
fn sent(c: &mut Client) -> Option<Message> {
    match c.poll(0) {
        Step::Send(d) => Some(Message::parse(d).unwrap()),
        _ => None,
    }
}

fn payloads(c: &mut Client) -> Vec<Vec<u8>> {
    core::iter::from_fn(|| c.next_notification())
        .map(|n| n.payload)
        .collect()
}

#[test]
fn notifications_are_handed_out_in_order_and_confirmable_ones_acked() {
    let mut c = client();
    let token = registered(&mut c);
    c.receive(&notification(MsgType::Con, 900, &token, 6, b"#2\n"), 1000);
    let ack = sent(&mut c).expect("an ACK");
    assert_eq!(
        (ack.ty, ack.mid, ack.code),
        (MsgType::Ack, 900, code::EMPTY)
    );
    assert!(ack.token.is_empty() && ack.payload.is_empty());
    c.receive(&notification(MsgType::Non, 901, &token, 7, b"#3\n"), 2000);
    assert_eq!(sent(&mut c), None, "a NON is not acknowledged");
    assert_eq!(
        c.next_notification(),
        Some(Notification {
            code: code::CONTENT,
            observe: Some(6),
            max_age: 60,
            content_format: None,
            payload: b"#2\n".to_vec(),
        })
    );
    assert_eq!(payloads(&mut c), [b"#3\n".to_vec()]);
    // Max-Age 60 s after the last one, plus the margin.
    assert_eq!(c.observation_lapses_at(), Some(2000 + 60_000 + 5_000));
    // A retransmission of an acknowledged one (its ACK lost) is acknowledged again, not handed out.
    c.receive(&notification(MsgType::Con, 900, &token, 6, b"#2\n"), 3000);
    assert_eq!(
        sent(&mut c).map(|m| (m.ty, m.mid)),
        Some((MsgType::Ack, 900))
    );
    assert_eq!(c.next_notification(), None);
}

#[test]
fn a_notification_with_an_unknown_token_is_reset() {
    let mut c = client();
    let token = registered(&mut c);
    let other = [token.as_slice(), &[1]].concat();
    c.receive(&notification(MsgType::Con, 77, &other, 6, b"#2\n"), 10);
    let rst = sent(&mut c).expect("a Reset");
    assert_eq!((rst.ty, rst.mid, rst.code), (MsgType::Rst, 77, code::EMPTY));
    assert_eq!(c.next_notification(), None);
    assert!(c.is_observing());
}

#[test]
fn an_older_observe_value_is_acked_and_dropped_unless_128_s_passed() {
    let mut c = client();
    let token = registered(&mut c);
    c.receive(&notification(MsgType::Con, 1, &token, 10, b"ten"), 100);
    assert!(sent(&mut c).is_some());
    // Older (4 < 10): acknowledged, dropped.
    c.receive(&notification(MsgType::Con, 2, &token, 4, b"four"), 200);
    assert_eq!(sent(&mut c).map(|m| (m.ty, m.mid)), Some((MsgType::Ack, 2)));
    // Wrapped around: 2^24 - 1 is older than 10 (more than 2^23 apart the other way).
    c.receive(
        &notification(MsgType::Non, 3, &token, (1 << 24) - 1, b"wrapped"),
        300,
    );
    assert_eq!(payloads(&mut c), [b"ten".to_vec()]);
    // More than 128 s after the freshest one, any value is fresher.
    c.receive(
        &notification(MsgType::Non, 4, &token, 3, b"late"),
        100 + 128_001,
    );
    assert_eq!(payloads(&mut c), [b"late".to_vec()]);
}

#[test]
fn garbage_is_ignored() {
    let mut c = client();
    let token = registered(&mut c);
    for junk in [
        vec![],
        vec![0xff, 0x00],
        // A request with the token, a truncated header, a bad option.
        Message {
            ty: MsgType::Con,
            code: code::GET,
            mid: 5,
            token: token.clone(),
            ..Default::default()
        }
        .encode(),
        vec![0x44, 0x45, 0x00],
        [&notification(MsgType::Con, 6, &token, 6, b"")[..4], &[0xf0]].concat(),
    ] {
        c.receive(&junk, 10);
        assert_eq!(sent(&mut c), None, "{junk:?}");
    }
    assert_eq!(c.next_notification(), None);
    // A well-formed one still goes through.
    c.receive(&notification(MsgType::Non, 7, &token, 6, b"ok"), 20);
    assert_eq!(payloads(&mut c), [b"ok".to_vec()]);
}

#[test]
fn an_oversized_notification_is_dropped_unacknowledged() {
    let mut c = client();
    let token = registered(&mut c);
    let big = vec![b'x'; MAX_NOTIFICATION + 1];
    c.receive(&notification(MsgType::Con, 8, &token, 6, &big), 10);
    assert_eq!(sent(&mut c), None);
    assert_eq!(c.next_notification(), None);
    let fits = vec![b'x'; MAX_NOTIFICATION];
    c.receive(&notification(MsgType::Con, 9, &token, 6, &fits), 10);
    assert!(sent(&mut c).is_some());
    assert_eq!(payloads(&mut c), [fits]);
}

#[test]
fn notifications_beyond_the_pending_bound_wait_for_their_retransmission() {
    let mut c = client();
    let token = registered(&mut c);
    for i in 0..MAX_PENDING as u16 + 1 {
        c.receive(
            &notification(MsgType::Con, 100 + i, &token, 6 + u32::from(i), b"n"),
            10,
        );
        let acked = sent(&mut c).is_some();
        assert_eq!(acked, usize::from(i) < MAX_PENDING, "notification {i}");
    }
    assert_eq!(payloads(&mut c).len(), MAX_PENDING);
    // Now there is room: the retransmission is taken.
    let last = MAX_PENDING as u16;
    c.receive(
        &notification(MsgType::Con, 100 + last, &token, 6 + u32::from(last), b"n"),
        20,
    );
    assert!(sent(&mut c).is_some());
    assert_eq!(payloads(&mut c).len(), 1);
}

#[test]
fn a_final_notification_ends_the_observation_and_a_cancelled_one_is_reset() {
    let mut c = client();
    let token = registered(&mut c);
    let mut gone = Message::parse(&notification(MsgType::Con, 50, &token, 0, b"")).unwrap();
    gone.code = code::NOT_FOUND;
    gone.options.clear();
    c.receive(&gone.encode(), 10);
    assert!(sent(&mut c).is_some());
    assert!(!c.is_observing());
    let last = c.next_notification().unwrap();
    assert_eq!((last.code, last.observe), (code::NOT_FOUND, None));
    assert_eq!(c.observation_lapses_at(), None);

    let token = registered(&mut c);
    c.cancel_observation();
    assert!(!c.is_observing());
    c.receive(&notification(MsgType::Con, 51, &token, 6, b"#2\n"), 10);
    assert_eq!(
        sent(&mut c).map(|m| (m.ty, m.mid)),
        Some((MsgType::Rst, 51))
    );
    assert_eq!(c.next_notification(), None);
}

#[test]
fn an_answer_without_observe_establishes_nothing() {
    let mut c = client();
    c.observe(Request::new(code::GET, &["logs"]), 0).unwrap();
    let Step::Send(d) = c.poll(0) else { panic!() };
    let request = Message::parse(d).unwrap();
    c.receive(&answer(&request, code::CONTENT, &[], b"lines"), 0);
    assert!(matches!(c.poll(0), Step::Done(Ok(_))));
    assert!(!c.is_observing());
    // Later "notifications" with its token are strays: reset.
    c.receive(&notification(MsgType::Non, 3, &request.token, 6, b"x"), 5);
    assert_eq!(sent(&mut c).map(|m| m.ty), Some(MsgType::Rst));
}

#[test]
fn registering_again_uses_the_observation_s_token_and_after_cancelling_a_new_one() {
    let mut c = client();
    let first = registered(&mut c);
    let again = registered(&mut c);
    assert_eq!(
        again, first,
        "the server updates its entry instead of adding one"
    );
    c.cancel_observation();
    let fresh = registered(&mut c);
    assert_ne!(fresh, first);
}
