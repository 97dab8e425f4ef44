//! A device's whole lifecycle, driven by the clients users use (`trevm push/call/ls
//! --credentials`, `aiocoap-client --credentials`, plain UDP for garbage), against a *device under
//! test* (`trevm_testkit::dut`): one scenario list, two devices.
//!
//! - `TREVM_DUT=native` (default): `trevm serve --policy peers.yml`, which serves the sandbox, the
//!   persistent and the ephemeral slot behind EDHOC + OSCORE. Runs in `cargo test`.
//! - `TREVM_DUT=qemu`: the Cortex-M4 `net` firmware in QEMU (`firmware/qemu-mps2-an386/serve.sh
//!   --port PORT --state DIR`, the policy compiled in from `TREVM_PEERS`), reached through
//!   `hostfwd=udp:127.0.0.1:PORT-:5683`. `.ci/run` runs it as
//!   `TREVM_DUT=qemu cargo test --release -p trevm-cli --test lifecycle` after the workspace's
//!   tests (the native run among them) whenever serve.sh exists; serve.sh builds the firmware
//!   itself (a `cargo build` from inside this
//!   test process does not wait on cargo's build-directory lock: `cargo test` holds that lock
//!   only while it compiles). `TREVM_DUT_BOOT_SECS` bounds the build and boot (default 900 s).
//!
//! Scenarios, in order, on one device (later ones rely on what earlier ones installed):
//! 1. credentials: admin and reader keys from `aiocoap-keygen`, a peers.yml naming them, client
//!    diags pinning the identity the device prints;
//! 2. the sandbox with `trevm`: a stranger's upload gets 4.01; the admin uploads a signed capsule
//!    asking for 1024-byte blocks (inside OSCORE the CLI sends 512: coapcore copies each protected
//!    request into 1152 bytes, `trevm_coap::client::MAX_OSCORE_BLOCK`), runs it, lists it; a copy
//!    altered after signing is refused with 4.00 while the old one keeps answering; a newer
//!    version in 64-byte blocks replaces it; the older one is then refused (4.03); another is
//!    uploaded and deleted;
//! 3. the sandbox with `aiocoap-client --credentials`: upload, run, delete;
//! 4. the persistent slot: `PUT /vm-control`, `GET /vm-control`, `GET /vm/hello`;
//! 5. the ephemeral slot: `PUT /ephemeral` starts a capsule, `GET` shows its result, `DELETE`;
//! 6. restart and reset: capsules, the persistent capsule, ledgers (the older version still
//!    refused) and the identity (the same `CoAP server identity` line) survive;
//! 7. bad input: a burst of malformed datagrams, unfinished Block1 uploads from several plain
//!    peers, authenticated peers that vanish mid-upload until the device's upload budget is
//!    full (a new upload gets 5.03), then that budget comes back (a new full upload is accepted,
//!    within a bounded poll: an idle upload's slot is taken over after `UPLOAD_IDLE_MS`), and,
//!    when `/status` reports the heap, the heap grew no further than what the vanished uploads
//!    held. The device answers throughout and never exits.
//!
//! `idle_uploads_give_their_heap_back` checks the "zero leaked bytes": the heap back to
//! its baseline once unfinished uploads have idled for `UPLOAD_IDLE_MS` (the message layer
//! forgets them at the next datagram it receives).
//!
//! Every command and wait is bounded; a handshake the device defers (5.03, too many at once) is
//! tried again a second later, as its Max-Age says. Native run time: about 40 s, most of it the
//! wait for an idle upload slot.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use trevm_cli::coap_client::{Client, Url};
use trevm_coap::Message;
use trevm_coap::message::code;
use trevm_coap::server::UPLOAD_IDLE_MS;
use trevm_coap::status::Status;
use trevm_testkit::dut::{self, DeviceUnderTest, Started};
use trevm_testkit::edhoc::{admin_and_reader_policy, keygen, write_diag};

/// How long one client command may take (the CLI gives up after about a minute by itself).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(90);

/// Runs `program` in `dir`, killed after [`COMMAND_TIMEOUT`].
fn run_in(program: &str, args: &[&str], dir: &Path) -> Output {
    trevm_testkit::run_bounded(program, args, dir, COMMAND_TIMEOUT)
}

/// The device refuses a new EDHOC handshake beyond its rate (8 at once, then one every 500 ms:
/// `trevm_coap::secure::HandshakeLimits`) with 5.03 and Max-Age 1: a user tries again a second
/// later, and so does this test (each `trevm` and `aiocoap-client` command is a handshake).
const BUSY: &str = "too many EDHOC handshakes";

/// Tries `attempt` until its output does not say [`BUSY`], a second apart; at most 30 times.
fn unless_busy<T>(mut attempt: impl FnMut() -> T, said: impl Fn(&T) -> String) -> T {
    for _ in 0..30 {
        let outcome = attempt();
        if !said(&outcome).contains(BUSY) {
            return outcome;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    panic!("the device stayed too busy for a handshake for 30 s")
}

/// [`Client::connect`] with the admin's credentials, again while the device is [`BUSY`].
fn connect(url: &str, admin: &Path) -> Client {
    unless_busy(
        || Client::connect(Url::parse(url).unwrap(), Some(admin)),
        |r| match r {
            Ok(_) => String::new(),
            Err(e) => format!("{e:#}"),
        },
    )
    .unwrap_or_else(|e| panic!("connect to {url}: {e:#}"))
}

use trevm_testkit::output_text as text;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Everything the scenarios share.
struct Rig {
    dir: tempfile::TempDir,
    dut: Box<dyn DeviceUnderTest>,
    started: Started,
    admin: PathBuf,
    reader: PathBuf,
    /// `payloads/sandbox` signed as version 100, 200; `payloads/coap-persistent`.
    v100: PathBuf,
    v200: PathBuf,
    persistent: PathBuf,
}

impl Rig {
    fn d(&self) -> &Path {
        self.dir.path()
    }

    fn base(&self) -> &str {
        &self.started.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.started.base)
    }

    /// `trevm ARGS` in the test's directory.
    fn trevm(&self, args: &[&str]) -> Output {
        unless_busy(|| run_in(env!("CARGO_BIN_EXE_trevm"), args, self.d()), text)
    }

    /// `trevm ARGS --credentials admin.diag`, which must succeed; returns stdout + stderr.
    fn admin_ok(&self, args: &[&str]) -> String {
        let admin = self.admin.to_str().unwrap();
        let o = self.trevm(&[args, &["--credentials", admin]].concat());
        assert!(o.status.success(), "trevm {args:?}: {}", self.explain(&o));
        text(&o)
    }

    /// `trevm ARGS --credentials admin.diag`, which must fail; returns stdout + stderr.
    fn admin_refused(&self, args: &[&str]) -> String {
        let admin = self.admin.to_str().unwrap();
        let o = self.trevm(&[args, &["--credentials", admin]].concat());
        assert_eq!(
            o.status.code(),
            Some(1),
            "trevm {args:?}: {}",
            self.explain(&o)
        );
        text(&o)
    }

    /// `aiocoap-client ARGS`; returns (success, stdout + stderr).
    fn aiocoap(&self, args: &[&str]) -> (bool, String) {
        // aiocoap-client says a 5.03 to its EDHOC message 1 in a traceback of its own.
        let o = unless_busy(
            || run_in("aiocoap-client", args, self.d()),
            |o| text(o).replace("5.03", BUSY),
        );
        (o.status.success(), text(&o))
    }

    /// A command's output and the device's, for a failure message.
    fn explain(&self, o: &Output) -> String {
        format!(
            "{}\n--- {} printed:\n{}",
            text(o),
            self.dut.describe(),
            self.dut.output()
        )
    }

    /// `/status`, read by the admin.
    fn status(&self) -> Status {
        let url = self.url("/status");
        let mut client = connect(&url, &self.admin);
        let reply = client
            .request(code::GET, Vec::new(), 1024, |_, _| {})
            .unwrap_or_else(|e| panic!("GET /status: {e:#}"));
        assert_eq!(reply.code, code::CONTENT, "{}", reply.describe());
        serde_json::from_slice(&reply.payload).expect("/status is a Status")
    }

    /// Heap in use, if the device reports it.
    fn heap_used(&self) -> Option<u64> {
        self.status().memory.map(|m| m.heap_used)
    }

    /// What the device's caches may hold more after bad input than before ([`CACHES`]).
    fn caches(&self) -> u64 {
        match self.status().memory {
            Some(m) if m.heap_size.is_some() => MCU_CACHES,
            _ => CACHES,
        }
    }

    fn assert_alive(&mut self, after: &str) {
        assert!(
            self.dut.is_running(),
            "the device exited after {after}:\n{}",
            self.dut.output()
        );
    }
}

/// `trevm build payloads/NAME -o OUT` with extra arguments.
fn build(dir: &Path, name: &str, out: &str, extra: &[&str]) -> PathBuf {
    let path = dir.join(out);
    let payload = root().join("payloads").join(name);
    let o = run_in(
        env!("CARGO_BIN_EXE_trevm"),
        &[
            &[
                "build",
                "-q",
                payload.to_str().unwrap(),
                "-o",
                path.to_str().unwrap(),
            ],
            extra,
        ]
        .concat(),
        dir,
    );
    assert!(o.status.success(), "trevm build {name}: {}", text(&o));
    path
}

/// Scenario 1: keys, policy, the device, diags pinning its identity; the capsules, if
/// `capsules` (else their paths lead nowhere).
fn set_up(capsules: bool) -> Rig {
    set_up_with(capsules, None)
}

/// [`set_up`], the device registering with `rd` if given.
fn set_up_with(capsules: bool, rd: Option<dut::Rd>) -> Rig {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let admin = keygen(d, "admin", "2b");
    let reader = keygen(d, "reader", "2c");
    let peers = d.join("peers.yml");
    std::fs::write(&peers, admin_and_reader_policy(&admin, &reader)).expect("peers.yml");
    let trevm = PathBuf::from(env!("CARGO_BIN_EXE_trevm"));
    let mut dut = dut::from_env(&trevm, &root(), &peers, &d.join("state")).expect("TREVM_DUT");
    if let Some(rd) = rd {
        dut.register_with(rd);
    }
    let profile = dut.build_args();
    let profile: Vec<&str> = profile.iter().map(String::as_str).collect();
    let (v100, v200, persistent) = match capsules {
        true => (
            build(
                d,
                "sandbox",
                "v100.cwasm",
                &[&profile[..], &["--version", "100"]].concat(),
            ),
            build(
                d,
                "sandbox",
                "v200.cwasm",
                &[&profile[..], &["--version", "200"]].concat(),
            ),
            build(d, "coap-persistent", "persistent.cwasm", &profile),
        ),
        false => Default::default(),
    };
    let started = dut
        .start()
        .unwrap_or_else(|e| panic!("{}: {e}", dut.describe()));
    assert!(started.identity.starts_with("{8: {1: {1: 2"), "{started:?}");
    let pinned = format!("{{14: {}}}", started.identity);
    let admin = write_diag(d, "admin.diag", "admin", &admin, &pinned, &started.base);
    let reader = write_diag(d, "reader.diag", "reader", &reader, &pinned, &started.base);
    Rig {
        dir,
        dut,
        started,
        admin,
        reader,
        v100,
        v200,
        persistent,
    }
}

/// Scenario 2.
fn sandbox_with_trevm(rig: &mut Rig) {
    let url = rig.url("/sandbox/hello");
    let v100 = rig.v100.to_str().unwrap().to_string();
    let v200 = rig.v200.to_str().unwrap().to_string();

    // A stranger may not upload.
    let o = rig.trevm(&["push", &v100, &url]);
    assert_eq!(o.status.code(), Some(1), "{}", rig.explain(&o));
    assert!(
        text(&o).contains("4.01 Unauthorized"),
        "{}",
        rig.explain(&o)
    );

    // The admin: 1024-byte blocks, run, list.
    let out = rig.admin_ok(&["push", &v100, &url, "--block", "1024"]);
    assert!(out.contains("2.01 Created"), "{out}");
    let out = rig.admin_ok(&["call", &url]);
    assert!(out.contains("Hello from the sandbox!"), "{out}");
    let out = rig.admin_ok(&["ls", rig.base()]);
    assert!(out.contains("/sandbox/hello"), "{out}");
    let row = |out: &str| {
        out.lines()
            .find(|l| l.starts_with("sandbox ") && l.contains(" hello "))
            .unwrap_or_else(|| panic!("no status row for hello: {out}"))
            .to_string()
    };
    assert!(row(&out).contains("version 100"), "{out}");
    // The reader runs it.
    let reader = rig.reader.to_str().unwrap().to_string();
    let o = rig.trevm(&["call", &url, "--credentials", &reader]);
    assert!(
        text(&o).contains("Hello from the sandbox!"),
        "{}",
        rig.explain(&o)
    );

    // Altered after signing: one byte of the capsule flipped, nothing recomputed.
    let mut bytes = std::fs::read(&rig.v200).expect("v200");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    let altered = rig.d().join("altered.cwasm");
    std::fs::write(&altered, bytes).expect("write");
    let out = rig.admin_refused(&["push", altered.to_str().unwrap(), &url]);
    assert!(out.contains("4.00 Bad Request"), "{out}");
    let out = rig.admin_ok(&["call", &url]);
    assert!(
        out.contains("Hello from the sandbox!"),
        "the old one answers: {out}"
    );

    // A newer version, 64-byte blocks: replaces it.
    let out = rig.admin_ok(&["push", &v200, &url, "--block", "64"]);
    assert!(out.contains("2.04 Changed"), "{out}");
    let out = rig.admin_ok(&["ls", rig.base()]);
    assert!(row(&out).contains("version 200"), "{out}");
    // The older one is refused now: the ledger.
    let out = rig.admin_refused(&["push", &v100, &url]);
    assert!(out.contains("4.03 Forbidden"), "{out}");

    // The same capsule under another name (the ledger is the capsule's, by its signed name:
    // version 200 or newer), deleted.
    let gone = rig.url("/sandbox/gone");
    rig.admin_ok(&["push", &v200, &gone]);
    let out = rig.admin_ok(&["call", "-m", "delete", &gone]);
    assert!(out.contains("2.02 Deleted"), "{out}");
    let out = rig.admin_refused(&["call", &gone]);
    assert!(out.contains("4.04 Not Found"), "{out}");
}

/// Scenario 3.
fn sandbox_with_aiocoap(rig: &mut Rig) {
    let url = rig.url("/sandbox/aio");
    let admin = rig.admin.to_str().unwrap().to_string();
    let payload = format!("@{}", rig.v200.display());
    let (ok, out) = rig.aiocoap(&[
        "-m",
        "PUT",
        "--payload",
        &payload,
        "--credentials",
        &admin,
        &url,
    ]);
    // (aiocoap-client prints nothing for a 2.01 without a body; the GET below shows it.)
    assert!(ok, "{out}");
    let (ok, out) = rig.aiocoap(&["--credentials", &admin, &url]);
    assert!(ok && out.contains("Hello from the sandbox!"), "{out}");
    let (_, out) = rig.aiocoap(&[&url]);
    assert!(out.contains("4.01 Unauthorized"), "a stranger: {out}");
    let (ok, out) = rig.aiocoap(&["-m", "DELETE", "--credentials", &admin, &url]);
    assert!(ok, "{out}");
    let (_, out) = rig.aiocoap(&["--credentials", &admin, &url]);
    assert!(out.contains("4.04 Not Found"), "{out}");
}

/// Scenario 4.
fn persistent_slot(rig: &mut Rig) {
    let control = rig.url("/vm-control");
    let out = rig.admin_ok(&["push", rig.persistent.to_str().unwrap(), &control]);
    assert!(
        out.contains("2.04 Changed") && out.contains("serving"),
        "{out}"
    );
    let out = rig.admin_ok(&["call", &control]);
    assert!(out.contains("capsule `coap-persistent`"), "{out}");
    let out = rig.admin_ok(&["call", &rig.url("/vm/hello")]);
    assert!(
        out.contains("Hello from the persistent capsule, version 1"),
        "{out}"
    );
}

/// Scenario 5.
fn ephemeral_slot(rig: &mut Rig) {
    let url = rig.url("/ephemeral");
    let out = rig.admin_ok(&["push", rig.v200.to_str().unwrap(), &url]);
    assert!(out.contains("started sandbox: run()"), "{out}");
    // It runs in the background: poll its result, bounded.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = rig.admin_ok(&["call", &url]);
        if out.contains("run() returned \"Hello from the sandbox!\"") {
            break;
        }
        assert!(out.contains("run() running"), "{out}");
        assert!(Instant::now() < deadline, "still running: {out}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = rig.admin_ok(&["call", "-m", "delete", &url]);
    assert!(out.contains("2.02 Deleted"), "{out}");
}

/// Scenario 6: what must survive, checked after a restart and after a reset.
fn survives(rig: &mut Rig, how: &str, started: Started) {
    assert_eq!(
        started, rig.started,
        "the same identity and address after a {how}"
    );
    let out = rig.admin_ok(&["call", &rig.url("/sandbox/hello")]);
    assert!(
        out.contains("Hello from the sandbox!"),
        "after a {how}: {out}"
    );
    let out = rig.admin_ok(&["ls", rig.base()]);
    assert!(out.contains("version 200"), "after a {how}: {out}");
    let out = rig.admin_refused(&[
        "push",
        rig.v100.to_str().unwrap(),
        &rig.url("/sandbox/hello"),
    ]);
    assert!(
        out.contains("4.03 Forbidden"),
        "the ledger after a {how}: {out}"
    );
    let out = rig.admin_ok(&["call", &rig.url("/vm/hello")]);
    assert!(out.contains("version 1"), "after a {how}: {out}");
}

fn restart_and_reset(rig: &mut Rig) {
    let started = rig.dut.restart().expect("restart");
    survives(rig, "restart", started);
    let started = rig.dut.reset().expect("reset");
    survives(rig, "reset", started);
}

/// One plain confirmable exchange from `socket`, retransmitted every 2 s as a CoAP client does
/// (RFC 7252 §4.2: a datagram may be lost), for at most 20 s; the answer, if any.
fn exchange(socket: &UdpSocket, request: &Message) -> Option<Message> {
    let mut buf = [0u8; 2048];
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        socket.send(&request.encode()).expect("send");
        let resend = Instant::now() + Duration::from_secs(2);
        while Instant::now() < resend {
            let Ok(n) = socket.recv(&mut buf) else {
                continue;
            };
            if let Ok(m) = Message::parse(&buf[..n])
                && m.mid == request.mid
            {
                return Some(m);
            }
        }
    }
    None
}

fn plain_socket(base: &str) -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("socket");
    socket
        .connect(base.trim_start_matches("coap://"))
        .expect("connect");
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    socket
}

/// The device lists itself to a stranger: it is alive and answering.
fn lists_itself(rig: &mut Rig, after: &str) {
    let socket = plain_socket(rig.base());
    let get = Message::request(code::GET, 0x7e57, &[".well-known", "core"]);
    let reply = exchange(&socket, &get)
        .unwrap_or_else(|| panic!("no answer after {after}:\n{}", rig.dut.output()));
    assert_eq!(reply.code, code::CONTENT, "after {after}");
    rig.assert_alive(after);
}

/// A junk body of `len` bytes (refused when complete: not a capsule).
fn junk(len: usize) -> Vec<u8> {
    trevm_testkit::wire::Rng::new(len as u64).bytes(len)
}

/// Marks a client that stops mid-upload on purpose.
struct Vanish;

/// An authenticated peer that uploads `sent` of `total` bytes and vanishes (its socket closed).
fn vanishing_upload(rig: &Rig, name: &str, total: usize, sent: usize) -> bool {
    let mut client = connect(&rig.url(&format!("/sandbox/{name}")), &rig.admin);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        client.request(code::PUT, junk(total), 512, |done, _| {
            if done >= sent {
                std::panic::panic_any(Vanish);
            }
        })
    }));
    match outcome {
        Err(e) if e.is::<Vanish>() => true,
        Err(e) => std::panic::resume_unwind(e),
        // The device has no room for it (its upload budget, or its heap): 5.03.
        Ok(Ok(reply)) if reply.code == code::SERVICE_UNAVAILABLE => false,
        Ok(reply) => panic!("the upload ended: {:?}", reply.map(|r| r.describe())),
    }
}

/// A full junk upload from a new authenticated peer: its answer's code.
fn full_upload(rig: &Rig, name: &str, len: usize) -> u8 {
    let mut client = connect(&rig.url(&format!("/sandbox/{name}")), &rig.admin);
    client
        .request(code::PUT, junk(len), 512, |_, _| {})
        .expect("an answer")
        .code
}

/// What the device's caches may hold more after the bad input than before: security contexts
/// and handshakes of the new peers, remembered responses (`ServerLimits::dedup_bytes`: 128 KiB
/// on a host, 8 KiB with `ServerLimits::mcu()`).
const CACHES: u64 = 128 * 1024;
/// The same for a device with a fixed heap (an MCU: `ServerLimits::mcu()`, at most 4 OSCORE
/// contexts).
const MCU_CACHES: u64 = 24 * 1024;

/// Scenario 7.
fn bad_input(rig: &mut Rig) {
    // Vanishing peers end by a panic of their own: keep it out of the output.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !info.payload().is::<Vanish>() {
            hook(info)
        }
    }));
    lists_itself(rig, "the scenarios before");
    let baseline = rig.heap_used();

    // A burst of malformed datagrams from one peer.
    let socket = plain_socket(rig.base());
    let mut rng = trevm_testkit::wire::Rng::new(24);
    for i in 0..600 {
        let _ = socket.send(&trevm_testkit::wire::malformed(&mut rng, i));
    }
    lists_itself(rig, "600 malformed datagrams");

    // Unfinished plain Block1 uploads from several peers: answered (4.01 for a stranger, or
    // 2.31 Continue), then abandoned.
    for peer in 0..6u16 {
        let socket = plain_socket(rig.base());
        let mut put = Message::request(code::PUT, 0x100 + peer, &["sandbox", "junk"]);
        put.add_uint_option(trevm_coap::message::opt::BLOCK1, 0x0e);
        put.payload = junk(1024);
        let reply = exchange(&socket, &put).expect("an answer to a first block");
        assert!(
            reply.code == code::UNAUTHORIZED || reply.code == code::CONTINUE,
            "{}",
            code::dotted(reply.code)
        );
    }
    lists_itself(rig, "unfinished plain uploads");

    // Authenticated peers vanish mid-upload until the upload budget is taken: a new upload then
    // gets 5.03 (bounded: 32 peers).
    let (total, sent) = (48 * 1024, 24 * 1024);
    let mut vanished = 0;
    let mut held_most = None;
    loop {
        if !vanishing_upload(rig, &format!("v{vanished}"), total, sent) {
            // Full already: this one was refused with 5.03 at its first block.
            break;
        }
        vanished += 1;
        let held = rig.heap_used();
        held_most = held_most.max(held);
        let code = full_upload(rig, "probe", 2048);
        if code == code::SERVICE_UNAVAILABLE {
            break;
        }
        assert_eq!(
            code,
            code::BAD_REQUEST,
            "junk, complete: {}",
            code::dotted(code)
        );
        assert!(
            vanished < 32,
            "32 unfinished uploads and the device takes more"
        );
    }
    let since = Instant::now();
    lists_itself(rig, "peers vanished mid-upload");

    // The budget comes back: idle uploads are reclaimed after UPLOAD_IDLE_MS. Poll, bounded.
    let bound = Duration::from_millis(UPLOAD_IDLE_MS) + Duration::from_secs(30);
    loop {
        let code = full_upload(rig, "after", 2048);
        if code == code::BAD_REQUEST {
            break;
        }
        assert_eq!(code, code::SERVICE_UNAVAILABLE, "{}", code::dotted(code));
        assert!(
            since.elapsed() < bound,
            "no upload accepted within {bound:?}"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    // The heap: back to what it was (an idle upload is forgotten at the next datagram after
    // UPLOAD_IDLE_MS), but for the caches of the new peers.
    // Each one from its last block on: poll (every `/status` is a datagram), bounded.
    if let (Some(before), Some(held)) = (baseline, held_most) {
        let caches = rig.caches();
        loop {
            let after = rig.heap_used().expect("memory reported before");
            if after <= before + caches {
                break;
            }
            assert!(
                since.elapsed() < bound,
                "heap {before} before the bad input, {held} with the uploads held, still \
                 {after} after {bound:?}"
            );
            std::thread::sleep(Duration::from_secs(1));
        }
    }
    lists_itself(rig, "the budget came back");
    let out = rig.admin_ok(&["call", &rig.url("/sandbox/hello")]);
    assert!(out.contains("Hello from the sandbox!"), "{out}");
    let _ = std::panic::take_hook();
}

#[test]
fn a_device_lives_through_uploads_runs_restarts_and_bad_input() {
    let mut rig = set_up(true);
    sandbox_with_trevm(&mut rig);
    sandbox_with_aiocoap(&mut rig);
    persistent_slot(&mut rig);
    ephemeral_slot(&mut rig);
    restart_and_reset(&mut rig);
    bad_input(&mut rig);
    rig.assert_alive("everything");
    rig.dut.stop();
}

/// The "zero leaked bytes": the heap unfinished uploads hold comes back once they have
/// been idle for `UPLOAD_IDLE_MS`, without a new upload having to need their slots. Checked only
/// on a device that reports its heap.
#[test]
fn idle_uploads_give_their_heap_back() {
    let mut rig = set_up(false);
    let Some(before) = rig.heap_used() else {
        eprintln!(
            "{} does not report its heap: nothing to check",
            rig.dut.describe()
        );
        return;
    };
    let caches = rig.caches();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !info.payload().is::<Vanish>() {
            hook(info)
        }
    }));
    // Uploads the device can hold at once: 3 × 128 KiB on a host, 3 × 16 KiB on an MCU (whose
    // `ServerLimits::mcu()` takes bodies up to 64 KiB, 64 KiB in all).
    let sent = if caches == MCU_CACHES {
        8 * 1024
    } else {
        64 * 1024
    };
    for i in 0..3 {
        assert!(
            vanishing_upload(&rig, &format!("v{i}"), 2 * sent, sent),
            "upload {i} refused"
        );
    }
    let held = rig.heap_used().expect("memory");
    if held <= before + caches {
        // A device that reassembles uploads straight into its store holds none on the heap.
        eprintln!("heap {before} before, {held} with 3 unfinished uploads: none held");
        return;
    }
    let bound = Duration::from_millis(UPLOAD_IDLE_MS) + Duration::from_secs(30);
    let since = Instant::now();
    loop {
        let now = rig.heap_used().expect("memory");
        if now <= before + caches {
            break;
        }
        assert!(
            since.elapsed() < bound,
            "heap {before} before, {held} with 3 unfinished uploads, still {now} after {bound:?}"
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    rig.assert_alive("the uploads were given up");
    rig.dut.stop();
}

/// `aiocoap-rd` on 127.0.0.1:`port`, once it answers.
fn start_rd(port: u16) -> trevm_testkit::Running {
    let bind = format!("127.0.0.1:{port}");
    let rd = trevm_testkit::Running::start("aiocoap-rd", &["--bind", &bind]).expect("aiocoap-rd");
    let url = format!("coap://{bind}/.well-known/core");
    let since = Instant::now();
    while !run_in("aiocoap-client", &[&url], Path::new("."))
        .status
        .success()
    {
        assert!(
            since.elapsed() < COMMAND_TIMEOUT,
            "aiocoap-rd does not answer"
        );
    }
    rd
}

/// Polls the RD's endpoint lookup with `query` until its answer satisfies `want` (bounded by
/// `within`); returns the answer.
fn lookup_until(
    rig: &Rig,
    port: u16,
    query: &str,
    within: Duration,
    want: impl Fn(&str) -> bool,
) -> String {
    let url = format!("coap://127.0.0.1:{port}/endpoint-lookup/?{query}");
    let since = Instant::now();
    loop {
        let o = run_in("aiocoap-client", &[&url], rig.d());
        let answer = text(&o);
        if o.status.success() && want(&answer) {
            return answer;
        }
        assert!(
            since.elapsed() < within,
            "GET {url}: still {answer:?} after {within:?}\n--- {} printed:\n{}",
            rig.dut.describe(),
            rig.dut.output()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The fleet device side, on the device under test (the QEMU firmware in CI's second
/// pass): it registers with a Resource Directory with its address and what it runs, registers
/// again when what it runs changes, keeps serving while the RD is away and registers again
/// when it is back.
#[test]
fn registers_with_a_resource_directory_and_again_after_it_returns() {
    let port: u16 = trevm_testkit::free_local_addr()
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .expect("a free port");
    let rd = start_rd(port);
    let mut rig = set_up_with(
        true,
        Some(dut::Rd {
            port,
            ep: "dut".into(),
            lifetime: 4,
        }),
    );
    let within = Duration::from_secs(60);
    let base = format!("base=\"{}\"", rig.base());
    let found = lookup_until(&rig, port, "ep=dut", within, |a| a.contains(&base));
    assert!(found.contains("et=\"trevm.device\""), "{found}");

    // What it runs is in its links: a lookup by capsule name finds it once it runs one.
    let v100 = rig.v100.to_str().unwrap().to_string();
    rig.admin_ok(&["push", &v100, &rig.url("/sandbox/hello")]);
    lookup_until(&rig, port, "name=hello&version=100", within, |a| {
        a.contains("ep=\"dut\"")
    });

    // The RD goes away: the device says so and keeps serving.
    rd.finish(Duration::ZERO);
    let process = rig.dut.process_mut().expect("running");
    let line = process
        .wait_for("unreachable", within)
        .unwrap_or_else(|e| panic!("no word of the RD going away: {e}"));
    assert!(line.contains("rd: "), "{line}");
    let out = rig.admin_ok(&["call", &rig.url("/sandbox/hello")]);
    assert!(out.contains("Hello from the sandbox!"), "{out}");

    // It comes back empty on the same port: the device registers again, links and all.
    let _rd = start_rd(port);
    lookup_until(&rig, port, "name=hello", Duration::from_secs(120), |a| {
        a.contains(&base)
    });
    rig.assert_alive("the RD's return");
    rig.dut.stop();
}
