//! Hostile and malformed input: RD answers (each leaves the registrar retrying, and a good RD
//! later registers it), discovery bodies, configurations, capsule names.

use alloc::string::{String, ToString};
use alloc::vec;

use super::tests::{
    BASE, DISCOVERY, Options, answer, link_format, location, registrar, retries_then_registers,
    sent, strings,
};
use super::*;
use crate::client::Error;
use crate::message::{Message, MsgType, code, opt};

#[test]
fn a_2_01_without_location_is_refused() {
    let mut r = registrar(60);
    let get = sent(&mut r, 0);
    r.receive(&answer(&get, code::CONTENT, link_format(), DISCOVERY), 0);
    let post = sent(&mut r, 0);
    r.receive(&answer(&post, code::CREATED, vec![], b""), 0);
    retries_then_registers(&mut r, 0, Reason::NoLocation);
}

#[test]
fn absurdly_many_or_long_location_segments_are_refused() {
    for segments in [vec!["x"; 300], vec!["y"; MAX_SEGMENTS + 1]] {
        let mut r = registrar(60);
        let config = r.config().clone().with_path("/rd");
        r = Registrar::new(config, String::new()).unwrap();
        let post = sent(&mut r, 0);
        r.receive(&answer(&post, code::CREATED, location(&segments), b""), 0);
        retries_then_registers(&mut r, 0, Reason::BadLocation);
    }
    let long = "z".repeat(MAX_PATH + 1);
    let mut r = Registrar::new(Config::new("d", 60, BASE).with_path("/rd"), String::new()).unwrap();
    let post = sent(&mut r, 0);
    r.receive(
        &answer(&post, code::CREATED, location(&["reg", &long]), b""),
        0,
    );
    retries_then_registers(&mut r, 0, Reason::BadLocation);
}

#[test]
fn a_discovery_answer_that_is_not_link_format_is_refused() {
    let cases: [(Options, &[u8], Reason); 4] = [
        (link_format(), &[0xff, 0x00, 0xfe], Reason::NotLinkFormat),
        (
            vec![(opt::CONTENT_FORMAT, vec![50])],
            DISCOVERY,
            Reason::NotLinkFormat,
        ),
        (link_format(), b"hello, world", Reason::NotLinkFormat),
        (
            link_format(),
            b"</endpoint-lookup/>;rt=\"core.rd-lookup-ep\",</x?y>;rt=core.rd",
            Reason::NoRegistrationLink,
        ),
    ];
    for (options, payload, reason) in cases {
        let mut r = registrar(60);
        let get = sent(&mut r, 0);
        r.receive(&answer(&get, code::CONTENT, options, payload), 0);
        retries_then_registers(&mut r, 0, reason);
    }
}

#[test]
fn a_huge_discovery_answer_is_refused_not_kept() {
    let mut r = registrar(60);
    let get = sent(&mut r, 0);
    let huge = vec![b'<'; MAX_DISCOVERY + 1];
    r.receive(&answer(&get, code::CONTENT, link_format(), &huge), 0);
    retries_then_registers(&mut r, 0, Reason::Client(Error::TooLarge));
}

#[test]
fn unexpected_codes_are_refusals() {
    for c in [
        code::CONTENT,
        code::BAD_REQUEST,
        code::SERVICE_UNAVAILABLE,
        0xff,
    ] {
        let mut r = registrar(60);
        let get = sent(&mut r, 0);
        r.receive(&answer(&get, code::CONTENT, link_format(), DISCOVERY), 0);
        let post = sent(&mut r, 0);
        r.receive(&answer(&post, c, location(&["reg", "1", ""]), b""), 0);
        retries_then_registers(&mut r, 0, Reason::Refused { code: c });
    }
}

#[test]
fn wrong_tokens_garbage_and_resets_of_other_messages_are_ignored() {
    let mut r = registrar(60);
    let get = sent(&mut r, 0);
    let mut wrong = get.clone();
    wrong.token = vec![9, 9, 9, 9];
    wrong.mid = get.mid.wrapping_add(1);
    r.receive(&answer(&wrong, code::CONTENT, link_format(), DISCOVERY), 0);
    r.receive(b"\xff\xff garbage", 0);
    r.receive(&[], 0);
    let stray_reset = Message {
        ty: MsgType::Rst,
        mid: get.mid.wrapping_sub(1),
        ..Default::default()
    };
    r.receive(&stray_reset.encode(), 0);
    assert_eq!(r.state(), &State::Registering);
    assert!(matches!(r.poll(0), Step::Wait { .. }));
    r.receive(&answer(&get, code::CONTENT, link_format(), DISCOVERY), 1);
    let post = sent(&mut r, 1);
    r.receive(
        &answer(&post, code::CREATED, location(&["reg", "1", ""]), b""),
        1,
    );
    let _ = r.poll(1);
    assert!(matches!(r.state(), State::Registered { .. }));
}

#[test]
fn a_reset_is_a_failure() {
    let mut r = registrar(60);
    let get = sent(&mut r, 0);
    let reset = Message {
        ty: MsgType::Rst,
        mid: get.mid,
        ..Default::default()
    };
    r.receive(&reset.encode(), 0);
    retries_then_registers(&mut r, 0, Reason::Client(Error::Reset));
}

#[test]
fn a_4_04_to_a_discovered_path_discovers_again() {
    let mut r = registrar(60);
    let get = sent(&mut r, 0);
    r.receive(&answer(&get, code::CONTENT, link_format(), DISCOVERY), 0);
    let post = sent(&mut r, 0);
    r.receive(&answer(&post, code::NOT_FOUND, vec![], b""), 0);
    let _ = r.poll(0);
    let State::Retrying { at_ms, .. } = r.state().clone() else {
        panic!()
    };
    let again = sent(&mut r, at_ms);
    assert_eq!(strings(&again, opt::URI_PATH), [".well-known", "core"]);
}

#[test]
fn discovery_takes_the_first_core_rd_link_with_an_absolute_path() {
    let ok = |body: &str| registration_path(body.as_bytes());
    assert_eq!(ok("</rd>;rt=core.rd").unwrap(), ["rd"]);
    assert_eq!(
        ok("<coap://[::1]:5683/x/y>;rt=\"core.rd-group core.rd\"").unwrap(),
        ["x", "y"]
    );
    assert_eq!(
        ok("</a>;title=\"a, b; <c>\";rt=\"core.rd-lookup-res\", </b/>;rt=\"core.rd\"").unwrap(),
        ["b", ""]
    );
    assert_eq!(ok("<rel>;rt=core.rd"), Err(Reason::NoRegistrationLink));
    assert_eq!(ok("</a%2f>;rt=core.rd"), Err(Reason::NoRegistrationLink));
    let deep = "/s".repeat(MAX_SEGMENTS + 1);
    assert_eq!(
        ok(&alloc::format!("<{deep}>;rt=core.rd")),
        Err(Reason::NoRegistrationLink)
    );
    assert_eq!(ok(""), Err(Reason::NotLinkFormat));
    assert_eq!(ok("<unterminated;rt=core.rd"), Err(Reason::NotLinkFormat));
}

#[test]
fn a_configuration_that_cannot_be_sent_is_refused() {
    let bad = [
        Config::new("", 60, BASE),
        Config::new("a b", 60, BASE),
        Config::new("x".repeat(MAX_ENDPOINT + 1), 60, BASE),
        Config::new("dev", 0, BASE),
        Config::new("dev", 60, ""),
        Config::new("dev", 60, "x".repeat(MAX_BASE + 1)),
        Config::new("dev", 60, BASE).with_path(&"/s".repeat(MAX_SEGMENTS + 1)),
    ];
    for config in bad {
        assert!(Registrar::new(config, String::new()).is_err());
    }
}

#[test]
fn path_segments_keep_a_trailing_empty_one() {
    assert_eq!(
        path_segments("/resourcedirectory/"),
        ["resourcedirectory", ""]
    );
    assert_eq!(path_segments("/rd"), ["rd"]);
    assert!(path_segments("/").is_empty() && path_segments("").is_empty());
}

#[cfg(feature = "status")]
#[test]
fn capsule_links_follow_the_contract() {
    use crate::status::CapsuleStatus;
    let capsule = |slot: &str, name: &str, version: Option<u64>| CapsuleStatus {
        slot: slot.to_string(),
        name: name.to_string(),
        version,
        signer: version.map(|_| "3f2a".to_string()),
        ..Default::default()
    };
    assert_eq!(capsule_links(&[]), "</status>;rt=\"trevm.status\";ct=50");
    let links = capsule_links(&[
        capsule("ephemeral", "fib", None),
        capsule("persistent", "blinky", Some(3)),
        capsule("sandbox", "hello", Some(20261205064222)),
        capsule("sandbox", "bad>name", Some(1)),
        capsule("elsewhere", "x", None),
    ]);
    assert_eq!(
        links,
        "</ephemeral>;rt=\"trevm.capsule\";slot=\"ephemeral\";name=\"fib\",\
         </vm-control>;rt=\"trevm.capsule\";slot=\"persistent\";name=\"blinky\";version=\"3\";signer=\"3f2a\",\
         </sandbox/hello>;rt=\"trevm.capsule\";slot=\"sandbox\";name=\"hello\";version=\"20261205064222\";signer=\"3f2a\",\
         </status>;rt=\"trevm.status\";ct=50"
    );
    // A quote in a name would end the quoted string early: the name is left out.
    let quoted = capsule_links(&[capsule("persistent", "a\"b", None)]);
    assert!(quoted.starts_with("</vm-control>;rt=\"trevm.capsule\";slot=\"persistent\","));
    assert!(!quoted.contains("a\"b"));
    assert_eq!(
        registration_path(quoted.as_bytes()),
        Err(Reason::NoRegistrationLink)
    );
}
