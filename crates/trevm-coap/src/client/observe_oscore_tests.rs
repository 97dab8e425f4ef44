//! An observation over OSCORE against a server side made of liboscore directly (the same
//! master secret, roles swapped): notifications protected with the server's own Partial IV
//! are unprotected with the registration's correlation; a replayed one is acknowledged and
//! dropped, a forged one dropped, neither ends the observation.

use alloc::vec;
use alloc::vec::Vec;

use coap_message::MinimalWritableMessage as _;
use coap_message_implementations::inmemory_write;

use super::oscore::{OPT_OSCORE, Session};
use super::tests::client;
use super::{Client, Request, Step};
use crate::message::{Message, MsgType, code, encode_options_payload, opt, parse_options_payload};

fn context(sender: &[u8], recipient: &[u8]) -> liboscore::PrimitiveContext {
    let immutables = liboscore::PrimitiveImmutables::derive(
        liboscore::HkdfAlg::from_number(5).unwrap(),
        &[7; 16],
        &[9; 8],
        None,
        liboscore::AeadAlg::from_number(10).unwrap(),
        sender,
        recipient,
    )
    .unwrap();
    liboscore::PrimitiveContext::new_from_fresh_material(immutables)
}

/// The server's side: its context and the registration's request ID.
struct Server {
    ctx: liboscore::PrimitiveContext,
    request: liboscore::raw::oscore_requestid_t,
    token: Vec<u8>,
    mid: u16,
}

impl Server {
    /// Takes the protected registration `outer`.
    fn take(outer: &Message) -> Server {
        let mut ctx = context(&[2], &[1]);
        let option = liboscore::OscoreOption::parse(outer.option(OPT_OSCORE).unwrap()).unwrap();
        let mut outer_code = outer.code;
        let mut tail = encode_options_payload(&outer.options, &outer.payload);
        let mut msg = inmemory_write::Message::new_from_existing(&mut outer_code, &mut tail);
        let (request, inner) =
            liboscore::unprotect_request(&mut msg, option, &mut ctx, crate::secure::copy_message)
                .unwrap();
        assert_eq!(inner.code, code::GET);
        assert!(inner.option(opt::OBSERVE).is_some(), "Observe inside too");
        Server {
            ctx,
            request,
            token: outer.token.clone(),
            mid: 500,
        }
    }

    /// A protected 2.05 with Observe `observe` and `body`, as type `ty`.
    fn notification(&mut self, ty: MsgType, observe: u32, body: &[u8]) -> Message {
        let mut buf = vec![0u8; 512];
        let mut outer_code = 0u8;
        let mut msg = inmemory_write::Message::new(&mut outer_code, &mut buf);
        liboscore::protect_response(&mut msg, &mut self.ctx, &mut self.request, |m| {
            m.set_code(code::CONTENT);
            let v = observe.to_be_bytes();
            let skip = v.iter().take_while(|b| **b == 0).count();
            m.add_option(opt::OBSERVE, &v[skip..]).unwrap();
            m.set_payload(body).unwrap();
        })
        .unwrap();
        let len = msg.finish();
        let (options, payload) = parse_options_payload(&buf[..len]).unwrap();
        self.mid += 1;
        Message {
            ty,
            code: outer_code,
            mid: self.mid,
            token: self.token.clone(),
            options,
            payload,
        }
    }
}

fn acked(c: &mut Client, mid: u16) -> bool {
    match c.poll(0) {
        Step::Send(d) => {
            let m = Message::parse(d).unwrap();
            m.ty == MsgType::Ack && m.mid == mid
        }
        _ => false,
    }
}

#[test]
fn protected_notifications_are_taken_and_replays_dropped() {
    let mut c = client();
    c.set_session(Some(Session::new(context(&[1], &[2]), None)));
    c.observe(Request::new(code::GET, &["logs"]), 0).unwrap();
    let Step::Send(d) = c.poll(0) else { panic!() };
    let registration = Message::parse(d).unwrap();
    let mut server = Server::take(&registration);
    let mut answer = server.notification(MsgType::Ack, 1, b"#1 first\n");
    answer.mid = registration.mid;
    c.receive(&answer.encode(), 0);
    let Step::Done(Ok(reply)) = c.poll(0) else {
        panic!("the registration's answer")
    };
    assert_eq!(reply.payload, b"#1 first\n");
    assert!(c.is_observing());

    let second = server.notification(MsgType::Con, 2, b"#2 second\n");
    assert!(
        second.option(OPT_OSCORE).unwrap().len() > 1,
        "its own Partial IV"
    );
    c.receive(&second.encode(), 10);
    assert!(acked(&mut c, second.mid));
    assert_eq!(c.next_notification().unwrap().payload, b"#2 second\n");

    // The same notification again (a replay, or a retransmission): acknowledged, dropped.
    c.receive(&second.encode(), 20);
    assert!(acked(&mut c, second.mid));
    assert_eq!(c.next_notification(), None);
    // A replay under a new message ID and a fresher outer Observe value: still its old Partial IV.
    let mut replay = second.clone();
    replay.mid = 999;
    replay.options.retain(|(n, _)| *n != opt::OBSERVE);
    replay.options.insert(0, (opt::OBSERVE, vec![50]));
    c.receive(&replay.encode(), 30);
    assert!(acked(&mut c, 999));
    assert_eq!(c.next_notification(), None);

    // A forged one (its ciphertext flipped) is not taken, not acknowledged.
    let mut forged = server.notification(MsgType::Con, 3, b"#3 third\n");
    let last = forged.payload.len() - 1;
    forged.payload[last] ^= 1;
    c.receive(&forged.encode(), 40);
    assert!(!acked(&mut c, forged.mid));
    assert_eq!(c.next_notification(), None);
    assert!(c.is_observing());

    let fourth = server.notification(MsgType::Non, 4, b"#4 fourth\n");
    c.receive(&fourth.encode(), 50);
    assert_eq!(c.next_notification().unwrap().payload, b"#4 fourth\n");
}
