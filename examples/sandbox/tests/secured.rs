//! A device with an access policy, driven by `aiocoap-client --credentials` as an Ariel OS user
//! drives theirs: EDHOC (method 3, suite 2) and OSCORE, with client credentials made by
//! `aiocoap-keygen` and listed in a `peers.yml`.
//!
//! - an admin client (scope `allow-all`) uploads (Block1 inside OSCORE), runs, lists and deletes;
//! - a reader client (GET on `/sandbox/*`) runs but cannot upload: 4.03;
//! - a client without credentials may list the device (`/.well-known/core`) and gets 4.01 for
//!   everything else.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use trevm_testkit::Running;
use trevm_testkit::edhoc::{admin_and_reader_policy, keygen, write_diag};

/// Runs `program`; returns (success, stdout + stderr).
fn run(program: &str, args: &[&str], dir: &Path) -> (bool, String) {
    let o = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} ({e}): install aiocoap[oscore] (see .ci/run)")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), text)
}

#[test]
fn only_the_clients_the_policy_names_may_do_what_it_says() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let admin = keygen(d, "admin", "2b");
    let reader = keygen(d, "reader", "2c");
    let peers = admin_and_reader_policy(&admin, &reader);
    std::fs::write(d.join("peers.yml"), peers).expect("peers.yml");

    let port = UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let base = format!("coap://{addr}");
    let policy = d.join("peers.yml");
    let state = d.join("state");
    let mut device = Running::start_with_env(
        env!("CARGO_BIN_EXE_example-sandbox"),
        &[&addr, policy.to_str().unwrap()],
        &[("TREVM_STATE_DIR", &state)],
    )
    .expect("start");
    let line = device
        .wait_for("CoAP server identity: ", Duration::from_secs(20))
        .unwrap();
    let server = line
        .split_once("CoAP server identity: ")
        .map(|(_, id)| id.trim().to_string())
        .expect("identity");
    let pinned = format!("{{14: {server}}}");
    let admin_diag = write_diag(d, "admin.diag", "admin", &admin, &pinned, &base);
    let reader_diag = write_diag(d, "reader.diag", "reader", &reader, &pinned, &base);

    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let opts = trevm_build::BuildOptions {
        quiet: true,
        ..Default::default()
    };
    let built = trevm_build::build(&root.join("payloads/sandbox"), &opts).expect("build");
    let capsule = d.join("hello.cwasm");
    std::fs::write(&capsule, &built.capsule).expect("write capsule");
    let payload = format!("@{}", capsule.display());
    let url = format!("{base}/sandbox/hello");
    let client = |args: &[&str]| run("aiocoap-client", args, d);
    let admin = admin_diag.to_str().unwrap();
    let reader = reader_diag.to_str().unwrap();

    // A stranger: may list, nothing else.
    let (_, out) = client(&["-m", "PUT", "--payload", &payload, &url]);
    assert!(out.contains("4.01 Unauthorized"), "{out}");
    let (ok, out) = client(&[&format!("{base}/.well-known/core")]);
    assert!(ok && out.contains("</sandbox>"), "{out}");

    // The admin: upload (thousands of bytes: Block1 inside OSCORE), run, list.
    let (ok, out) = client(&[
        "-m",
        "PUT",
        "--payload",
        &payload,
        "--credentials",
        admin,
        &url,
    ]);
    assert!(ok, "{out}");
    let (ok, out) = client(&["--credentials", admin, &url]);
    assert!(ok && out.contains("Hello from the sandbox!"), "{out}");
    let (ok, out) = client(&["--credentials", admin, &format!("{base}/.well-known/core")]);
    assert!(ok && out.contains("/sandbox/hello"), "{out}");

    // The reader: runs, may not upload; the stranger may not run.
    let (ok, out) = client(&["--credentials", reader, &url]);
    assert!(ok && out.contains("Hello from the sandbox!"), "{out}");
    let (_, out) = client(&[
        "-m",
        "PUT",
        "--payload",
        &payload,
        "--credentials",
        reader,
        &format!("{base}/sandbox/mine"),
    ]);
    assert!(out.contains("4.03 Forbidden"), "{out}");
    let (_, out) = client(&[&url]);
    assert!(out.contains("4.01 Unauthorized"), "{out}");
    let (_, out) = client(&["-m", "DELETE", &url]);
    assert!(out.contains("4.01 Unauthorized"), "{out}");

    // The admin deletes; the capsule is gone for everyone.
    let (ok, out) = client(&["-m", "DELETE", "--credentials", admin, &url]);
    assert!(ok, "{out}");
    let (_, out) = client(&["--credentials", reader, &url]);
    assert!(out.contains("4.04 Not Found"), "{out}");
}
