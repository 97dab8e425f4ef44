//! What registering with an RD costs a device: the registration datagram's size with 0, 1 and
//! 3 capsules, and the heap the registrar holds (counted by the global allocator; one test in
//! this binary, so no other thread allocates meanwhile). `--nocapture` prints the figures
//! docs/coap.md quotes; the asserts are the bounds it promises.

use std::alloc::System;

use cap::Cap;
use trevm_coap::message::{Message, MsgType, code, opt};
use trevm_coap::rd::{Config, Registrar, State, Step, capsule_links};
use trevm_coap::status::CapsuleStatus;

#[global_allocator]
static HEAP: Cap<System> = Cap::new(System, usize::MAX);

fn capsule(slot: &str, name: &str) -> CapsuleStatus {
    CapsuleStatus {
        slot: slot.into(),
        name: name.into(),
        version: Some(20261205064222),
        signer: Some("4476a108a784b434".into()),
        ..Default::default()
    }
}

/// The first datagram of a registration with `links`, and the heap the registrar holds (links
/// included) while that registration is in flight and once registered.
fn register(links: String) -> (usize, usize, usize) {
    let before = HEAP.allocated() - links.capacity();
    let config = Config::new("dev1", 600, "coap://192.0.2.7:5683")
        .with_path("/resourcedirectory/")
        .with_seed(1);
    let mut r = Registrar::new(config, links).unwrap();
    let Step::Send(d) = r.poll(0) else {
        panic!("a registration")
    };
    let size = d.len();
    let in_flight = HEAP.allocated() - before;
    let request = Message::parse(d).unwrap();
    let answer = Message {
        ty: MsgType::Ack,
        code: code::CREATED,
        mid: request.mid,
        token: request.token.clone(),
        options: ["reg", "1", ""]
            .iter()
            .map(|s| (opt::LOCATION_PATH, s.as_bytes().to_vec()))
            .collect(),
        payload: Vec::new(),
    }
    .encode();
    r.receive(&answer, 1);
    drop((request, answer));
    assert!(matches!(r.poll(1), Step::Wait { .. }));
    assert!(matches!(r.state(), State::Registered { .. }));
    let held = HEAP.allocated() - before;
    drop(r);
    (size, in_flight, held)
}

#[test]
fn a_registration_fits_one_datagram_with_three_capsules_and_the_registrar_holds_little() {
    let lists = [
        vec![],
        vec![capsule("sandbox", "hello")],
        vec![
            capsule("sandbox", "hello"),
            capsule("persistent", "coap-persistent"),
            capsule("ephemeral", "fibonacci"),
        ],
    ];
    for list in lists {
        let links = capsule_links(&list);
        let links_len = links.len();
        let (size, in_flight, held) = register(links);
        eprintln!(
            "{} capsule(s): links {links_len} B, registration datagram {size} B, \
             registrar heap {in_flight} B while registering, {held} B registered",
            list.len()
        );
        // No Block1: one datagram, within an IPv6 minimum MTU's payload.
        assert!(size <= 1024, "{size}");
        // Registered: the configuration, the links (room for LINKS_RESERVE bytes at least), the
        // location and the client's state.
        assert!(
            held <= 512 + links_len.max(trevm_coap::rd::LINKS_RESERVE),
            "{held}"
        );
        // Registering: besides, the request's datagram (the links again, with options).
        assert!(in_flight <= held + size + 512, "{in_flight}");
    }
}
