//! The client with EDHOC + OSCORE against this crate's own [`Server`](crate::Server) with
//! [`Security`](crate::Security).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::tests::{client, drive};
use crate::client::{Credentials, Error, OscoreError, PeerCred, Request};
use crate::message::{Message, code, opt};
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
fn device() -> (
    Server<&'static str, Counter, Security<&'static str>>,
    Credentials,
) {
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
    server: &'a mut Server<&'static str, Counter, Security<&'static str>>,
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
