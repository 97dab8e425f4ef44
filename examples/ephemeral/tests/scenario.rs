//! As a user of upstream's ephemeral examples would: PUT a capsule with libcoap's
//! coap-client-notls, see it run once in the background (its log line, its result), and stop
//! one that would never end with DELETE while the device keeps answering.

use std::path::Path;
use std::time::Duration;

use trevm_testkit::{Running, coap_client, free_local_addr};

/// A bound on every wait, so that a hung device fails the test instead of hanging it.
const WAIT: Duration = Duration::from_secs(30);

/// `payloads/<name>` built (signed with the development key) into `dir`.
#[path = "../../support/payload.rs"]
mod payload;

fn start() -> (Running, String) {
    let addr = free_local_addr();
    let open = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/open.yml");
    let mut device =
        Running::start(env!("CARGO_BIN_EXE_example-ephemeral"), &[&addr, open]).expect("start");
    device.wait_for("CoAP device on coap://", WAIT).unwrap();
    (device, format!("coap://{addr}/ephemeral"))
}

fn put(capsule: &Path, url: &str) -> String {
    coap_client(&[
        "-m",
        "put",
        "-b",
        "1024",
        "-f",
        capsule.to_str().unwrap(),
        "-U",
        url,
    ])
}

#[test]
fn a_put_capsule_runs_once_in_the_background() {
    let dir = tempfile::tempdir().expect("tempdir");
    let noise = payload::file("temperature-noise", dir.path());
    let fib = payload::file("fibonacci", dir.path());
    let (mut device, url) = start();

    // World example-ephemeral-with-bindings: one noisy reading of the simulated sensor (20–30 °C).
    let out = put(&noise, &url);
    assert!(
        out.contains("started temperature-noise: mess-with-temperature()"),
        "{out}"
    );
    let line = device.wait_for("messed with: ", WAIT).unwrap();
    let messed: f64 = line
        .split("messed with: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no reading in {line:?}"));
    assert!((19.5..=30.5).contains(&messed), "{line}");
    device
        .wait_for("ephemeral: mess-with-temperature() returned", WAIT)
        .unwrap();

    // World example-ephemeral-no-bindings: the device starts fibonacci(35) and answers at once.
    let out = put(&fib, &url);
    assert!(out.contains("started fibonacci: fibonacci(35)"), "{out}");
    device
        .wait_for("fibonacci(35) returned 9227465", WAIT)
        .unwrap();
    let out = coap_client(&["-m", "get", "-U", &url]);
    assert!(out.contains("fibonacci(35) returned 9227465"), "{out}");
}

#[test]
fn delete_stops_a_capsule_that_never_ends_and_the_device_keeps_answering() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Its one function without parameters, `run`, loops forever without calling the host.
    let spin = payload::file("sandbox-spin", dir.path());
    let (mut device, url) = start();

    let out = put(&spin, &url);
    assert!(out.contains("started sandbox-spin: run()"), "{out}");
    // Answered while the capsule spins on the same executor.
    let out = coap_client(&["-m", "get", "-U", &url]);
    assert!(out.contains("run() running for"), "{out}");

    let out = coap_client(&["-m", "delete", "-U", &url]);
    assert!(out.contains("stopped sandbox-spin: run()"), "{out}");
    device.wait_for("ephemeral: run() stopped", WAIT).unwrap();
    let out = coap_client(&["-m", "get", "-U", &url]);
    assert!(out.contains("run() stopped"), "{out}");
    // Nothing runs now: a second DELETE says so (still 2.02, as RFC 7252 asks).
    let out = coap_client(&["-m", "delete", "-U", &url]);
    assert!(out.contains("no ephemeral capsule was running"), "{out}");
    let status = coap_client(&["-m", "get", "-U", &url.replace("/ephemeral", "/status")]);
    assert!(
        status.contains("\"slot\":\"ephemeral\"") && status.contains("\"stopped\":1"),
        "{status}"
    );
}
