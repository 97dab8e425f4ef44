//! Block1 uploads bounded by memory ([`ServerLimits::upload_bytes`]), as a client sees it: 4.13
//! with the largest body that could fit as Size1, 5.03 with Max-Age while other peers' uploads
//! hold the budget (never dropping them), a vanished peer's bytes back after the idle time, and
//! the whole body handed over aligned and owned.

use trevm_coap::message::{code, opt};
use trevm_coap::server::{
    BODY_ALIGN, Handled, Payload, Received, Request, Resources, Response, UPLOAD_IDLE_MS,
};
use trevm_coap::{BlockOpt, Message, Server, ServerLimits};

type Peer = &'static str;

/// `PUT /up/<x>` says how many bytes it got, and whether they came reassembled and aligned.
struct Up;

impl Resources for Up {
    fn handle(&mut self, request: Request<'_>) -> Handled {
        let how = match &request.payload {
            Payload::Reassembled(b) if (b.as_ptr() as usize).is_multiple_of(BODY_ALIGN) => {
                "reassembled, aligned"
            }
            Payload::Reassembled(_) => "reassembled, MISALIGNED",
            Payload::Borrowed(_) => "one datagram",
        };
        Response::text(
            code::CHANGED,
            format!("got {} bytes ({how})", request.payload.len()),
        )
        .into()
    }
    fn links(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Bytes an upload of `len` bytes holds: the body and the padding that aligns it.
const fn footprint(len: usize) -> usize {
    len + BODY_ALIGN - 1
}

fn server(upload_bytes: usize) -> Server<Peer, Up> {
    Server::new(
        Up,
        ServerLimits {
            upload_bytes,
            uploads: 8,
            uploads_per_peer: 2,
            ..Default::default()
        },
    )
}

/// Block `num` (16-byte blocks) of a PUT to `/up/<name>`, `len` bytes, `Size1` if given.
fn block(mid: u16, name: &str, num: u32, more: bool, len: usize, size1: Option<u32>) -> Vec<u8> {
    let mut m = Message::request(code::PUT, mid, &["up", name]);
    m.add_uint_option(opt::BLOCK1, BlockOpt { num, more, szx: 0 }.to_uint());
    if let Some(s) = size1 {
        m.add_uint_option(opt::SIZE1, s);
    }
    m.payload = vec![b'x'; len];
    m.encode()
}

fn reply(r: Received) -> Message {
    match r {
        Received::Reply(bytes) => Message::parse(&bytes).expect("a well-formed reply"),
        other => panic!("expected a reply, got {other:?}"),
    }
}

fn text(m: &Message) -> String {
    String::from_utf8_lossy(&m.payload).into_owned()
}

fn continues(m: Message) {
    assert_eq!(m.code, code::CONTINUE, "{}", text(&m));
}

fn busy(m: Message) {
    assert_eq!(
        (m.code, m.uint_option(opt::MAX_AGE)),
        (code::SERVICE_UNAVAILABLE, Some(1)),
        "{}",
        text(&m)
    );
}

fn too_large(m: Message, fits: u32) {
    assert_eq!(
        (m.code, m.uint_option(opt::SIZE1)),
        (code::REQUEST_ENTITY_TOO_LARGE, Some(fits)),
        "{}",
        text(&m)
    );
}

/// Sends blocks 1.. of a 48-byte upload whose block 0 went already; the final answer.
fn finish(s: &mut Server<Peer, Up>, peer: Peer, name: &str, mid: u16, now: u64) -> Message {
    continues(reply(s.receive(
        &peer,
        &block(mid, name, 1, true, 16, None),
        now,
    )));
    reply(s.receive(&peer, &block(mid + 1, name, 2, false, 16, None), now))
}

#[test]
fn a_body_that_could_never_fit_gets_4_13_with_the_largest_that_could() {
    let mut s = server(footprint(1000));
    // Announced too big: refused at the first block, Size1 saying what fits.
    too_large(
        reply(s.receive(&"a", &block(1, "x", 0, true, 16, Some(1001)), 0)),
        1000,
    );
    assert_eq!(s.uploads_in_progress(), (0, 0));
    // Not announced, growing past it: refused at the block that would, and forgotten.
    for num in 0..62 {
        continues(reply(s.receive(
            &"a",
            &block(2 + num as u16, "y", num, true, 16, None),
            0,
        )));
    }
    assert_eq!(s.uploads_in_progress(), (1, footprint(62 * 16)));
    too_large(
        reply(s.receive(&"a", &block(70, "y", 62, true, 16, None), 0)),
        1000,
    );
    assert_eq!(s.uploads_in_progress(), (0, 0), "its bytes are back");
    // Exactly what fits is taken.
    continues(reply(s.receive(
        &"a",
        &block(80, "z", 0, true, 16, Some(1000)),
        0,
    )));
    assert_eq!(
        s.uploads_in_progress(),
        (1, footprint(1000)),
        "reserved at once, exactly"
    );
}

#[test]
fn one_peers_new_upload_over_the_budget_replaces_its_own_older_one() {
    let mut s = server(footprint(48) + footprint(32));
    continues(reply(s.receive(
        &"a",
        &block(1, "x", 0, true, 16, Some(48)),
        0,
    )));
    // a's second upload does not fit next to its first: the first makes way.
    continues(reply(s.receive(
        &"a",
        &block(2, "y", 0, true, 16, Some(48)),
        0,
    )));
    let gone = reply(s.receive(&"a", &block(3, "x", 1, true, 16, None), 0));
    assert_eq!(
        gone.code,
        code::REQUEST_ENTITY_INCOMPLETE,
        "{}",
        text(&gone)
    );
    let done = finish(&mut s, "a", "y", 4, 0);
    assert_eq!(
        (done.code, text(&done)),
        (code::CHANGED, "got 48 bytes (reassembled, aligned)".into())
    );
    assert_eq!(s.uploads_in_progress(), (0, 0));
}

#[test]
fn several_peers_over_the_budget_get_5_03_and_nobody_elses_upload_is_dropped() {
    let mut s = server(2 * footprint(48));
    continues(reply(s.receive(
        &"a",
        &block(1, "a", 0, true, 16, Some(48)),
        0,
    )));
    continues(reply(s.receive(
        &"b",
        &block(1, "b", 0, true, 16, Some(48)),
        0,
    )));
    // c's would fit alone, not next to a's and b's: 5.03 with Max-Age, a's and b's untouched.
    busy(reply(s.receive(
        &"c",
        &block(1, "c", 0, true, 16, Some(48)),
        0,
    )));
    // Without Size1 c starts small, but cannot grow into a's and b's bytes either.
    busy(reply(s.receive(&"c", &block(2, "c", 0, true, 16, None), 0)));
    assert_eq!(s.uploads_in_progress(), (2, 2 * footprint(48)));
    for (peer, mid) in [("a", 10), ("b", 20)] {
        let done = finish(&mut s, peer, peer, mid, 0);
        assert_eq!(
            (done.code, text(&done)),
            (code::CHANGED, "got 48 bytes (reassembled, aligned)".into())
        );
    }
    // Their bytes are back: c gets in.
    continues(reply(s.receive(
        &"c",
        &block(3, "c", 0, true, 16, Some(48)),
        0,
    )));
    let done = finish(&mut s, "c", "c", 4, 0);
    assert_eq!(done.code, code::CHANGED, "{}", text(&done));
}

#[test]
fn a_block_growing_past_the_budget_gets_5_03_and_its_upload_is_forgotten() {
    let mut s = server(footprint(48) + footprint(32));
    continues(reply(s.receive(
        &"a",
        &block(1, "a", 0, true, 16, Some(48)),
        0,
    )));
    // b announces nothing: its buffer grows block by block, exactly, until it would not fit.
    continues(reply(s.receive(&"b", &block(1, "b", 0, true, 16, None), 0)));
    continues(reply(s.receive(&"b", &block(2, "b", 1, true, 16, None), 0)));
    assert_eq!(s.uploads_in_progress(), (2, footprint(48) + footprint(32)));
    busy(reply(s.receive(&"b", &block(3, "b", 2, true, 16, None), 0)));
    assert_eq!(
        s.uploads_in_progress(),
        (1, footprint(48)),
        "b's bytes are back"
    );
    let done = finish(&mut s, "a", "a", 10, 0);
    assert_eq!(done.code, code::CHANGED, "{}", text(&done));
}

#[test]
fn a_vanished_peers_upload_is_freed_after_the_idle_time_and_its_bytes_return() {
    let mut s = server(footprint(64));
    continues(reply(s.receive(
        &"a",
        &block(1, "a", 0, true, 16, Some(64)),
        0,
    )));
    // a vanishes. While its upload may still come, b waits.
    busy(reply(s.receive(
        &"b",
        &block(1, "b", 0, true, 16, Some(48)),
        1_000,
    )));
    assert_eq!(s.uploads_in_progress(), (1, footprint(64)));
    // Idle long enough: a's bytes go to b.
    let later = UPLOAD_IDLE_MS + 1;
    continues(reply(s.receive(
        &"b",
        &block(2, "b", 0, true, 16, Some(48)),
        later,
    )));
    assert_eq!(s.uploads_in_progress(), (1, footprint(48)));
    let gone = reply(s.receive(&"a", &block(2, "a", 1, true, 16, None), later));
    assert_eq!(
        gone.code,
        code::REQUEST_ENTITY_INCOMPLETE,
        "{}",
        text(&gone)
    );
    let done = finish(&mut s, "b", "b", 3, later);
    assert_eq!(done.code, code::CHANGED, "{}", text(&done));
    assert_eq!(s.uploads_in_progress(), (0, 0), "nothing held afterwards");
}

#[test]
fn an_idle_upload_is_forgotten_at_the_next_datagram_from_anyone() {
    let mut s = server(footprint(64));
    continues(reply(s.receive(
        &"a",
        &block(1, "a", 0, true, 16, Some(64)),
        0,
    )));
    // Anything received before the idle time leaves it alone…
    let _ = s.receive(&"c", b"garbage", UPLOAD_IDLE_MS - 1);
    assert_eq!(s.uploads_in_progress(), (1, footprint(64)));
    // …and anything after it (here a garbage datagram) forgets it: the bytes are back.
    let _ = s.receive(&"c", b"garbage", UPLOAD_IDLE_MS);
    assert_eq!(s.uploads_in_progress(), (0, 0));
    let gone = reply(s.receive(&"a", &block(2, "a", 1, true, 16, None), UPLOAD_IDLE_MS));
    assert_eq!(
        gone.code,
        code::REQUEST_ENTITY_INCOMPLETE,
        "{}",
        text(&gone)
    );
}

#[test]
fn the_responses_remembered_for_duplicates_are_bounded_in_bytes() {
    let mut s = Server::new(
        Up,
        ServerLimits {
            dedup_entries: 100,
            dedup_bytes: 200,
            ..Default::default()
        },
    );
    for mid in 0..20u16 {
        let m = Message::request(code::PUT, mid, &["up", "x"]).encode();
        assert_eq!(reply(s.receive(&"a", &m, 0)).code, code::CHANGED);
        let (entries, bytes) = s.remembered();
        assert!(
            bytes <= 200 && entries <= 20,
            "{entries} entries, {bytes} B"
        );
    }
    assert!(s.remembered().0 < 20, "the oldest were forgotten");
}
