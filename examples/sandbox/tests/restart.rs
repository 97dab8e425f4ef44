//! What survives a restart, as a user sees it: capsules uploaded to the device are back after it
//! restarts (and deleted ones are not), and killing the device (SIGKILL) at any point of an
//! upload that replaces a capsule leaves that name holding the complete old capsule or the
//! complete new one, never a torn or missing one.

use std::net::UdpSocket;
use std::path::Path;
use std::time::{Duration, Instant};

use trevm_coap::client as coap;
use trevm_coap::message::code;
use trevm_testkit::Running;

/// A bound on every wait, so that a hung device fails the test instead of hanging it.
const WAIT: Duration = Duration::from_secs(20);

const V1_ANSWER: &str = "Hello from the sandbox!";
const V2_ANSWER: &str = "big capsule: 45056 bytes";

#[path = "../../support/payload.rs"]
mod payload;

/// The device on `addr` keeping its state in `state`, and a client socket for it.
fn start(addr: &str, state: &Path) -> (Running, Client) {
    let open = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/open.yml");
    let mut device = Running::start_with_env(
        env!("CARGO_BIN_EXE_example-sandbox"),
        &[addr, open],
        &[("TREVM_STATE_DIR", state)],
    )
    .expect("start");
    device.wait_for("CoAP device on coap://", WAIT).unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").expect("client socket");
    socket.connect(addr).expect("connect");
    socket.set_read_timeout(Some(WAIT)).unwrap();
    (device, Client::new(socket))
}

fn free_addr() -> String {
    let port = UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free port")
        .port();
    format!("127.0.0.1:{port}")
}

/// trevm-coap's client over a socket, one try per request (each wait bounded by [`WAIT`]).
struct Client {
    socket: UdpSocket,
    coap: coap::Client,
}

impl Client {
    fn new(socket: UdpSocket) -> Client {
        let timing = coap::Timing {
            ack_timeout_ms: WAIT.as_millis() as u64,
            max_retransmit: 0,
        };
        let coap = coap::Client::new(0, timing, coap::Limits::default());
        Client { socket, coap }
    }

    /// Drives the request started last: its answer, or `None` right after sending datagram
    /// number `stop` (counting from 0) without waiting for its answer.
    fn drive(&mut self, stop: usize) -> Option<coap::Reply> {
        let epoch = Instant::now();
        let now = || epoch.elapsed().as_millis() as u64;
        let mut sent = 0;
        let mut buf = [0u8; coap::MAX_DATAGRAM];
        loop {
            match self.coap.poll(now()) {
                coap::Step::Send(datagram) => {
                    self.socket.send(datagram).expect("send");
                    if sent == stop {
                        return None;
                    }
                    sent += 1;
                }
                coap::Step::Wait { .. } => {
                    let n = self.socket.recv(&mut buf).expect("a reply from the device");
                    self.coap.receive(&buf[..n], now());
                }
                coap::Step::Progress { .. } => {}
                coap::Step::Done(reply) => return Some(reply.expect("an answer")),
                coap::Step::Idle => unreachable!("a request was started"),
            }
        }
    }

    fn request(&mut self, c: u8, path: &[&str]) -> (u8, String) {
        self.coap
            .start(coap::Request::new(c, path), 0)
            .expect("start");
        let m = self.drive(usize::MAX).expect("an answer");
        (m.code, String::from_utf8_lossy(&m.payload).into_owned())
    }

    /// Uploads `body` to `path` in 1024-byte blocks until block `stop` — that one is sent
    /// without waiting for its answer; all of them and the final answer's code when `stop` is
    /// past the last.
    fn upload(&mut self, path: &[&str], body: &[u8], stop: usize) -> Option<u8> {
        let put = coap::Request::new(code::PUT, path).with_payload(body.to_vec());
        self.coap.start(put, 0).expect("start");
        self.drive(stop).map(|reply| reply.code)
    }
}

#[test]
fn uploaded_capsules_are_back_after_a_restart_and_deleted_ones_are_not() {
    let (v1, v2) = (payload::capsule("sandbox"), payload::capsule("sandbox-big"));
    let state = tempfile::tempdir().expect("state dir");
    let addr = free_addr();
    let (device, mut c) = start(&addr, state.path());
    assert_eq!(
        c.upload(&["sandbox", "hello"], &v1, usize::MAX),
        Some(code::CREATED)
    );
    assert_eq!(
        c.upload(&["sandbox", "big"], &v2, usize::MAX),
        Some(code::CREATED)
    );
    drop(device);

    let (mut device, mut c) = start(&addr, state.path());
    device
        .wait_for("restored sandbox capsule `hello` (version ", WAIT)
        .unwrap();
    assert_eq!(
        c.request(code::GET, &["sandbox", "hello"]),
        (code::CONTENT, V1_ANSWER.to_string())
    );
    let (got, text) = c.request(code::GET, &["sandbox", "big"]);
    assert!(
        got == code::CONTENT && text.starts_with(V2_ANSWER),
        "{text}"
    );
    assert_eq!(
        c.request(code::DELETE, &["sandbox", "big"]).0,
        code::DELETED
    );
    drop(device);

    let (_device, mut c) = start(&addr, state.path());
    assert_eq!(c.request(code::GET, &["sandbox", "big"]).0, code::NOT_FOUND);
    assert_eq!(
        c.request(code::GET, &["sandbox", "hello"]),
        (code::CONTENT, V1_ANSWER.to_string())
    );
}

#[test]
fn killing_the_device_during_a_replacement_leaves_the_old_or_the_new_capsule() {
    let (v1, v2) = (payload::capsule("sandbox"), payload::capsule("sandbox-big"));
    let state = tempfile::tempdir().expect("state dir");
    let addr = free_addr();
    {
        let (_device, mut c) = start(&addr, state.path());
        assert_eq!(
            c.upload(&["sandbox", "x"], &v1, usize::MAX),
            Some(code::CREATED)
        );
    }
    // Kill points: after some blocks of the upload, and after its last block with a growing
    // pause (0–11 ms, then longer), which lands the kill in the device's admission (verify,
    // load, instantiate: a few ms here) or in writing the store. Each round replaces the capsule the previous round left, v1 by v2 and
    // v2 by v1, so both directions are cut.
    let mut holds_v2 = false;
    let mut seen_new = 0;
    let rounds: Vec<(usize, u64)> = [(0, 0), (1, 0), (20, 0)]
        .into_iter()
        .chain((0..12).chain([20, 40, 80]).map(|ms| (usize::MAX - 1, ms)))
        .collect();
    for (stop, pause_ms) in rounds {
        let (body, answer_of_new) = if holds_v2 {
            (&v1, V1_ANSWER)
        } else {
            (&v2, V2_ANSWER)
        };
        let (device, mut c) = start(&addr, state.path());
        let last = body.len().div_ceil(1024) - 1;
        c.upload(&["sandbox", "x"], body, stop.min(last));
        std::thread::sleep(Duration::from_millis(pause_ms));
        drop(device); // SIGKILL

        let (_device, mut c) = start(&addr, state.path());
        let (got, text) = c.request(code::GET, &["sandbox", "x"]);
        assert_eq!(
            got,
            code::CONTENT,
            "after a kill at block {stop} + {pause_ms} ms: `x` answers {} {text}",
            code::dotted(got)
        );
        let is_v1 = text == V1_ANSWER;
        let is_v2 = text.starts_with(V2_ANSWER);
        assert!(is_v1 || is_v2, "neither capsule answered: {text}");
        if text.starts_with(answer_of_new) {
            seen_new += 1;
        }
        holds_v2 = is_v2;
    }
    // The kills after the last block did not all land before the device acted on it (or the
    // test would not cut the store writes at all).
    assert!(seen_new > 0, "no round completed its replacement");
}
