//! The sandbox device driven by real third-party CoAP clients, as a user would: libcoap's
//! `coap-client-notls` (Debian `libcoap3-bin`) and `aiocoap-client` (PyPI `aiocoap`).

use std::net::UdpSocket;
use std::process::Command;
use std::time::Duration;

use trevm_testkit::Running;

#[path = "../../support/payload.rs"]
mod payload;

/// Runs a client; returns (success, stdout + stderr).
fn client(program: &str, args: &[&str]) -> (bool, String) {
    let o = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} ({e}): install libcoap3-bin and aiocoap (see .ci/run)")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), text)
}

fn start() -> (Running, String) {
    let port = UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    // An open device (anyone on loopback may do anything): these tests are about the lifecycle.
    let open = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/open.yml");
    let mut device =
        Running::start(env!("CARGO_BIN_EXE_example-sandbox"), &[&addr, open]).expect("start");
    device
        .wait_for("CoAP device on coap://", Duration::from_secs(20))
        .unwrap();
    (device, format!("coap://{addr}"))
}

#[test]
fn libcoap_uploads_runs_lists_and_deletes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let big = payload::file("sandbox-big", dir.path());
    let hello = payload::file("sandbox", dir.path());
    assert!(std::fs::metadata(&big).unwrap().len() > 40 * 1024);
    let (_device, base) = start();
    let coap = |args: &[&str]| client("coap-client-notls", args);

    // 64-byte blocks: ~1000 of them, so libcoap's tokens grow to 8 bytes on the way.
    let (ok, out) = coap(&[
        "-m",
        "put",
        "-b",
        "64",
        "-f",
        big.to_str().unwrap(),
        "-U",
        &format!("{base}/sandbox/big"),
    ]);
    assert!(ok && !out.contains("4.") && !out.contains("5."), "{out}");
    let (_, out) = coap(&["-m", "get", "-U", &format!("{base}/sandbox/big")]);
    assert!(
        out.contains("big capsule: 45056 bytes of data, checksum "),
        "{out}"
    );

    // 1024-byte blocks.
    let (ok, out) = coap(&[
        "-m",
        "put",
        "-b",
        "1024",
        "-f",
        hello.to_str().unwrap(),
        "-U",
        &format!("{base}/sandbox/hello"),
    ]);
    assert!(ok && !out.contains("4."), "{out}");
    let (_, out) = coap(&["-m", "get", "-U", &format!("{base}/sandbox/hello")]);
    assert!(out.contains("Hello from the sandbox!"), "{out}");

    let (_, out) = coap(&["-m", "get", "-U", &format!("{base}/.well-known/core")]);
    assert!(
        out.contains("</sandbox/big>") && out.contains("</sandbox/hello>"),
        "{out}"
    );

    let (_, out) = coap(&["-m", "delete", "-U", &format!("{base}/sandbox/big")]);
    assert!(!out.contains("4."), "{out}");
    // coap-client-notls exits 0 even on 4.xx: check what it printed.
    let (_, out) = coap(&["-m", "get", "-U", &format!("{base}/sandbox/big")]);
    assert!(out.contains("4.04"), "{out}");
    let (_, out) = coap(&["-m", "get", "-U", &format!("{base}/sandbox/hello")]);
    assert!(
        out.contains("Hello from the sandbox!"),
        "the other capsule still answers: {out}"
    );
}

#[test]
fn aiocoap_uploads_runs_and_deletes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let big = payload::file("sandbox-big", dir.path());
    let (_device, base) = start();
    let aiocoap = |args: &[&str]| client("aiocoap-client", args);
    let url = format!("{base}/sandbox/big");
    let (ok, out) = aiocoap(&[
        "-m",
        "PUT",
        "--payload",
        &format!("@{}", big.display()),
        &url,
    ]);
    assert!(ok, "{out}");
    let (ok, out) = aiocoap(&[&url]);
    assert!(ok && out.contains("big capsule: 45056 bytes"), "{out}");
    let (ok, out) = aiocoap(&[&format!("{base}/.well-known/core")]);
    assert!(ok && out.contains("/sandbox/big"), "{out}");
    let (ok, out) = aiocoap(&["-m", "DELETE", &url]);
    assert!(ok, "{out}");
    // aiocoap-client exits non-zero on 4.xx.
    let (ok, out) = aiocoap(&[&url]);
    assert!(!ok && out.contains("4.04"), "{out}");
}

/// A confirmable GET of `path` as bytes (message ID and token `mid`).
fn get(mid: u16, path: &[&str]) -> Vec<u8> {
    trevm_coap::Message::request(trevm_coap::message::code::GET, mid, path).encode()
}

/// The next reply on `socket`, parsed (a generous bound only so that a hung device fails the test
/// instead of hanging it).
fn next_reply(socket: &UdpSocket) -> trevm_coap::Message {
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut buf = [0u8; 2048];
    let n = socket.recv(&mut buf).expect("a reply");
    trevm_coap::Message::parse(&buf[..n]).expect("a well-formed reply")
}

#[test]
fn other_clients_are_answered_while_a_capsule_spins() {
    use trevm_coap::message::code;
    let dir = tempfile::tempdir().expect("tempdir");
    let spin = payload::file("sandbox-spin", dir.path());
    let hello = payload::file("sandbox", dir.path());
    let (_device, base) = start();
    for (name, file) in [("spin", &spin), ("hello", &hello)] {
        let (_, out) = client(
            "coap-client-notls",
            &[
                "-m",
                "put",
                "-b",
                "1024",
                "-f",
                file.to_str().unwrap(),
                "-U",
                &format!("{base}/sandbox/{name}"),
            ],
        );
        assert!(!out.contains("4.") && !out.contains("5."), "{out}");
    }
    let device = base.trim_start_matches("coap://");
    let connect = || {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.connect(device).unwrap();
        s
    };
    let (a, b, c) = (connect(), connect(), connect());
    // Client a starts a capsule that spins until the device's 2 s timeout stops it.
    a.send(&get(1, &["sandbox", "spin"])).unwrap();
    // Meanwhile b's static request and c's capsule run are answered…
    b.send(&get(2, &[".well-known", "core"])).unwrap();
    let links = next_reply(&b);
    assert_eq!(links.code, code::CONTENT);
    assert!(String::from_utf8_lossy(&links.payload).contains("</sandbox/spin>"));
    c.send(&get(3, &["sandbox", "hello"])).unwrap();
    let hello = next_reply(&c);
    assert_eq!(
        (
            hello.code,
            String::from_utf8_lossy(&hello.payload).into_owned()
        ),
        (code::CONTENT, "Hello from the sandbox!".to_string())
    );
    // …while a's run is still going: no reply for it yet.
    a.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 2048];
    let early = a.recv(&mut buf);
    assert!(
        matches!(&early, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "a's spinning capsule answered before the others: {early:?}"
    );
    a.set_nonblocking(false).unwrap();
    // Then the timeout stops it: 5.03, piggybacked on the ACK of a's request.
    let stopped = next_reply(&a);
    assert_eq!(stopped.code, code::SERVICE_UNAVAILABLE);
    assert_eq!((stopped.mid, stopped.ty), (1, trevm_coap::MsgType::Ack));
    assert!(String::from_utf8_lossy(&stopped.payload).contains("capsule stopped"));
}
