//! As a user: a client polls the persistent capsule's resource while another replaces the capsule
//! with libcoap's coap-client-notls; every poll is answered, first by version 1, then by version 2.

use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use trevm_coap::Message;
use trevm_coap::message::code;
use trevm_testkit::Running;

/// How long to wait for the device or a poll before the test fails instead of hanging.
const WAIT: Duration = Duration::from_secs(20);

/// One confirmable GET; `Err` on a timeout or an error code.
fn get(sock: &UdpSocket, mid: u16, path: &[&str]) -> Result<String, String> {
    let m = Message::request(code::GET, mid, path);
    sock.send(&m.encode()).map_err(|e| e.to_string())?;
    let mut buf = [0u8; 2048];
    loop {
        let n = sock
            .recv(&mut buf)
            .map_err(|e| format!("request {mid}: {e}"))?;
        let reply = Message::parse(&buf[..n]).map_err(|e| e.to_string())?;
        if reply.mid != mid {
            continue;
        }
        if reply.code != code::CONTENT {
            return Err(format!("request {mid}: {}", code::dotted(reply.code)));
        }
        return Ok(String::from_utf8_lossy(&reply.payload).into_owned());
    }
}

#[test]
fn replacing_the_capsule_while_a_client_polls_fails_no_request() {
    let port = UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    // An open device (anyone on loopback may do anything): this test is about the live update.
    let open = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/open.yml");
    let state = tempfile::tempdir().expect("state dir");
    let start = || {
        let mut device = Running::start_with_env(
            env!("CARGO_BIN_EXE_example-persistent"),
            &[&addr, open],
            &[("TREVM_STATE_DIR", state.path())],
        )
        .expect("start");
        device.wait_for("CoAP device on coap://", WAIT).unwrap();
        device
    };
    let mut device = start();

    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let opts = trevm_build::BuildOptions {
        quiet: true,
        features: vec!["v2".into()],
        ..Default::default()
    };
    let v2 = trevm_build::build(&root.join("payloads/coap-persistent"), &opts)
        .expect("build v2")
        .capsule;
    let dir = tempfile::tempdir().expect("tempdir");
    let v2_path = dir.path().join("v2.cwasm");
    std::fs::write(&v2_path, v2).expect("write");

    // The poller sends every answer here as it gets it. The test goes on when an answer has come,
    // not after a fixed time, since how many polls fit in a time window depends on the machine.
    let (answered, answers_in) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let stop = stop.clone();
        let addr = addr.clone();
        std::thread::spawn(move || {
            let sock = UdpSocket::bind("127.0.0.1:0").expect("client");
            sock.connect(&addr).expect("connect");
            sock.set_read_timeout(Some(Duration::from_secs(5)))
                .expect("timeout");
            let mut mid = 1u16;
            while !stop.load(Ordering::Relaxed) {
                if answered.send(get(&sock, mid, &["vm", "hello"])).is_err() {
                    break;
                }
                mid = mid.wrapping_add(1);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let next_answer = || {
        answers_in
            .recv_timeout(WAIT)
            .expect("the poller got no answer, not even a timeout")
    };
    // Version 1 answers before the update starts.
    let mut answers = vec![next_answer()];
    let o = Command::new("coap-client-notls")
        .args([
            "-m",
            "put",
            "-b",
            "256",
            "-f",
            v2_path.to_str().unwrap(),
            "-U",
        ])
        .arg(format!("coap://{addr}/vm-control"))
        .output()
        .expect("coap-client-notls (install libcoap3-bin)");
    let out = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(out.contains("serving hello, shout, count"), "{out}");
    // Poll on until version 2 answers (or a poll fails, which the checks below report).
    while answers
        .last()
        .is_some_and(|a| a.as_deref().is_ok_and(|t| !t.ends_with("version 2")))
    {
        answers.push(next_answer());
    }
    stop.store(true, Ordering::Relaxed);
    poller.join().expect("poller");
    answers.extend(answers_in.try_iter());

    let failed: Vec<&String> = answers.iter().filter_map(|a| a.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "failed requests during the update: {failed:?}"
    );
    let texts: Vec<&str> = answers.iter().filter_map(|a| a.as_deref().ok()).collect();
    let first_v2 = texts
        .iter()
        .position(|t| t.ends_with("version 2"))
        .expect("version 2 answered eventually");
    assert!(first_v2 > 0, "version 1 answered first");
    assert!(texts[..first_v2].iter().all(|t| t.ends_with("version 1")));
    assert!(texts[first_v2..].iter().all(|t| t.ends_with("version 2")));
    device
        .wait_for("persistent capsule version 2 ready", Duration::from_secs(5))
        .unwrap();

    // The replacement was stored: after a restart version 2 serves, not the built-in version 1.
    drop(device);
    let mut device = start();
    device
        .wait_for("serves instead of the built-in one", WAIT)
        .unwrap();
    let sock = UdpSocket::bind("127.0.0.1:0").expect("client");
    sock.connect(&addr).expect("connect");
    sock.set_read_timeout(Some(WAIT)).expect("timeout");
    let after = get(&sock, 1, &["vm", "hello"]).expect("an answer after the restart");
    assert!(after.ends_with("version 2"), "{after}");
}
