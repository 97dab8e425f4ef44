//! The registrar against scripted RDs: the contract's requests, refresh and re-registration,
//! backoff, and each hostile answer (refused, then a good answer still registers).

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::*;
use crate::client::Error;
use crate::message::{Message, MsgType, code, opt};

pub(super) const BASE: &str = "coap://127.0.0.1:5683";
pub(super) const DISCOVERY: &[u8] =
    b"</resourcedirectory/>;rt=\"core.rd\";ct=40,</endpoint-lookup/>;rt=\"core.rd-lookup-ep\"";

pub(super) fn registrar(lifetime_s: u32) -> Registrar {
    Registrar::new(
        Config::new("dev1", lifetime_s, BASE).with_seed(7),
        "</a>".into(),
    )
    .unwrap()
}

/// The datagram the registrar sends at `now` (it must send one).
pub(super) fn sent(r: &mut Registrar, now: u64) -> Message {
    match r.poll(now) {
        Step::Send(d) => Message::parse(d).unwrap(),
        other => panic!("expected a datagram at {now}, got {other:?}"),
    }
}

pub(super) fn waits(r: &mut Registrar, now: u64) -> u64 {
    match r.poll(now) {
        Step::Wait { until_ms } => until_ms,
        other => panic!("expected a wait at {now}, got {other:?}"),
    }
}

pub(super) fn strings(m: &Message, number: u16) -> Vec<String> {
    m.options
        .iter()
        .filter(|(n, _)| *n == number)
        .map(|(_, v)| String::from_utf8(v.clone()).unwrap())
        .collect()
}

/// The piggybacked answer to `request`.
pub(super) fn answer(request: &Message, code: u8, options: Options, payload: &[u8]) -> Vec<u8> {
    Message {
        ty: MsgType::Ack,
        code,
        mid: request.mid,
        token: request.token.clone(),
        options,
        payload: payload.to_vec(),
    }
    .encode()
}

pub(super) type Options = Vec<(u16, Vec<u8>)>;

pub(super) fn location(segments: &[&str]) -> Options {
    segments
        .iter()
        .map(|s| (opt::LOCATION_PATH, s.as_bytes().to_vec()))
        .collect()
}

pub(super) fn link_format() -> Options {
    vec![(opt::CONTENT_FORMAT, vec![40])]
}

/// Answers the discovery (if it comes) and the registration correctly at `now`.
pub(super) fn register(r: &mut Registrar, now: u64) {
    let mut m = sent(r, now);
    if strings(&m, opt::URI_PATH) == [".well-known", "core"] {
        r.receive(&answer(&m, code::CONTENT, link_format(), DISCOVERY), now);
        m = sent(r, now);
    }
    assert_eq!(m.code, code::POST);
    r.receive(
        &answer(&m, code::CREATED, location(&["reg", "1", ""]), b""),
        now,
    );
    let _ = r.poll(now);
    assert!(
        matches!(r.state(), State::Registered { location, .. } if location == "/reg/1/"),
        "{:?}",
        r.state()
    );
}

/// The registrar is retrying because of `reason`; at its retry time a good RD registers it.
pub(super) fn retries_then_registers(r: &mut Registrar, now: u64, reason: Reason) {
    let _ = r.poll(now);
    let State::Retrying { at_ms, reason: got } = r.state().clone() else {
        panic!("not retrying: {:?}", r.state())
    };
    assert_eq!(got, reason);
    assert!(matches!(r.take_event(), Some(Event::Failed { .. })));
    assert_eq!(waits(r, now), at_ms);
    register(r, at_ms);
    assert!(matches!(r.take_event(), Some(Event::Registered { .. })));
}

#[test]
fn discovers_then_registers_as_the_contract_says() {
    let mut r = registrar(60);
    let get = sent(&mut r, 0);
    assert_eq!(get.code, code::GET);
    assert_eq!(strings(&get, opt::URI_PATH), [".well-known", "core"]);
    assert_eq!(strings(&get, opt::URI_QUERY), ["rt=core.rd"]);
    r.receive(&answer(&get, code::CONTENT, link_format(), DISCOVERY), 5);
    let post = sent(&mut r, 5);
    assert_eq!(post.code, code::POST);
    assert_eq!(strings(&post, opt::URI_PATH), ["resourcedirectory", ""]);
    assert_eq!(
        strings(&post, opt::URI_QUERY),
        [
            "ep=dev1",
            "lt=60",
            "base=coap://127.0.0.1:5683",
            "et=trevm.device"
        ]
    );
    assert_eq!(post.uint_option(opt::CONTENT_FORMAT), Some(40));
    assert_eq!(post.payload, b"</a>");
    assert_eq!(r.state(), &State::Registering);
    r.receive(
        &answer(&post, code::CREATED, location(&["reg", "1", ""]), b""),
        10,
    );
    assert_eq!(waits(&mut r, 10), 45_010);
    assert_eq!(
        r.state(),
        &State::Registered {
            location: "/reg/1/".into(),
            refresh_at_ms: 45_010
        }
    );
    assert_eq!(
        r.take_event(),
        Some(Event::Registered {
            location: "/reg/1/".into()
        })
    );
    assert_eq!(r.take_event(), None);
}

#[test]
fn a_configured_path_skips_discovery() {
    let config = Config::new("dev1", 60, BASE).with_path("/rd");
    let mut r = Registrar::new(config, String::new()).unwrap();
    let post = sent(&mut r, 0);
    assert_eq!(post.code, code::POST);
    assert_eq!(strings(&post, opt::URI_PATH), ["rd"]);
}

#[test]
fn refreshes_at_three_quarters_and_registers_again_when_the_rd_forgot() {
    let mut r = registrar(60);
    register(&mut r, 0);
    assert!(r.take_event().is_some());
    assert_eq!(waits(&mut r, 44_999), 45_000);
    let refresh = sent(&mut r, 45_000);
    assert_eq!(refresh.code, code::POST);
    assert_eq!(strings(&refresh, opt::URI_PATH), ["reg", "1", ""]);
    assert!(strings(&refresh, opt::URI_QUERY).is_empty());
    assert!(refresh.payload.is_empty());
    r.receive(&answer(&refresh, code::CHANGED, vec![], b""), 45_000);
    assert_eq!(waits(&mut r, 45_000), 90_000);
    assert_eq!(r.take_event(), None, "a refresh is not a registration");
    // The RD restarted: it does not know /reg/1/ any more.
    let refresh = sent(&mut r, 90_000);
    r.receive(&answer(&refresh, code::NOT_FOUND, vec![], b""), 90_000);
    let again = sent(&mut r, 90_000);
    assert_eq!(strings(&again, opt::URI_PATH), ["resourcedirectory", ""]);
    assert_eq!(again.payload, b"</a>");
    r.receive(
        &answer(&again, code::CREATED, location(&["reg", "2", ""]), b""),
        90_000,
    );
    let _ = r.poll(90_000);
    assert!(matches!(r.state(), State::Registered { location, .. } if location == "/reg/2/"));
    assert!(matches!(r.take_event(), Some(Event::Registered { .. })));
}

/// aiocoap-rd numbers registrations from 1 again when it restarts: another endpoint may now
/// own `/reg/1/`, and refreshing it is answered 2.04. Every [`FULL_EVERY`]th refresh is a full
/// registration, which gets the device its own again; quietly when nothing changed.
#[test]
fn every_few_refreshes_are_a_full_registration() {
    let mut r = registrar(60);
    register(&mut r, 0);
    assert!(r.take_event().is_some());
    let mut now = 0;
    for _ in 1..super::FULL_EVERY {
        now += 45_000;
        let refresh = sent(&mut r, now);
        assert_eq!(strings(&refresh, opt::URI_PATH), ["reg", "1", ""]);
        assert!(refresh.payload.is_empty());
        r.receive(&answer(&refresh, code::CHANGED, vec![], b""), now);
        assert_eq!(waits(&mut r, now), now + 45_000);
    }
    now += 45_000;
    let full = sent(&mut r, now);
    assert_eq!(strings(&full, opt::URI_PATH), ["resourcedirectory", ""]);
    assert!(strings(&full, opt::URI_QUERY).contains(&"ep=dev1".to_string()));
    assert_eq!(full.payload, b"</a>");
    r.receive(
        &answer(&full, code::CHANGED, location(&["reg", "1", ""]), b""),
        now,
    );
    assert_eq!(waits(&mut r, now), now + 45_000);
    assert_eq!(r.take_event(), None, "the same registration is no news");
    // The next refresh is an update again.
    let refresh = sent(&mut r, now + 45_000);
    assert!(refresh.payload.is_empty());
}

#[test]
fn a_short_lifetime_is_refreshed_before_it_ends() {
    let mut r = registrar(4);
    register(&mut r, 0);
    let State::Registered { refresh_at_ms, .. } = r.state().clone() else {
        panic!()
    };
    assert!((2_000..4_000).contains(&refresh_at_ms), "{refresh_at_ms}");
}

#[test]
fn an_rd_that_never_answers_is_retried_with_doubling_jittered_capped_backoff() {
    let mut r = registrar(600);
    let mut now = 0;
    let mut waits_ms = Vec::new();
    while waits_ms.len() < 12 {
        match r.poll(now) {
            Step::Send(_) => {}
            Step::Wait { until_ms } => now = until_ms,
        }
        if let Some(Event::Failed {
            reason,
            retry_in_ms,
        }) = r.take_event()
        {
            assert_eq!(reason, Reason::Client(Error::NoAnswer { tries: 5 }));
            waits_ms.push(retry_in_ms);
        }
    }
    for (i, wait) in waits_ms.iter().enumerate() {
        let base = (2_000u64 << i).min(300_000);
        assert!((base..=base + base / 4).contains(wait), "{i}: {wait}");
    }
    // Jitter: not all waits are the bare doubling.
    assert!(
        waits_ms
            .iter()
            .enumerate()
            .any(|(i, w)| *w != (2_000u64 << i).min(300_000))
    );
    assert!(matches!(r.state(), State::Retrying { .. }));
    // The RD comes back.
    let State::Retrying { at_ms, .. } = r.state().clone() else {
        panic!()
    };
    register(&mut r, at_ms);
}

#[test]
fn links_changed_register_again_once_settled_or_after_the_request_in_flight() {
    let mut r = registrar(60);
    register(&mut r, 0);
    r.set_links("</a>".into(), 10);
    assert_eq!(waits(&mut r, 10), 45_000, "the same links change nothing");
    r.set_links("</b>".into(), 10);
    assert_eq!(waits(&mut r, 10), 10 + SETTLE_MS);
    // A burst of changes makes one registration, with the last links, when the first settled.
    r.set_links("</c>".into(), 500);
    assert_eq!(waits(&mut r, 500), 10 + SETTLE_MS);
    let post = sent(&mut r, 10 + SETTLE_MS);
    assert_eq!(post.payload, b"</c>");
    // Changed again while that registration is in flight: once it is answered and settled,
    // again.
    r.set_links("</d>".into(), 1_100);
    r.receive(
        &answer(&post, code::CREATED, location(&["reg", "1", ""]), b""),
        1_200,
    );
    assert_eq!(waits(&mut r, 1_200), 1_200 + SETTLE_MS);
    let post = sent(&mut r, 1_200 + SETTLE_MS);
    assert_eq!(post.payload, b"</d>");
}

#[test]
fn a_links_watch_wakes_on_a_change_only() {
    use core::future::Future;
    use core::pin::pin;
    use core::task::{Context, Poll, Waker};
    let watch = LinksWatch::new();
    assert_eq!(watch.newer_than(0), None);
    let mut changed = pin!(watch.changed(0));
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(changed.as_mut().poll(&mut cx), Poll::Pending);
    assert!(!watch.set(String::new()), "the same links are no change");
    assert_eq!(changed.as_mut().poll(&mut cx), Poll::Pending);
    assert!(watch.clone().set("</a>".into()));
    assert_eq!(changed.as_mut().poll(&mut cx), Poll::Ready(()));
    assert_eq!(watch.newer_than(0), Some((1, "</a>".to_string())));
    assert_eq!(watch.newer_than(1), None);
}
