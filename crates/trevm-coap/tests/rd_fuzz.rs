//! A structure-aware fuzz target for the device's RD registrar (`trevm_coap::rd`): every answer
//! is a well-formed CoAP ACK to the request in flight (its message ID and token), so it gets past
//! the message parser and the client's matching, with hostile fields: any code, up to 400
//! Location-Path options of up to 300 bytes, Content-Format, Block2 and Size2 options with any
//! value, payloads that look like link-format or are random bytes. After each exchange the
//! registrar must hold what its bounds say (`MAX_SEGMENTS`, `MAX_PATH`), and after the whole
//! sequence a well-behaved RD must still register it.
//!
//! Cases: `TREVM_FUZZ_CASES` (default 300), each a sequence of up to 12 answers.

use proptest::prelude::*;
use proptest::test_runner::{Config as RunConfig, TestRunner};
use trevm_coap::message::{Message, MsgType, code, opt};
use trevm_coap::rd::{Config, MAX_PATH, MAX_SEGMENTS, Registrar, State, Step};

fn cases() -> u32 {
    std::env::var("TREVM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

/// One hostile answer's fields (the header is taken from the request it answers).
#[derive(Debug, Clone)]
struct Answer {
    code: u8,
    location: Vec<Vec<u8>>,
    extra: Vec<(u16, Vec<u8>)>,
    payload: Vec<u8>,
}

fn answer() -> impl Strategy<Value = Answer> {
    let codes = prop_oneof![
        Just(code::CREATED),
        Just(code::CHANGED),
        Just(code::CONTENT),
        Just(code::NOT_FOUND),
        Just(code::SERVICE_UNAVAILABLE),
        any::<u8>(),
    ];
    let segment = prop_oneof![
        Just(b"reg".to_vec()),
        Just(Vec::new()),
        prop::collection::vec(any::<u8>(), 0..300),
    ];
    let location = prop_oneof![
        prop::collection::vec(segment.clone(), 0..4),
        prop::collection::vec(segment, 0..400),
    ];
    let extra = prop::collection::vec(
        (
            prop_oneof![
                Just(opt::CONTENT_FORMAT),
                Just(opt::BLOCK2),
                Just(opt::SIZE2),
                Just(opt::BLOCK1),
            ],
            prop::collection::vec(any::<u8>(), 0..5),
        ),
        0..3,
    );
    let payload = prop_oneof![
        Just(b"</rd>;rt=\"core.rd\"".to_vec()),
        "(<[/a-z]{0,20}>(;[a-z]{1,3}(=\"?[a-z.]{0,10}\"?)?){0,3},?){0,40}"
            .prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..2000),
    ];
    (codes, location, extra, payload).prop_map(|(code, location, extra, payload)| Answer {
        code,
        location,
        extra,
        payload,
    })
}

/// The ACK to `request` with `a`'s fields, options in number order.
fn encode(request: &Message, a: &Answer) -> Vec<u8> {
    let mut options: Vec<(u16, Vec<u8>)> = a
        .location
        .iter()
        .map(|s| (opt::LOCATION_PATH, s.clone()))
        .collect();
    options.extend(a.extra.iter().cloned());
    options.sort_by_key(|(n, _)| *n);
    Message {
        ty: MsgType::Ack,
        code: a.code,
        mid: request.mid,
        token: request.token.clone(),
        options,
        payload: a.payload.clone(),
    }
    .encode()
}

/// The datagram the registrar sends by `now` (advancing to its retry time if it waits), parsed.
fn next_request(r: &mut Registrar, now: &mut u64) -> Message {
    for _ in 0..4 {
        match r.poll(*now) {
            Step::Send(d) => return Message::parse(d).expect("the registrar sends CoAP"),
            Step::Wait { until_ms } => *now = until_ms.max(*now),
        }
    }
    panic!("the registrar sends nothing: {:?}", r.state())
}

/// What the registrar holds stays within its bounds.
fn check_bounds(r: &Registrar) -> Result<(), TestCaseError> {
    if let State::Registered { location, .. } = r.state() {
        prop_assert!(
            location.len() <= MAX_PATH + MAX_SEGMENTS + 1,
            "{location:?}"
        );
        prop_assert!(
            location.split('/').count() <= MAX_SEGMENTS + 1,
            "{location:?}"
        );
    }
    Ok(())
}

#[test]
fn hostile_rd_answers_leave_the_registrar_bounded_and_able_to_register() {
    let mut runner = TestRunner::new(RunConfig {
        cases: cases(),
        failure_persistence: None,
        ..RunConfig::default()
    });
    runner
        .run(&prop::collection::vec(answer(), 1..12), |answers| {
            let config = Config::new("dev1", 60, "coap://192.0.2.7:5683").with_seed(7);
            let mut r = Registrar::new(config, "</sandbox/a>;rt=\"trevm.capsule\"".into())
                .expect("a good configuration");
            let mut now = 0;
            for a in &answers {
                let request = next_request(&mut r, &mut now);
                r.receive(&encode(&request, a), now);
                let _ = r.poll(now);
                let _ = r.take_event();
                check_bounds(&r)?;
            }
            // A well-behaved RD now: whatever state it was left in, it registers (discovering
            // the path first if it has to), within a few exchanges.
            for _ in 0..8 {
                if matches!(r.state(), State::Registered { location, .. } if location == "/reg/9/")
                {
                    return Ok(());
                }
                let request = next_request(&mut r, &mut now);
                let good = match request.code {
                    code::GET => Answer {
                        code: code::CONTENT,
                        location: Vec::new(),
                        extra: vec![(opt::CONTENT_FORMAT, vec![40])],
                        payload: b"</rd>;rt=\"core.rd\"".to_vec(),
                    },
                    _ if request.payload.is_empty() => Answer {
                        // A refresh of what a hostile answer gave: forgotten.
                        code: code::NOT_FOUND,
                        location: Vec::new(),
                        extra: Vec::new(),
                        payload: Vec::new(),
                    },
                    _ => Answer {
                        code: code::CREATED,
                        location: vec![b"reg".to_vec(), b"9".to_vec(), Vec::new()],
                        extra: Vec::new(),
                        payload: Vec::new(),
                    },
                };
                r.receive(&encode(&request, &good), now);
                let _ = r.poll(now);
            }
            prop_assert!(
                matches!(r.state(), State::Registered { location, .. } if location == "/reg/9/"),
                "not registered after a good RD: {:?}",
                r.state()
            );
            Ok(())
        })
        .unwrap();
}
