//! As a user: the persistent slot's capsules get the interfaces the device grants it. A capsule
//! reading the temperature sensor and the random number generator (world
//! `example-persistent-with-bindings`) replaces the built-in one and serves the reading at
//! `/vm/temperature_sensor`; one importing nothing (`example-persistent-no-bindings`) serves too.

use std::path::Path;
use std::time::Duration;

use trevm_testkit::{Running, coap_client, free_local_addr};

const WAIT: Duration = Duration::from_secs(20);

#[path = "../../support/payload.rs"]
mod payload;

fn put(capsule: &Path, url: &str) -> String {
    let file = capsule.to_str().unwrap();
    coap_client(&["-m", "put", "-b", "1024", "-f", file, "-U", url])
}

#[test]
fn persistent_capsules_with_and_without_bindings_serve_their_resources() {
    let dir = tempfile::tempdir().expect("tempdir");
    let temperature = payload::file("temperature-server", dir.path());
    let counter = payload::file("coap-counter", dir.path());
    let addr = free_local_addr();
    let open = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/open.yml");
    let mut device =
        Running::start(env!("CARGO_BIN_EXE_example-persistent"), &[&addr, open]).expect("start");
    device.wait_for("CoAP device on coap://", WAIT).unwrap();
    let base = format!("coap://{addr}");

    let out = put(&temperature, &format!("{base}/vm-control"));
    assert!(out.contains("serving temperature_sensor"), "{out}");
    device
        .wait_for("serving the temperature at temperature_sensor", WAIT)
        .unwrap();
    // The simulated sensor reads 20–30 °C; the capsule adds at most ±0.50 °C of noise.
    for _ in 0..3 {
        let out = coap_client(&["-m", "get", "-U", &format!("{base}/vm/temperature_sensor")]);
        let reading: f64 = out
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("not a reading: {out:?}"));
        assert!((19.5..=30.5).contains(&reading), "{reading}");
    }
    let links = coap_client(&["-m", "get", "-U", &format!("{base}/.well-known/core")]);
    assert!(links.contains("</vm/temperature_sensor>"), "{links}");

    let out = put(&counter, &format!("{base}/vm-control"));
    assert!(out.contains("serving counter"), "{out}");
    let counter_url = format!("{base}/vm/counter");
    coap_client(&["-m", "post", "-U", &counter_url]);
    let out = coap_client(&["-m", "post", "-U", &counter_url]);
    assert_eq!(out.trim(), "2");
    let gone = coap_client(&["-m", "get", "-U", &format!("{base}/vm/temperature_sensor")]);
    assert!(gone.contains("4.04"), "{gone}");
}
