//! `trevm logs` against a fake device that serves `/logs` with Observe (RFC 7641) as the shared
//! contract says: lines printed as notifications come, once each (a retransmitted confirmable
//! notification too), gaps and restarts said, a lapsed observation registered again with
//! `?after=<last seq>` and the same token, and the device's refusals (4.01, 4.03, 4.04) as exit 1
//! with a clear message. End to end against `trevm serve`: open, over EDHOC + OSCORE (with the
//! policy's 4.01 and 4.03), aiocoap's observation client, and a device that comes up after
//! `trevm logs` started. Every wait is for an observable event with a deadline.

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use trevm_coap::message::{Message, MsgType, code, opt};
use trevm_testkit::{Running, output_text as text, serve_open, serve_open_at};

const TREVM: &str = env!("CARGO_BIN_EXE_trevm");
const WITHIN: Duration = Duration::from_secs(20);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fake device: a UDP socket the test answers from.
struct Fake {
    socket: UdpSocket,
    mid: u16,
}

impl Fake {
    fn new() -> Fake {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        Fake { socket, mid: 1000 }
    }

    fn url(&self) -> String {
        format!("coap://{}", self.socket.local_addr().unwrap())
    }

    /// The next datagram (parsed) that `accept` takes, within [`WITHIN`].
    fn expect(&self, what: &str, accept: impl Fn(&Message) -> bool) -> (Message, SocketAddr) {
        let deadline = Instant::now() + WITHIN;
        let mut buf = [0u8; 2048];
        while Instant::now() < deadline {
            if let Ok((n, from)) = self.socket.recv_from(&mut buf)
                && let Ok(m) = Message::parse(&buf[..n])
                && accept(&m)
            {
                return (m, from);
            }
        }
        panic!("no {what} within {WITHIN:?}");
    }

    /// The next registration on `/logs` (a GET with Observe: 0).
    fn registration(&self) -> (Message, SocketAddr) {
        self.expect("registration", |m| {
            m.code == code::GET && m.option(opt::OBSERVE) == Some(&[][..])
        })
    }

    /// Answers `request` (piggybacked) with `code`, Observe `observe` and Max-Age `max_age`.
    fn answer(
        &self,
        request: &(Message, SocketAddr),
        code: u8,
        observe: Option<u32>,
        max_age: u32,
        body: &str,
    ) {
        let mut m = Message {
            ty: MsgType::Ack,
            code,
            mid: request.0.mid,
            token: request.0.token.clone(),
            payload: body.as_bytes().to_vec(),
            ..Default::default()
        };
        if let Some(v) = observe {
            m.add_uint_option(opt::OBSERVE, v);
        }
        m.add_uint_option(opt::CONTENT_FORMAT, 0);
        m.add_uint_option(opt::MAX_AGE, max_age);
        self.socket.send_to(&m.encode(), request.1).unwrap();
    }

    /// Sends a confirmable notification; its bytes (to send again).
    fn notify(&mut self, request: &(Message, SocketAddr), observe: u32, body: &str) -> Vec<u8> {
        self.mid += 1;
        let mut m = Message {
            ty: MsgType::Con,
            code: code::CONTENT,
            mid: self.mid,
            token: request.0.token.clone(),
            payload: body.as_bytes().to_vec(),
            ..Default::default()
        };
        m.add_uint_option(opt::OBSERVE, observe);
        m.add_uint_option(opt::MAX_AGE, 60);
        let bytes = m.encode();
        self.socket.send_to(&bytes, request.1).unwrap();
        bytes
    }

    /// Waits for the empty ACK of the notification with message ID `mid`.
    fn acked(&self, mid: u16) {
        self.expect("ACK", |m| {
            m.ty == MsgType::Ack && m.mid == mid && m.code == code::EMPTY
        });
    }
}

#[test]
fn notifications_are_printed_once_with_gaps_and_restarts_said() {
    let mut fake = Fake::new();
    let mut logs = Running::start(TREVM, &["logs", &fake.url()]).unwrap();
    let reg = fake.registration();
    assert_eq!(reg.0.path().unwrap(), ["logs"]);
    assert_eq!(reg.0.option(opt::URI_QUERY), None, "the newest lines first");
    fake.answer(&reg, code::CONTENT, Some(1), 60, "#1 0.100 hello: one\n");
    logs.wait_for("[   0.100] hello: one", WITHIN).unwrap();

    // A confirmable notification whose ACK is "lost": sent again, acknowledged again, printed once.
    let two = fake.notify(&reg, 2, "#2 0.200 hello: two\n#3 12.045 other: three\n");
    fake.acked(fake.mid);
    fake.socket.send_to(&two, reg.1).unwrap();
    fake.acked(fake.mid);
    logs.wait_for("[  12.045] other: three", WITHIN).unwrap();

    fake.notify(&reg, 3, "#6 13.000 hello: six\n");
    fake.acked(fake.mid);
    logs.wait_for("[missed 2 lines: #4 to #5]", WITHIN).unwrap();
    logs.wait_for("hello: six", WITHIN).unwrap();

    fake.notify(&reg, 4, "#1 0.050 hello: reborn\n");
    fake.acked(fake.mid);
    logs.wait_for("[the device restarted]", WITHIN).unwrap();
    logs.wait_for("[   0.050] hello: reborn", WITHIN).unwrap();
    // Everything before "reborn" was handled before it: "two" was printed once.
    let twos = logs
        .lines()
        .iter()
        .filter(|l| l.contains("hello: two"))
        .count();
    assert_eq!(twos, 1, "{}", logs.output());
}

#[test]
fn a_lapsed_observation_is_registered_again_after_the_last_seq() {
    let fake = Fake::new();
    let mut logs = Running::start(TREVM, &["logs", &fake.url(), "--since-start"]).unwrap();
    let reg = fake.registration();
    assert_eq!(reg.0.option(opt::URI_QUERY), Some(&b"after=0"[..]));
    // Max-Age 1 s and nothing after: the client registers again, after what it printed.
    fake.answer(
        &reg,
        code::CONTENT,
        Some(1),
        1,
        "#1 0.100 a: x\n#2 0.200 a: y\n",
    );
    logs.wait_for("a: y", WITHIN).unwrap();
    let again = fake.registration();
    assert_eq!(again.0.option(opt::URI_QUERY), Some(&b"after=2"[..]));
    // From the same endpoint with the same token: the device updates its observer.
    assert_eq!((&again.0.token, again.1), (&reg.0.token, reg.1));
    fake.answer(&again, code::CONTENT, Some(7), 60, "#3 0.300 a: z\n");
    logs.wait_for("[   0.300] a: z", WITHIN).unwrap();
}

/// `trevm logs` against a device answering the registration with `code`: its exit and output.
fn refused_with(code: u8) -> (std::process::Output, String) {
    let fake = Fake::new();
    let url = fake.url();
    let answering = std::thread::spawn(move || {
        let reg = fake.registration();
        fake.answer(&reg, code, None, 60, "");
    });
    let out = trevm_testkit::run_bounded(TREVM, &["logs", &url], &root(), WITHIN);
    answering.join().unwrap();
    let t = text(&out);
    (out, t)
}

#[test]
fn a_device_s_refusal_ends_it_with_a_clear_message() {
    for (code, says) in [
        (
            code::UNAUTHORIZED,
            "not allowed to read /logs by the device's policy",
        ),
        (
            code::FORBIDDEN,
            "not allowed to read /logs by the device's policy",
        ),
        (code::NOT_FOUND, "the device has no /logs"),
    ] {
        let (out, text) = refused_with(code);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(text.contains(says), "{text}");
    }
}

/// End to end: `trevm serve` (open policy) with a persistent capsule that logs when it starts;
/// `trevm logs --since-start` prints its line from the device's `/logs`.
#[test]
fn trevm_logs_prints_a_capsule_s_line_from_trevm_serve() {
    let capsule = root().join("payloads/coap-persistent");
    let (_device, addr) = serve_open(TREVM, &["--persistent", capsule.to_str().unwrap()]);
    let url = format!("coap://{addr}");
    let mut logs = Running::start(TREVM, &["logs", &url, "--since-start"]).unwrap();
    let line = logs
        .wait_for(
            "coap-persistent: persistent capsule version 1 ready",
            WITHIN,
        )
        .unwrap();
    assert!(line.starts_with('['), "{line}");
}

/// End to end over EDHOC + OSCORE: `trevm serve --policy` where the admin may do anything, the
/// reader may GET only `/sandbox/*` and strangers only list. The admin's `trevm logs` prints the
/// capsule's line, and the line of its second start (a notification the device protected with
/// its own Partial IV, after the admin pushes it again); the reader gets 4.03, a client
/// without credentials 4.01, each as exit 1 with a clear message.
#[test]
fn trevm_logs_over_oscore_and_the_policy_s_refusals() {
    use trevm_testkit::edhoc::{admin_and_reader_policy, keygen, write_diag};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let admin_cred = keygen(d, "admin", "2b");
    let reader_cred = keygen(d, "reader", "2c");
    std::fs::write(
        d.join("peers.yml"),
        admin_and_reader_policy(&admin_cred, &reader_cred),
    )
    .unwrap();
    let addr = trevm_testkit::free_local_addr();
    let capsule = root().join("payloads/coap-persistent");
    let mut device = Running::start(
        TREVM,
        &[
            "serve",
            "--listen",
            &addr,
            "--policy",
            d.join("peers.yml").to_str().unwrap(),
            "--persistent",
            capsule.to_str().unwrap(),
        ],
    )
    .unwrap();
    let line = device
        .wait_for("CoAP server identity: ", Duration::from_secs(300))
        .unwrap();
    let identity = line.split_once("CoAP server identity: ").unwrap().1.trim();
    let base = format!("coap://{addr}");
    let pinned = format!("{{14: {identity}}}");
    let admin = write_diag(d, "admin.diag", "admin", &admin_cred, &pinned, &base);
    let reader = write_diag(d, "reader.diag", "reader", &reader_cred, &pinned, &base);

    let mut logs = Running::start(
        TREVM,
        &[
            "logs",
            &base,
            "--since-start",
            "--credentials",
            admin.to_str().unwrap(),
        ],
    )
    .unwrap();
    logs.wait_for(
        "coap-persistent: persistent capsule version 1 ready",
        WITHIN,
    )
    .unwrap();

    let run = |args: &[&str]| {
        let o = trevm_testkit::run_bounded(TREVM, args, &root(), Duration::from_secs(300));
        (o.status.code(), text(&o))
    };
    // A line logged after the registration comes as a notification the device protected.
    let (status, out) = run(&[
        "push",
        capsule.to_str().unwrap(),
        &format!("{base}/vm-control"),
        "--credentials",
        admin.to_str().unwrap(),
    ]);
    assert_eq!(status, Some(0), "{out}");
    let second = logs.wait_for(
        "coap-persistent: persistent capsule version 1 ready",
        WITHIN,
    );
    assert!(second.is_ok(), "{second:?}");
    let (status, out) = run(&["logs", &base, "--credentials", reader.to_str().unwrap()]);
    assert_eq!(status, Some(1), "{out}");
    assert!(
        out.contains("4.03") && out.contains("this client is not allowed to read /logs"),
        "{out}"
    );
    let (status, out) = run(&["logs", &base]);
    assert_eq!(status, Some(1), "{out}");
    assert!(
        out.contains("4.01") && out.contains("try --credentials"),
        "{out}"
    );
}

/// aiocoap's observation client (its library: the `aiocoap-client --observe` of aiocoap 0.4.17
/// prints only the first response, against aiocoap's own observable server as well, although it
/// receives and acknowledges the notifications) on `trevm serve`'s `/logs`: the first
/// representation and a notification (the capsule pushed again logs its start) arrive.
const AIOCOAP_OBSERVE: &str = "import asyncio, sys, aiocoap
async def main():
    ctx = await aiocoap.Context.create_client_context()
    req = ctx.request(aiocoap.Message(code=aiocoap.GET, uri=sys.argv[1], observe=0))
    print((await req.response).payload.decode(), end='', flush=True)
    async for n in req.observation:
        print(n.payload.decode(), end='', flush=True)
asyncio.run(main())
";

#[test]
fn aiocoap_observes_logs() {
    let capsule = root().join("payloads/coap-persistent");
    let (_device, addr) = serve_open(TREVM, &["--persistent", capsule.to_str().unwrap()]);
    let url = format!("coap://{addr}/logs?after=0");
    let mut observer = Running::start("python3", &["-c", AIOCOAP_OBSERVE, &url])
        .expect("python3 with aiocoap (pip install aiocoap)");
    let ready = "coap-persistent: persistent capsule version 1 ready";
    let first = observer.wait_for(ready, WITHIN).unwrap();
    assert!(first.starts_with("#1 "), "{first}");
    let o = trevm_testkit::run_bounded(
        TREVM,
        &[
            "push",
            capsule.to_str().unwrap(),
            &format!("coap://{addr}/vm-control"),
        ],
        &root(),
        Duration::from_secs(300),
    );
    assert!(o.status.success(), "{}", text(&o));
    let second = observer.wait_for(ready, WITHIN).unwrap();
    assert!(second.starts_with("#2 "), "{second}");
}

/// `trevm logs` started before its device: it says it is reconnecting (stderr) and prints the
/// device's lines once the device is up.
#[test]
fn trevm_logs_waits_for_an_unreachable_device() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let addr = trevm_testkit::free_local_addr();
    /// Killed when dropped, also when the test fails.
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut logs = Killed(
        Command::new(TREVM)
            .args(["logs", &format!("coap://{addr}"), "--since-start"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (tx, rx) = std::sync::mpsc::channel();
    for pipe in [
        Box::new(logs.0.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(logs.0.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    let mut seen = Vec::new();
    let mut wait_for = |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            seen.push(line.clone());
            if line.contains(needle) {
                return;
            }
        }
        panic!("no line with {needle:?}: {seen:#?}");
    };
    wait_for("reconnecting");
    let capsule = root().join("payloads/coap-persistent");
    let _device = serve_open_at(TREVM, &addr, &["--persistent", capsule.to_str().unwrap()]);
    wait_for("coap-persistent: persistent capsule version 1 ready");
}
