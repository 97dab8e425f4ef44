//! `trevm serve --rd` against a fake Resource Directory that answers garbage and hostile
//! answers (the device shrugs them off and registers once it answers well), and the flags it
//! refuses. A real `aiocoap-rd` (found with its base and by what it runs, serving while the RD
//! is away, registering again when it returns) is `lifecycle.rs`'s
//! `registers_with_a_resource_directory_and_again_after_it_returns`, against the native device
//! and the QEMU firmware; many devices, `fleet.rs`. Every wait polls against a deadline.

use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, Instant};

use trevm_coap::message::{Message, MsgType, code, opt};
use trevm_testkit::{Running, free_local_addr, output_text as text};

const TREVM: &str = env!("CARGO_BIN_EXE_trevm");
/// How long a device may take to (re)register: a few lifetimes of 4 s and a backoff step.
const REGISTERS_WITHIN: Duration = Duration::from_secs(30);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn trevm(args: &[&str]) -> Output {
    trevm_testkit::run_bounded(TREVM, args, &root(), Duration::from_secs(120))
}

/// `trevm serve` as an open device (examples/policies/open.yml: these tests are about the
/// registration, not access control) on `addr`, registering with `rd` as `ep`, lifetime 4 s.
fn device(addr: &str, rd: &str, ep: &str) -> Running {
    let open = root().join("examples/policies/open.yml");
    Running::start(
        TREVM,
        &[
            "serve",
            "--listen",
            addr,
            "--policy",
            open.to_str().unwrap(),
            "--rd",
            rd,
            "--ep",
            ep,
            "--rd-lifetime",
            "4",
        ],
    )
    .expect("trevm serve")
}

/// What the fake RD answers each request with, in turn.
#[derive(Clone, Copy, Debug)]
enum Answer {
    /// A wrong-token copy of a good discovery answer, garbage, then 2.05 as JSON.
    StraysThenNotLinkFormat,
    /// A good discovery answer.
    Discovery,
    /// 2.01 without Location-Path.
    NoLocation,
    /// 2.01 with 300 Location-Path options.
    HugeLocation,
    /// 5.03.
    Unavailable,
    /// 2.01 at `/reg/7/`.
    Good,
}

#[test]
fn a_device_shrugs_off_an_rd_that_answers_garbage_and_registers_once_it_answers_well() {
    use Answer::*;
    let fake = UdpSocket::bind("127.0.0.1:0").unwrap();
    fake.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let fake_uri = format!("coap://{}", fake.local_addr().unwrap());
    let addr = free_local_addr();
    let mut dev = device(&addr, &fake_uri, "dev3");
    let script = [
        StraysThenNotLinkFormat,
        Discovery,
        NoLocation,
        HugeLocation,
        Unavailable,
        Good,
    ];
    let mut step = 0;
    let mut last_mid = None;
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut buf = [0u8; 2048];
    while step < script.len() {
        assert!(
            Instant::now() < deadline,
            "the device stopped asking: {}",
            dev.output()
        );
        let Ok((n, from)) = fake.recv_from(&mut buf) else {
            continue;
        };
        let request = Message::parse(&buf[..n]).expect("the device sends CoAP");
        if last_mid == Some(request.mid) {
            continue; // a retransmission of what was answered already
        }
        last_mid = Some(request.mid);
        let reply = |code: u8, options: Vec<(u16, Vec<u8>)>, payload: &[u8]| {
            Message {
                ty: MsgType::Ack,
                code,
                mid: request.mid,
                token: request.token.clone(),
                options,
                payload: payload.to_vec(),
            }
            .encode()
        };
        let location = |segments: &[&str]| {
            segments
                .iter()
                .map(|s| (opt::LOCATION_PATH, s.as_bytes().to_vec()))
                .collect()
        };
        let discovery = b"</rd>;rt=\"core.rd\"";
        let answers = match script[step] {
            StraysThenNotLinkFormat => {
                let mut stray = Message::parse(&reply(code::CONTENT, vec![], discovery)).unwrap();
                stray.token = vec![0xde, 0xad];
                stray.mid = stray.mid.wrapping_add(1);
                vec![
                    stray.encode(),
                    b"\x40\x45garbage".to_vec(),
                    reply(code::CONTENT, vec![(opt::CONTENT_FORMAT, vec![50])], b"{}"),
                ]
            }
            Discovery => vec![reply(
                code::CONTENT,
                vec![(opt::CONTENT_FORMAT, vec![40])],
                discovery,
            )],
            NoLocation => vec![reply(code::CREATED, vec![], b"")],
            HugeLocation => vec![reply(code::CREATED, location(&["x"; 300]), b"")],
            Unavailable => vec![reply(code::SERVICE_UNAVAILABLE, vec![], b"")],
            Good => vec![reply(code::CREATED, location(&["reg", "7", ""]), b"")],
        };
        for answer in answers {
            fake.send_to(&answer, from).unwrap();
        }
        step += 1;
    }
    dev.wait_for(
        &format!("rd: registered with {fake_uri} as dev3 at /reg/7/"),
        REGISTERS_WITHIN,
    )
    .unwrap();
    let said = dev.output();
    for reason in [
        "(its /.well-known/core is not link-format)",
        "(a registration answered without Location-Path)",
        "(a registration's Location-Path is too long)",
        "(answered 5.03",
    ] {
        assert!(
            said.contains(&format!("rd: {fake_uri} unreachable {reason}")),
            "no failure line with {reason}:\n{said}"
        );
    }
    let o = trevm(&["call", &format!("coap://{addr}/status")]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(dev.is_running(), "{said}");
}

#[test]
fn serve_refuses_rd_flags_it_cannot_use_with_one_clear_message() {
    let rd = "coap://127.0.0.1:9";
    let cases: [(&[&str], &str); 3] = [
        (
            &["serve", "--listen", "0.0.0.0:0", "--rd", rd, "--ep", "dev1"],
            "--rd-base",
        ),
        (
            &["serve", "--listen", "127.0.0.1:0", "--ep", "dev1"],
            "--rd <URI>",
        ),
        (
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--rd",
                rd,
                "--ep",
                "a b",
            ],
            "endpoint name",
        ),
    ];
    for (args, says) in cases {
        let o = trevm(args);
        assert!(!o.status.success(), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(says), "{args:?}: {}", text(&o));
    }
}
