//! `trevm push/call/ls --credentials FILE.diag` against `trevm serve --policy peers.yml`: the CLI
//! speaks EDHOC + OSCORE with the same client.diag files and `aiocoap-keygen` keys that
//! `aiocoap-client --credentials` uses (see examples/sandbox/tests/secured.rs).
//!
//! - an admin (scope `allow-all`) uploads (Block1 inside OSCORE), runs and lists;
//! - a reader (GET on `/sandbox/*`) runs but gets 4.03 for an upload;
//! - without credentials, an upload gets 4.01;
//! - a diag that pins another device's identity is refused before any request is sent;
//! - a malformed diag file is one line of error.
//!
//! Everything is on loopback, and every command is bounded by a timeout.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;
use trevm_testkit::edhoc::{admin_and_reader_policy, keygen, write_diag};

/// How long one `trevm` command may take (its own retransmissions give up after about a minute).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(90);

/// Runs `program` in `dir`, killed after [`COMMAND_TIMEOUT`].
fn run_in(program: &str, args: &[&str], dir: &Path) -> Output {
    trevm_testkit::run_bounded(program, args, dir, COMMAND_TIMEOUT)
}

fn trevm(args: &[&str], dir: &Path) -> Output {
    run_in(env!("CARGO_BIN_EXE_trevm"), args, dir)
}

use trevm_testkit::output_text as text;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `trevm serve --policy` on a free loopback port with its state in `state`; killed when dropped.
struct Device(Child);

impl Drop for Device {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the device; returns it, its base URL and its identity (the CCS it prints).
fn serve(policy: &Path, state: &Path) -> (Device, String, String) {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_trevm"))
        .args(["serve", "--listen", &addr, "--policy"])
        .arg(policy)
        .env("TREVM_STATE_DIR", state)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("trevm serve");
    let stdout = child.stdout.take().expect("stdout");
    let device = Device(child);
    // Read lines on a thread, so a device that prints nothing cannot hang the test.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some((_, id)) = line.split_once("CoAP server identity: ") {
                let _ = tx.send(id.trim().to_string());
            }
            // Keep reading so the device never blocks on a full pipe.
        }
    });
    let identity = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the device printed its identity");
    assert!(identity.starts_with("{8: {1: {1: 2, 2: h''"), "{identity}");
    (device, format!("coap://{addr}"), identity)
}

#[test]
fn the_cli_talks_edhoc_and_oscore_to_a_device_with_a_policy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let admin_cred = keygen(d, "admin", "2b");
    let reader_cred = keygen(d, "reader", "2c");
    let peers = admin_and_reader_policy(&admin_cred, &reader_cred);
    std::fs::write(d.join("peers.yml"), peers).expect("peers.yml");
    let (_device, base, server) = serve(&d.join("peers.yml"), &d.join("state"));
    let pinned = format!("{{14: {server}}}");
    let admin_diag = write_diag(d, "admin.diag", "admin", &admin_cred, &pinned, &base);
    let reader_diag = write_diag(d, "reader.diag", "reader", &reader_cred, &pinned, &base);
    let admin = admin_diag.to_str().unwrap();
    let reader = reader_diag.to_str().unwrap();

    // The capsule: thousands of bytes, so the upload is Block1 inside OSCORE.
    let capsule = d.join("hello.cwasm");
    let o = trevm(
        &[
            "build",
            "-q",
            root().join("payloads/sandbox").to_str().unwrap(),
            "-o",
            capsule.to_str().unwrap(),
        ],
        d,
    );
    assert!(o.status.success(), "trevm build: {}", text(&o));
    let capsule = capsule.to_str().unwrap();
    let url = format!("{base}/sandbox/hello");

    // Without credentials: plain CoAP, and the device wants EDHOC + OSCORE for an upload.
    let o = trevm(&["push", capsule, &url], d);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("4.01 Unauthorized"), "{}", text(&o));

    // The admin uploads (the default --block 1024 is capped to fit coapcore), runs and lists.
    let o = trevm(&["push", capsule, &url, "--credentials", admin], d);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("2.01 Created"), "{}", text(&o));
    let o = trevm(&["call", &url, "--credentials", admin], d);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "Hello from the sandbox!\n"
    );
    let o = trevm(&["ls", &base, "--credentials", admin], d);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("/sandbox/hello"),
        "{}",
        text(&o)
    );

    // The reader runs but may not upload.
    let o = trevm(&["call", &url, "--credentials", reader], d);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Hello from the sandbox!"),
        "{}",
        text(&o)
    );
    let o = trevm(
        &[
            "push",
            capsule,
            &format!("{base}/sandbox/mine"),
            "--credentials",
            reader,
            "--block",
            "64",
        ],
        d,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("4.03"), "{}", text(&o));

    // Sending its own credential by value, and not authenticating the device, work too.
    let by_value = std::fs::read_to_string(&reader_diag)
        .unwrap()
        .replace("by-key-id", "by-value")
        .replace(&pinned, r#"{"unauthenticated": true}"#);
    std::fs::write(d.join("reader-by-value.diag"), by_value).unwrap();
    let o = trevm(&["call", &url, "--credentials", "reader-by-value.diag"], d);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Hello from the sandbox!"),
        "{}",
        text(&o)
    );

    // A diag pinning another device's identity: refused, saying so.
    let x = server
        .split("-2: h'")
        .nth(1)
        .and_then(|rest| rest.get(..64))
        .expect("the identity's x");
    let other_x: String = x
        .chars()
        .rev()
        .collect::<String>()
        .replace('a', "b")
        .replace('0', "1");
    assert_ne!(other_x, x);
    let other = pinned.replace(x, &other_x);
    let wrong = write_diag(d, "wrong.diag", "admin", &admin_cred, &other, &base);
    let o = trevm(&["call", &url, "--credentials", wrong.to_str().unwrap()], d);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("the server's identity did not match"),
        "{}",
        text(&o)
    );
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(o.stdout.is_empty(), "{}", text(&o));
}

#[test]
fn a_malformed_credentials_file_is_one_line_of_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let admin = keygen(d, "admin", "2b");
    // Nothing listens here: every case must fail on the file, before any request.
    let base = "coap://127.0.0.1:9";
    let good = std::fs::read_to_string(write_diag(
        d,
        "good.diag",
        "admin",
        &admin,
        r#"{"unauthenticated": true}"#,
        base,
    ))
    .unwrap();
    let cases: [(&str, String, &str); 8] = [
        (
            "syntax",
            good.replace("\"suite\": 2,", "\"suite\": 2,,"),
            "diagnostic notation",
        ),
        (
            "suite",
            good.replace("\"suite\": 2", "\"suite\": 7"),
            "\"suite\"",
        ),
        (
            "style",
            good.replace("by-key-id", "by-kid"),
            "\"own_cred_style\"",
        ),
        ("own_cred", good.replace(&admin, "{14: 5}"), "\"own_cred\""),
        (
            "key file",
            good.replace("admin.cosekey", "missing.cosekey"),
            "cannot read",
        ),
        (
            "peer_cred",
            good.replace(r#"{"unauthenticated": true}"#, r#"{"unauthenticated": 1}"#),
            "\"peer_cred\"",
        ),
        (
            "pattern",
            good.replace(base, "coap://elsewhere"),
            "no entry matches",
        ),
        ("not a map", "[1, 2]".to_string(), "expected a map"),
    ];
    for (name, diag, expected) in cases {
        let path = d.join(format!("{}.diag", name.replace(' ', "-")));
        std::fs::write(&path, diag).unwrap();
        let o = trevm(
            &[
                "call",
                &format!("{base}/x"),
                "--credentials",
                path.to_str().unwrap(),
            ],
            d,
        );
        assert_eq!(o.status.code(), Some(1), "{name}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.starts_with("error: credentials "), "{name}: {err}");
        assert!(err.contains(expected), "{name}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{name}: one line: {err}");
    }
    // A file that does not exist.
    let o = trevm(&["ls", base, "--credentials", "nowhere.diag"], d);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("cannot read credentials"), "{}", text(&o));
}
