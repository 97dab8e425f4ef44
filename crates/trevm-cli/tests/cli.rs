//! The `trevm` command as a user runs it: exit codes and what it prints.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn trevm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trevm"))
        .args(args)
        .output()
        .expect("run trevm")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

use trevm_testkit::output_text as text;

/// Builds payloads/<name> with `trevm build` once into a temp dir.
fn built(name: &str) -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("tempdir"));
    let out = dir.path().join(format!("{name}.cwasm"));
    if !out.exists() {
        let o = trevm(&[
            "build",
            "-q",
            root().join("payloads").join(name).to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "trevm build {name}: {}", text(&o));
        let t = text(&o);
        for stage in [
            "core module",
            "component",
            "precompiled (.cwasm)",
            "capsule",
        ] {
            assert!(t.contains(stage), "size of stage `{stage}` missing: {t}");
        }
    }
    out
}

#[test]
fn run_fibonacci_with_invoke_prints_the_result() {
    let cap = built("fibonacci");
    let o = trevm(&["run", cap.to_str().unwrap(), "--invoke", "fibonacci(20)"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "6765");
}

#[test]
fn run_builds_a_payload_directory_on_the_fly() {
    let o = trevm(&[
        "run",
        "-q",
        root().join("payloads/sandbox").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "\"Hello from the sandbox!\""
    );
}

#[test]
fn timeout_stops_the_async_capsule_with_exit_124() {
    let cap = built("async-bindings");
    let o = trevm(&["run", cap.to_str().unwrap(), "--timeout", "2s"]);
    assert_eq!(o.status.code(), Some(124), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("async-bindings: Hello from inside the capsule"),
        "{stdout}"
    );
    assert!(
        stdout.contains("async-bindings: Now sleeping for 3 seconds"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("Starting an infinite loop"),
        "the 3 s sleep outlived the 2 s timeout: {stdout}"
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("capsule timed out: stopped after 2 s"),
        "{stderr}"
    );
}

#[test]
fn trap_is_printed_and_exit_is_nonzero() {
    let cap = built("hostile");
    let o = trevm(&["run", cap.to_str().unwrap(), "--invoke", "log-then-trap()"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("hostile: about to trap"));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("capsule trapped") && stderr.contains("unreachable"),
        "{stderr}"
    );
}

#[test]
fn fuel_and_memory_limits_from_the_command_line() {
    let cap = built("hostile");
    let o = trevm(&[
        "run",
        cap.to_str().unwrap(),
        "--invoke",
        "spin()",
        "--fuel",
        "100000",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("ran out of fuel"),
        "{}",
        text(&o)
    );

    let o = trevm(&[
        "run",
        cap.to_str().unwrap(),
        "--invoke",
        "grow-memory(100000)",
        "--max-memory",
        "64KiB",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "-1");

    let o = trevm(&[
        "run",
        cap.to_str().unwrap(),
        "--invoke",
        "trap()",
        "--max-memory",
        "1KiB",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("memory limit"),
        "{}",
        text(&o)
    );
}

#[test]
fn bad_invocations_get_one_clear_message() {
    let cap = built("fibonacci");
    let cap = cap.to_str().unwrap();
    for (args, expected) in [
        (
            vec!["run", cap, "--invoke", "fibonacci("],
            "cannot parse --invoke",
        ),
        (
            vec!["run", cap, "--invoke", "fibonacci(\"x\")"],
            "bad arguments",
        ),
        (vec!["run", cap, "--invoke", "nope()"], "export `nope`"),
        (vec!["run", "/no/such/capsule.cwasm"], "no such file"),
        (vec!["build", "/no/such/dir"], "no such file or directory"),
    ] {
        let o = trevm(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn pulley32_capsule_is_refused_on_this_host_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fib32.cwasm");
    let o = trevm(&[
        "build",
        "-q",
        "--target",
        "pulley32",
        root().join("payloads/fibonacci").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = trevm(&["run", out.to_str().unwrap(), "--invoke", "fibonacci(3)"]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("target pulley32 ≠ pulley64"), "{stderr}");
}

fn write_crate(dir: &Path, lib_rs: &str, cdylib: bool) {
    let crate_type = if cdylib {
        "crate-type = [\"cdylib\"]\n"
    } else {
        ""
    };
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!("[package]\nname = \"probe\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[lib]\n{crate_type}\n[workspace]\n"),
    )
    .unwrap();
    std::fs::write(dir.join("src/lib.rs"), lib_rs).unwrap();
}

#[test]
fn build_errors_are_one_message_and_nonzero() {
    let dir = tempfile::tempdir().unwrap();
    // Cargo failure: the compiler's error is passed on.
    let broken = dir.path().join("broken");
    write_crate(
        &broken,
        "#![no_std]\npub fn f() -> u32 { \"not a number\" }\n",
        true,
    );
    let o = trevm(&["build", "-q", broken.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("cargo failed to build") && stderr.contains("mismatched types"),
        "{stderr}"
    );

    // Not a cdylib: no .wasm comes out.
    let rlib = dir.path().join("rlib");
    write_crate(&rlib, "#![no_std]\npub fn f() -> u32 { 1 }\n", false);
    let o = trevm(&["build", "-q", rlib.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("crate-type = [\"cdylib\"]"),
        "{}",
        text(&o)
    );

    // A cdylib without wit-bindgen metadata cannot become a component.
    let bare = dir.path().join("bare");
    write_crate(
        &bare,
        "#![no_std]\n#[unsafe(no_mangle)] pub extern \"C\" fn f() -> u32 { 1 }\n#[panic_handler] fn p(_: &core::panic::PanicInfo) -> ! { loop {} }\n",
        true,
    );
    let o = trevm(&["build", "-q", bare.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("cannot turn the core module into a component"),
        "{}",
        text(&o)
    );
}

#[test]
fn inspect_lists_imports_and_exports() {
    let cap = built("async-bindings");
    let o = trevm(&["inspect", cap.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("profile   pulley64 with fuel preemption"),
        "{out}"
    );
    assert!(out.contains("ariel:wasm-bindings/log-api@0.0.1"), "{out}");
    assert!(out.contains("  run()"), "{out}");
}

#[test]
fn run_gives_capsules_the_board_sensors_and_network() {
    // Sensors: the simulated temperature wave, read until the timeout.
    let cap = built("sensors");
    let o = trevm(&[
        "run",
        cap.to_str().unwrap(),
        "--invoke",
        "monitor-temperature()",
        "--timeout",
        "1200ms",
    ]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(124), "{t}");
    assert!(t.contains("sensors: Temperature: 20.00 °C"), "{t}");
    assert!(t.contains("sensors: Temperature: 21.00 °C"), "{t}");

    // UDP: two calls on one instance (bind, then serve), answered over a real socket.
    let cap = built("udp");
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free port")
        .port();
    let bind = format!("bind-socket({port})");
    let cap_arg = cap.to_str().unwrap().to_string();
    let server = std::thread::spawn(move || {
        trevm(&[
            "run",
            &cap_arg,
            "--invoke",
            &bind,
            "--invoke",
            "run()",
            "--timeout",
            "10s",
        ])
    });
    let client = std::net::UdpSocket::bind("127.0.0.1:0").expect("client");
    client
        .set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .expect("timeout");
    let mut buf = [0u8; 64];
    let mut reply = None;
    // The capsule needs a moment to start: ask again until it answers.
    for _ in 0..40 {
        let _ = client.send_to(b"ping", ("127.0.0.1", port));
        if let Ok((n, _)) = client.recv_from(&mut buf) {
            reply = Some(buf[..n].to_vec());
            break;
        }
    }
    let o = server.join().expect("trevm run");
    assert_eq!(reply.as_deref(), Some(&b"PING"[..]), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("Listening on UDP port {port}")),
        "{}",
        text(&o)
    );
}

/// `trevm serve` in the background on a free port; killed when dropped.
/// A running `trevm serve`, its URL and its own state directory (if the test gave none).
struct Served(std::process::Child, String, Option<tempfile::TempDir>);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        // Its state goes only after it is gone.
        drop(self.2.take());
    }
}

/// `trevm serve` as an open device (examples/policies/open.yml): these tests are about the
/// commands, not about access control.
fn serve() -> Served {
    serve_with(&[
        "--policy",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/policies/open.yml"
        ),
    ])
}

fn serve_with(extra: &[&str]) -> Served {
    serve_in(extra, None).0
}

/// `trevm serve` with `extra` arguments (and its state in `state`, if given); also returns the
/// device's second line (its identity).
fn serve_in(extra: &[&str], state: Option<&Path>) -> (Served, String) {
    use std::io::{BufRead, BufReader};
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    // Without a state directory of the test's, one of its own (never the user's).
    let own = state
        .is_none()
        .then(|| tempfile::tempdir().expect("tempdir"));
    let state = state.or(own.as_ref().map(|d| d.path()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_trevm"))
        .args(["serve", "--listen", &addr])
        .args(extra)
        .envs(state.map(|d| ("TREVM_STATE_DIR", d)))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("trevm serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout);
    // Preloaded capsules may log before the device's own lines: skip to them.
    let mut seen = String::new();
    let mut next_line = |lines: &mut BufReader<_>| {
        let mut line = String::new();
        let _ = lines.read_line(&mut line);
        seen.push_str(&line);
        line
    };
    let mut first = next_line(&mut lines);
    for _ in 0..20 {
        if first.contains("CoAP device on coap://") || first.is_empty() {
            break;
        }
        first = next_line(&mut lines);
    }
    assert!(first.contains("CoAP device on coap://"), "{seen}");
    let second = next_line(&mut lines);
    // Keep reading so the device never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.lines() {});
    (Served(child, format!("coap://{addr}"), own), second)
}

#[test]
fn a_device_without_a_policy_lets_strangers_list_it_and_nothing_else() {
    let state = tempfile::tempdir().expect("tempdir");
    let (device, identity) = serve_in(&[], Some(state.path()));
    assert!(
        identity.contains("CoAP server identity: {8: {1: {1: 2, 2: h'', -1: 1, -2: h'"),
        "{identity}"
    );
    let base = &device.1;
    let o = trevm(&["ls", base]);
    assert!(o.status.success(), "{}", text(&o));
    let hello = built("sandbox");
    let url = format!("{base}/sandbox/hello");
    let o = trevm(&["push", hello.to_str().unwrap(), &url]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("4.01 Unauthorized: authenticate with EDHOC + OSCORE"),
        "{}",
        text(&o)
    );
    let o = trevm(&["call", &url]);
    assert!(text(&o).contains("4.01 Unauthorized"), "{}", text(&o));
    drop(device);
    // Restarted, it is the same device: clients that pinned its identity still recognise it.
    let (_again, identity_again) = serve_in(&[], Some(state.path()));
    // (The lines start with the time since boot, which may differ.)
    let key = |line: &str| {
        line.split_once("CoAP server identity:")
            .map(|(_, k)| k.to_string())
    };
    assert_eq!(key(&identity_again), key(&identity));
}

/// Issue 22: one unauthenticated datagram (EDHOC message 1 whose G_X is not on P-256, the
/// corpus' first) made `trevm serve` exit with a panic. Now every datagram of the security corpus
/// (inputs that crashed the device or reached a panic in lakers, coapcore or liboscore) is
/// answered over a real UDP socket, and the device still lists itself afterwards.
#[test]
fn hostile_datagrams_over_udp_get_answers_and_the_device_keeps_serving() {
    use std::net::UdpSocket;
    use std::time::Duration;
    // The default policy: EDHOC + OSCORE in front, strangers may only list.
    let (mut device, _) = serve_in(&[], None);
    let addr = device.1.trim_start_matches("coap://").to_string();
    // Each datagram from a socket of its own: the device limits handshakes per peer, and this
    // is about what each datagram does, not about one peer's share.
    let exchange = |datagram: &[u8]| -> u8 {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("socket");
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut buf = [0u8; 1500];
        // A 5.03 (too many handshakes at once) says when to try again: Max-Age 1 s. The new
        // attempt is a new request (another message ID), not a retransmission.
        let mut datagram = datagram.to_vec();
        for attempt in 0..20u8 {
            datagram[3] = datagram[3].wrapping_add(attempt);
            socket.send_to(&datagram, &addr).expect("send");
            let n = socket.recv(&mut buf).expect("an answer from the device");
            assert!(
                n >= 4 && buf[2..4] == datagram[2..4],
                "an answer to this request"
            );
            if buf[1] != 0xa3 {
                return buf[1];
            }
            std::thread::sleep(Duration::from_millis(1_100));
        }
        panic!("the device stayed busy");
    };
    let corpus =
        trevm_testkit::hex_lines(include_str!("../../trevm-coap/tests/corpus/security.txt"));
    assert!(corpus.len() > 10);
    for (i, datagram) in corpus.iter().enumerate() {
        let answer = exchange(datagram);
        assert!(
            answer == 0x44 || answer >= 0x80,
            "datagram {i} answered {answer:#x}"
        );
        assert!(
            device.0.try_wait().expect("status").is_none(),
            "the device exited after datagram {i}"
        );
    }
    // The first one, the crash: an EDHOC error (4.00), not a message 2.
    assert_eq!(exchange(&corpus[0]), 0x80);
    let o = trevm(&["ls", &device.1]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn push_call_and_ls_talk_to_a_served_device() {
    let device = serve();
    let base = &device.1;
    let hello = built("sandbox");
    let url = format!("{base}/sandbox/hello");
    let o = trevm(&["push", hello.to_str().unwrap(), &url, "--block", "64"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("2.01 Created"), "{}", text(&o));
    let o = trevm(&["call", &url]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "Hello from the sandbox!\n"
    );
    let o = trevm(&["ls", base]);
    let listed = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(listed.contains("/sandbox/hello  ct=0"), "{}", text(&o));
    // Then the status table: one row per capsule, with what it did (one run, which returned).
    let row = listed
        .lines()
        .find(|l| l.starts_with("sandbox "))
        .unwrap_or_else(|| panic!("no status row: {listed}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells[..6],
        ["sandbox", "hello", "1", "1", "0", "0"],
        "{listed}"
    );
    assert!(row.contains("signed by the development key"), "{listed}");
    assert!(row.ends_with(" -"), "no error yet: {listed}");
    // `trevm serve` counts its heap: /status reports it and `ls` shows it (a process on a host has
    // no fixed heap size).
    let heap = listed
        .lines()
        .find(|l| l.starts_with("heap: "))
        .unwrap_or_else(|| panic!("no heap line: {listed}"));
    let used: u64 = heap
        .strip_prefix("heap: ")
        .and_then(|h| h.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{heap}"));
    assert!(used > 0 && heap.contains("KiB in use, at most "), "{heap}");
    assert!(!heap.contains(", of "), "{heap}");
    // A capsule of the wrong world, straight from its payload directory: refused with the reason.
    let fib = root().join("payloads/fibonacci");
    let o = trevm(&[
        "push",
        fib.to_str().unwrap(),
        &format!("{base}/sandbox/fib"),
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("4.00 Bad Request: the capsule has no `run` export"),
        "{}",
        text(&o)
    );
    // Unsigned: 4.01 with the reason, and `hello` still answers.
    let unsigned = unsigned_copy(&hello);
    let o = trevm(&["push", unsigned.to_str().unwrap(), &url]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("4.01 Unauthorized: capsule is not signed"),
        "{}",
        text(&o)
    );
    let o = trevm(&["call", &url]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "Hello from the sandbox!\n"
    );
    let o = trevm(&["call", "-m", "delete", &url]);
    assert!(text(&o).contains("2.02 Deleted"), "{}", text(&o));
    let o = trevm(&["call", &url]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("4.04 Not Found: no capsule `hello`"),
        "{}",
        text(&o)
    );
}

#[test]
fn client_errors_are_one_clear_message() {
    let closed = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free port")
        .port();
    for (args, expected) in [
        (
            vec!["ls".to_string(), format!("coap://127.0.0.1:{closed}")],
            "connection refused",
        ),
        (
            vec!["call".into(), "http://example.com/x".into()],
            "is not a coap:// URL",
        ),
        (vec!["call".into(), "coap:///x".into()], "has no host"),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = trevm(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(expected), "{args:?}: {}", text(&o));
    }
}

#[test]
fn a_payload_too_big_for_its_memory_is_told_how_much_it_needs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("big.cwasm");
    let big = root().join("payloads/sandbox-big");
    // Its [package.metadata.trevm] asks for 128 KiB; a smaller --initial-memory is refused.
    let o = trevm(&[
        "build",
        "-q",
        big.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--initial-memory",
        "32KiB",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("bytes of linear memory"), "{}", text(&o));
    assert!(
        text(&o).contains("build it with --initial-memory"),
        "{}",
        text(&o)
    );
    let o = trevm(&[
        "build",
        "-q",
        big.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
}

/// `capsule` with its signature replaced by an unsigned manifest (what `trevm build --unsigned`
/// writes), in a file next to it.
fn unsigned_copy(capsule: &Path) -> PathBuf {
    use trevm::capsule::{TrailerKind, with_trailer};
    let bytes = std::fs::read(capsule).expect("read capsule");
    let c = trevm::Capsule::from_slice(&bytes).expect("capsule");
    let (manifest, _) = trevm::trust::claimed_manifest(&c)
        .expect("manifest")
        .expect("a manifest");
    let unsigned = with_trailer(&c, TrailerKind::Manifest, &manifest.to_cbor()).unwrap();
    let out = capsule.with_extension("unsigned.cwasm");
    std::fs::write(&out, unsigned).expect("write");
    out
}

#[test]
fn keygen_sign_verify_and_inspect_with_a_key_of_your_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fleet = dir.path().join("fleet");
    let o = trevm(&["keygen", fleet.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let (private, public) = (
        dir.path().join("fleet.pem"),
        dir.path().join("fleet.pub.pem"),
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&private).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the private key is private");
    }
    assert!(
        std::fs::read_to_string(&public)
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    let o = trevm(&["keygen", fleet.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("exists already: not overwriting a key"),
        "{}",
        text(&o)
    );

    let signed = dir.path().join("fib42.cwasm");
    let o = trevm(&[
        "sign",
        built("fibonacci").to_str().unwrap(),
        "--key",
        private.to_str().unwrap(),
        "--version",
        "42",
        "-o",
        signed.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("signed `fibonacci` version 42 with key"),
        "{}",
        text(&o)
    );

    let o = trevm(&[
        "verify",
        signed.to_str().unwrap(),
        "--trust",
        public.to_str().unwrap(),
        "--no-dev-key",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("ok: `fibonacci` version 42 signed by key "),
        "{}",
        text(&o)
    );
    // The device's default trusts only the development key.
    let o = trevm(&["verify", signed.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("which this device does not trust"),
        "{}",
        text(&o)
    );

    let o = trevm(&["inspect", signed.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{out}");
    assert!(out.contains("version   42"), "{out}");
    assert!(out.contains("grants    none"), "{out}");
    assert!(
        out.contains("verified  no: capsule is signed by key"),
        "{out}"
    );
    assert!(
        !out.contains("exports:"),
        "unverified code is not handed to Wasmtime: {out}"
    );
    let o = trevm(&[
        "inspect",
        signed.to_str().unwrap(),
        "--trust",
        public.to_str().unwrap(),
    ]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.contains("verified  yes"), "{out}");
    assert!(out.contains("  fibonacci(n: u32) -> u32"), "{out}");

    // The payload patched after signing, CRC recomputed: refused before it runs.
    let patched = dir.path().join("patched.cwasm");
    let bytes = std::fs::read(&signed).unwrap();
    let c = trevm::Capsule::from_slice(&bytes).unwrap();
    let mut payload = c.payload().to_vec();
    let middle = payload.len() / 2;
    payload[middle] ^= 1;
    let forged = trevm::capsule::encode_with_trailer(
        c.profile(),
        c.name(),
        &payload,
        c.header().trailer_kind,
        c.trailer(),
    )
    .unwrap();
    std::fs::write(&patched, forged).unwrap();
    for args in [
        vec![
            "verify",
            patched.to_str().unwrap(),
            "--trust",
            public.to_str().unwrap(),
        ],
        vec![
            "run",
            patched.to_str().unwrap(),
            "--trust",
            public.to_str().unwrap(),
            "--invoke",
            "fibonacci(20)",
        ],
    ] {
        let o = trevm(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
        assert!(
            text(&o).contains("altered after signing"),
            "{args:?}: {}",
            text(&o)
        );
        assert!(o.stdout.is_empty(), "{args:?}: nothing ran");
    }
}

#[test]
fn run_refuses_an_unsigned_capsule_unless_told_so_loudly() {
    let unsigned = unsigned_copy(&built("fibonacci"));
    let o = trevm(&[
        "run",
        unsigned.to_str().unwrap(),
        "--invoke",
        "fibonacci(20)",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("capsule is not signed"), "{}", text(&o));
    let o = trevm(&[
        "run",
        unsigned.to_str().unwrap(),
        "--invoke",
        "fibonacci(20)",
        "--insecure-allow-unsigned",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "6765");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("WARNING: this device runs UNSIGNED capsules")
    );
}

#[test]
fn a_closed_stdout_ends_commands_quietly() {
    let cap = built("async-bindings");
    for args in [
        vec!["inspect", cap.to_str().unwrap()],
        vec![
            "run",
            built("fibonacci").to_str().unwrap(),
            "--invoke",
            "fibonacci(5)",
        ],
    ] {
        // The reading end is closed before the command writes anything: every write fails with
        // EPIPE, as with `trevm inspect x | head -0`.
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let o = Command::new(env!("CARGO_BIN_EXE_trevm"))
            .args(&args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .expect("run trevm");
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o));
        assert!(
            !String::from_utf8_lossy(&o.stderr).contains("panicked"),
            "{args:?}: {}",
            text(&o)
        );
    }
}

#[test]
fn a_fresh_machine_gets_a_development_key_on_first_use_and_trusts_it() {
    let home = tempfile::tempdir().expect("tempdir");
    let keys = home.path().join("keys");
    let out = home.path().join("fib.cwasm");
    let with_keys = |dir: &Path, args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_trevm"))
            .args(args)
            .env("TREVM_DEV_KEY_DIR", dir)
            .output()
            .expect("run trevm")
    };
    let fib = root().join("payloads/fibonacci");
    let build = [
        "build",
        "-q",
        fib.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    let o = with_keys(&keys, &build);
    assert!(o.status.success(), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        stderr
            .matches("trevm: created the development signing key")
            .count(),
        1,
        "{stderr}"
    );
    assert!(keys.join("dev-key.pem").exists() && keys.join("dev-key.pub.pem").exists());
    // Second use: the same key, no notice.
    let o = with_keys(&keys, &build);
    assert!(
        !text(&o).contains("created the development signing key"),
        "{}",
        text(&o)
    );
    // A device on this machine (same key directory) trusts it…
    let o = with_keys(
        &keys,
        &["run", out.to_str().unwrap(), "--invoke", "fibonacci(10)"],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "55");
    // …a device of another machine (another development key) does not.
    let o = with_keys(
        &home.path().join("elsewhere"),
        &["verify", out.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("which this device does not trust"),
        "{}",
        text(&o)
    );
}

#[test]
fn keygen_coap_makes_credentials_aiocoap_and_the_device_accept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let state = d.join("state");
    // The device's identity: made on its first start, printed, kept for the next.
    let (first, identity) = serve_in(&[], Some(&state));
    let url = first.1.clone();
    drop(first);
    let identity = identity
        .split_once("CoAP server identity: ")
        .map(|(_, id)| id.trim().to_string())
        .expect("identity line");
    let name = d.join("admin");
    let o = trevm(&[
        "keygen",
        "--coap",
        name.to_str().unwrap(),
        "--kid",
        "2b",
        "--device",
        &url,
        "--device-identity",
        &identity,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let key = d.join("admin.cosekey");
    #[cfg(unix)]
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key).unwrap().permissions())
            & 0o777,
        0o600
    );
    let entry = std::fs::read_to_string(d.join("admin.peers.yml")).unwrap();
    let policy = d.join("peers.yml");
    std::fs::write(
        &policy,
        format!("- from: unauthenticated\n  scope:\n    /.well-known/core: GET\n{entry}"),
    )
    .unwrap();
    // Same state directory, same identity: the device the credentials pinned.
    let (device, again) = serve_in(&["--policy", policy.to_str().unwrap()], Some(&state));
    assert!(again.contains(&identity), "{again}");
    let hello = built("sandbox");
    let diag = d.join("admin.diag");
    // The credentials are for the first device's URL; point them at this one.
    let diag_text = std::fs::read_to_string(&diag)
        .unwrap()
        .replace(&url, &device.1);
    std::fs::write(&diag, diag_text).unwrap();
    let aiocoap = |args: &[&str]| {
        Command::new("aiocoap-client")
            .args(args)
            .current_dir(d)
            .output()
            .expect("aiocoap-client (pip install 'aiocoap[oscore]')")
    };
    let target = format!("{}/sandbox/hello", device.1);
    let payload = format!("@{}", hello.display());
    let o = aiocoap(&["-m", "PUT", "--payload", &payload, &target]);
    assert!(
        text(&o).contains("4.01"),
        "without credentials: {}",
        text(&o)
    );
    let creds = diag.to_str().unwrap();
    let o = aiocoap(&[
        "-m",
        "PUT",
        "--payload",
        &payload,
        "--credentials",
        creds,
        &target,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = aiocoap(&["--credentials", creds, &target]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Hello from the sandbox!"),
        "{}",
        text(&o)
    );
    // The CLI speaks the same credentials itself: no Python needed.
    let o = trevm(&["call", "--credentials", creds, &target]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "Hello from the sandbox!\n",
        "{}",
        text(&o)
    );
    let o = trevm(&["call", "-m", "delete", "--credentials", creds, &target]);
    assert!(o.status.success(), "{}", text(&o));
    // Never overwrites a credential.
    let o = trevm(&["keygen", "--coap", name.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("exists already"), "{}", text(&o));
}

#[test]
fn building_a_payload_that_needs_nightly_says_to_use_nightly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let krate =
        trevm_testkit::scratch_payload(dir.path(), "unstable", trevm_testkit::NEEDS_NIGHTLY);
    let o = trevm(&["build", "-q", krate.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: ") && last.contains("build it with --nightly"),
        "{stderr}"
    );
}

#[test]
fn an_export_inside_an_interface_is_invoked_by_its_plain_name() {
    let scanner = root().join("payloads/ble-scanner");
    let o = trevm(&[
        "run",
        scanner.to_str().unwrap(),
        "--invoke",
        "on-single-report({a: 1, b: 2, c: 3, d: 4, e: 5, f: 6})",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("New device 01:02:03:04:05:06"),
        "{}",
        text(&o)
    );
}

#[test]
fn every_repeats_the_last_invoke_as_a_device_loop_does() {
    let fib = root().join("payloads/fibonacci");
    let o = trevm(&[
        "run",
        fib.to_str().unwrap(),
        "--invoke",
        "fibonacci(5)",
        "--invoke",
        "fibonacci(10)",
        "--every",
        "10ms",
        "--times",
        "3",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    // The first call once, the last three times.
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "5\n55\n55\n55\n",
        "{}",
        text(&o)
    );
    let o = trevm(&["run", fib.to_str().unwrap(), "--times", "3"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "--times needs --every: {}",
        text(&o)
    );
}

#[test]
fn serve_starts_with_capsules_preloaded() {
    let hello = built("sandbox");
    let persistent = root().join("payloads/coap-persistent");
    let device = serve_with(&[
        "--policy",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/policies/open.yml"
        ),
        "--sandbox",
        &format!("hello={}", hello.display()),
        "--persistent",
        persistent.to_str().unwrap(),
    ]);
    let base = &device.1;
    let o = trevm(&["call", &format!("{base}/sandbox/hello")]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "Hello from the sandbox!\n",
        "{}",
        text(&o)
    );
    let o = trevm(&["call", &format!("{base}/vm/hello")]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("version 1"),
        "{}",
        text(&o)
    );
    // A preload the device refuses stops it at start, saying why.
    let o = trevm(&["serve", "--sandbox", "bad name=/nonexistent"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("/nonexistent"), "{}", text(&o));
}

#[test]
fn serve_grants_slots_what_grant_says_and_push_starts_ephemeral_capsules() {
    let device = serve_with(&[
        "--policy",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/policies/open.yml"
        ),
        "--grant",
        "persistent=log,sensors,rng",
        "--persistent",
        root().join("payloads/temperature-server").to_str().unwrap(),
    ]);
    let base = &device.1;
    let o = trevm(&["call", &format!("{base}/vm/temperature_sensor")]);
    let reading: f64 = String::from_utf8_lossy(&o.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("not a reading: {}", text(&o)));
    assert!((19.5..=30.5).contains(&reading), "{reading}");
    // The ephemeral slot grants log only by default: a capsule reading sensors is refused.
    let noise = root().join("payloads/temperature-noise");
    let o = trevm(&[
        "push",
        noise.to_str().unwrap(),
        &format!("{base}/ephemeral"),
    ]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("sensors-api"), "{}", text(&o));
    // One that imports nothing starts, and its result is there to read.
    let o = trevm(&[
        "push",
        built("sandbox").to_str().unwrap(),
        &format!("{base}/ephemeral"),
    ]);
    assert!(text(&o).contains("started sandbox: run()"), "{}", text(&o));
    let o = trevm(&["call", &format!("{base}/ephemeral")]);
    assert!(
        text(&o).contains("run() returned \"Hello from the sandbox!\"")
            || text(&o).contains("run() running"),
        "{}",
        text(&o)
    );

    // A --grant that names no slot or interface stops the start, saying why.
    let o = trevm(&["serve", "--grant", "persistent=log,wifi"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("unknown interface `wifi`"),
        "{}",
        text(&o)
    );
    let o = trevm(&["serve", "--grant", "vm=log"]);
    assert!(text(&o).contains("no slot `vm`"), "{}", text(&o));
}

#[test]
fn run_calls_a_bare_name_and_gives_the_capsule_sensors_and_randomness() {
    let noise = root().join("payloads/temperature-noise");
    let o = trevm(&[
        "run",
        noise.to_str().unwrap(),
        "--invoke",
        "mess-with-temperature",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("temperature-noise: Temperature 20.00 °C, messed with: "),
        "{}",
        text(&o)
    );
}
