//! `trevm serve --rd`: a device registers with a real Resource Directory (`aiocoap-rd`) and is
//! found there by what it runs; it keeps serving while the RD is away and registers again when
//! it returns; and it shrugs off an RD that answers garbage. Every wait polls against a
//! deadline; the RD is asked over plain UDP with a short timeout per try.
//!
//! All the RD tests are in this one binary (they share the capsule build).

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
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

/// `payloads/sandbox`, built and signed by the development key once.
fn hello_capsule() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    static OUT: OnceLock<PathBuf> = OnceLock::new();
    OUT.get_or_init(|| {
        let dir = DIR.get_or_init(|| tempfile::tempdir().expect("tempdir"));
        let out = dir.path().join("sandbox.cwasm");
        let src = root().join("payloads/sandbox");
        let o = trevm(&[
            "build",
            "-q",
            src.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "trevm build: {}", text(&o));
        out
    })
}

/// A running `aiocoap-rd`, killed when dropped.
struct Rd {
    child: Child,
    addr: String,
}

impl Rd {
    fn start(addr: &str) -> Rd {
        let child = Command::new("aiocoap-rd")
            .args(["--bind", addr])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiocoap-rd (pip install aiocoap)");
        let rd = Rd {
            child,
            addr: addr.to_string(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while get(&rd.addr, &["endpoint-lookup", ""], &[]).is_none() {
            assert!(
                Instant::now() < deadline,
                "aiocoap-rd on {addr} did not answer"
            );
        }
        rd
    }

    fn uri(&self) -> String {
        format!("coap://{}", self.addr)
    }

    /// `GET /endpoint-lookup/?QUERY` (one try), or `None` without an answer.
    fn endpoints(&self, query: &[&str]) -> Option<String> {
        get(&self.addr, &["endpoint-lookup", ""], query)
    }

    /// `GET /resource-lookup/?QUERY` (one try).
    fn resources(&self, query: &[&str]) -> Option<String> {
        get(&self.addr, &["resource-lookup", ""], query)
    }

    /// Polls `lookup` until what it answers satisfies `ok`, for up to [`REGISTERS_WITHIN`].
    fn until(
        &self,
        what: &str,
        lookup: impl Fn(&Rd) -> Option<String>,
        ok: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + REGISTERS_WITHIN;
        let mut last = None;
        while Instant::now() < deadline {
            if let Some(answer) = lookup(self) {
                if ok(&answer) {
                    return answer;
                }
                last = Some(answer);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{what}: not within {REGISTERS_WITHIN:?}; last answer: {last:?}")
    }
}

impl Drop for Rd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One confirmable GET to `addr` (a plain CoAP server), waiting at most 1 s for its piggybacked
/// answer: the payload of a 2.05, else `None`.
fn get(addr: &str, path: &[&str], query: &[&str]) -> Option<String> {
    static MID: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(1);
    let mid = MID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut m = Message::request(code::GET, mid, path);
    m.options.extend(
        query
            .iter()
            .map(|q| (opt::URI_QUERY, q.as_bytes().to_vec())),
    );
    let socket = UdpSocket::bind("127.0.0.1:0").ok()?;
    socket.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    socket.send_to(&m.encode(), addr).ok()?;
    let mut buf = [0u8; 2048];
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline {
        let Ok(n) = socket.recv(&mut buf) else {
            return None;
        };
        let Ok(reply) = Message::parse(&buf[..n]) else {
            continue;
        };
        if reply.token == m.token {
            return (reply.code == code::CONTENT)
                .then(|| String::from_utf8_lossy(&reply.payload).into_owned());
        }
    }
    None
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

/// The version `/status` of the device at `addr` gives its capsule `name`.
fn status_version(addr: &str, name: &str) -> u64 {
    let json = get(addr, &["status"], &[]).expect("GET /status");
    let status: trevm_coap::status::Status = serde_json::from_str(&json).expect("status JSON");
    status
        .capsules
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| c.version)
        .unwrap_or_else(|| panic!("no signed capsule {name} in {json}"))
}

#[test]
fn a_device_is_found_in_the_rd_with_its_base_and_by_the_capsules_it_runs() {
    let rd = Rd::start(&free_local_addr());
    let addr = free_local_addr();
    let mut dev = device(&addr, &rd.uri(), "dev1");
    dev.wait_for(
        &format!("rd: registered with {} as dev1 at /reg/", rd.uri()),
        REGISTERS_WITHIN,
    )
    .unwrap();
    let endpoints = rd.until(
        "dev1 in the endpoint lookup",
        |rd| rd.endpoints(&[]),
        |a| a.contains("ep=\"dev1\""),
    );
    assert!(
        endpoints.contains(&format!("base=\"coap://{addr}\"")),
        "{endpoints}"
    );
    assert!(endpoints.contains("et=\"trevm.device\""), "{endpoints}");
    let links = rd.resources(&["ep=dev1"]).expect("resource lookup");
    assert!(
        links.contains(&format!("<coap://{addr}/status>;rt=\"trevm.status\"")),
        "{links}"
    );
    assert_eq!(
        rd.endpoints(&["name=hello"]).as_deref(),
        Some(""),
        "nothing runs hello yet"
    );

    let url = format!("coap://{addr}/sandbox/hello");
    let o = trevm(&["push", hello_capsule().to_str().unwrap(), &url]);
    assert!(o.status.success(), "{}", text(&o));
    let version = status_version(&addr, "hello").to_string();
    // The upload changed the device's links: it registered again with them.
    let found = rd.until(
        "dev1 by the name of its capsule",
        |rd| rd.endpoints(&["name=hello"]),
        |a| a.contains("ep=\"dev1\""),
    );
    assert!(
        found.contains(&format!("base=\"coap://{addr}\"")),
        "{found}"
    );
    let by_version = rd
        .endpoints(&[&format!("version={version}")])
        .expect("lookup by version");
    assert!(by_version.contains("ep=\"dev1\""), "{by_version}");
    let links = rd.resources(&["name=hello"]).expect("resource lookup");
    assert!(
        links.contains(&format!(
            "<coap://{addr}/sandbox/hello>;rt=\"trevm.capsule\";slot=\"sandbox\";name=\"hello\";version=\"{version}\";signer=\""
        )),
        "{links}"
    );
    assert!(dev.is_running(), "{}", dev.output());
}

#[test]
fn a_device_keeps_serving_while_the_rd_is_away_and_registers_again_when_it_returns() {
    let rd_addr = free_local_addr();
    let rd = Rd::start(&rd_addr);
    let uri = rd.uri();
    let addr = free_local_addr();
    let mut dev = device(&addr, &uri, "dev2");
    dev.wait_for(
        &format!("rd: registered with {uri} as dev2"),
        REGISTERS_WITHIN,
    )
    .unwrap();
    drop(rd);
    // The next refresh (at most 3 s away) goes unanswered: one line per failed attempt.
    let line = dev
        .wait_for(&format!("rd: {uri} unreachable ("), REGISTERS_WITHIN)
        .unwrap();
    assert!(line.contains("), retrying in "), "{line}");
    let o = trevm(&["call", &format!("coap://{addr}/status")]);
    assert!(
        o.status.success(),
        "the device serves without its RD: {}",
        text(&o)
    );
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("\"capsules\""),
        "{}",
        text(&o)
    );

    let rd = Rd::start(&rd_addr);
    dev.wait_for(
        &format!("rd: registered with {uri} as dev2"),
        REGISTERS_WITHIN,
    )
    .unwrap();
    let endpoints = rd.until(
        "dev2 back in the lookup",
        |rd| rd.endpoints(&[]),
        |a| a.contains("ep=\"dev2\""),
    );
    assert!(
        endpoints.contains(&format!("base=\"coap://{addr}\"")),
        "{endpoints}"
    );
    assert!(dev.is_running(), "{}", dev.output());
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
