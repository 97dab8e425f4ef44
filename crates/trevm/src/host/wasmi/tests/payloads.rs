//! The real payloads' core modules (what a wasmi capsule carries), whose wit-bindgen code reads
//! and writes the canonical-ABI layouts the host hand-codes: the check that those layouts are
//! the real ones, not only self-consistent.
//!
//! Ignored by default: they need the payloads built first (`cd payloads && cargo build
//! --release -p udp -p sensors -p hostile -p async-bindings`, or any test that builds capsules);
//! run them with `cargo test --release -p trevm --lib host::wasmi -- --ignored`.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use wasmi::{ResumableCall, ResumableCallHostTrap, Val};

use super::io::{Net, Stack, Thermometer};
use super::{CountingRng, Guest, Lines};
use crate::host::HostState;
use crate::host::sensors::SensorRegistry;
use crate::host::udp::RecvMeta;
use crate::host::wasmi::Pending;

fn payload(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../payloads/target/wasm32v1-none/release")
        .join(alloc::format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (build the payloads first: see this module's doc)",
            path.display()
        )
    })
}

/// Runs the call on to its next suspension, which it returns.
fn next_pending(guest: &mut Guest, call: ResumableCall) -> (ResumableCallHostTrap, Pending) {
    let ResumableCall::HostTrap(trap) = call else {
        panic!("the call ended instead of waiting");
    };
    let Some(pending) = trap.host_error().downcast_ref::<Pending>().cloned() else {
        panic!("the call failed: {}", trap.host_error());
    };
    let _ = guest;
    (trap, pending)
}

/// Completes `pending` and resumes `trap`: the call's next stop.
fn resume(guest: &mut Guest, trap: ResumableCallHostTrap, pending: Pending) -> ResumableCall {
    let values = guest.complete(pending).expect("completes");
    trap.resume(&mut guest.store, &values, &mut [])
        .expect("resumes")
}

#[test]
#[ignore = "needs the payloads built (see the module doc)"]
fn payload_udp_echo_reads_what_try_recv_wrote_and_sends_it_back() {
    let net = Arc::new(Net::default());
    let lines = Arc::new(Lines::default());
    let host = HostState::new("udp")
        .with_log(lines.clone())
        .with_udp(Arc::new(Stack(net.clone())));
    let mut guest = Guest::new(&payload("udp"), host);
    guest.call("bind-socket", &[Val::I32(5683)], 0).unwrap();
    assert_eq!(lines.take(), ["Listening on UDP port 5683"]);
    let v4 = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 40000);
    let v6 = SocketAddr::new(
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7)),
        9,
    );
    let local = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1));
    for (data, from, local) in [(&b"hello"[..], v4, None), (&b"wasmi!"[..], v6, Some(local))] {
        net.inbox
            .lock()
            .unwrap()
            .push_back((data.to_vec(), RecvMeta { from, local }));
    }
    let func = guest.instance.get_func(&guest.store, "run").unwrap();
    let mut call = func.call_resumable(&mut guest.store, &[], &mut []).unwrap();
    // Each datagram: try-recv, then send; then a try-recv that waits for ever (nothing more).
    for _ in 0..4 {
        let (trap, pending) = next_pending(&mut guest, call);
        call = resume(&mut guest, trap, pending);
    }
    let (_, pending) = next_pending(&mut guest, call);
    assert!(matches!(pending, Pending::UdpTryRecv { .. }), "{pending:?}");
    assert_eq!(
        *net.sent.lock().unwrap(),
        [(b"HELLO".to_vec(), v4), (b"WASMI!".to_vec(), v6)]
    );
    assert_eq!(
        lines.take(),
        [
            "Echoing 5 bytes, upper-cased",
            "Echoing 6 bytes, upper-cased"
        ]
    );
}

#[test]
#[ignore = "needs the payloads built (see the module doc)"]
fn payload_sensors_reads_the_samples_wait_for_reading_wrote() {
    let lines = Arc::new(Lines::default());
    let registry = Arc::new(SensorRegistry::new().with(Arc::new(Thermometer)));
    let host = HostState::new("sensors")
        .with_log(lines.clone())
        .with_sensors(registry);
    let mut guest = Guest::new(&payload("sensors"), host);
    let func = guest
        .instance
        .get_func(&guest.store, "monitor-temperature")
        .unwrap();
    let call = func.call_resumable(&mut guest.store, &[], &mut []).unwrap();
    let (trap, pending) = next_pending(&mut guest, call);
    assert!(
        matches!(pending, Pending::WaitForReading { .. }),
        "{pending:?}"
    );
    let call = resume(&mut guest, trap, pending);
    let (_, pending) = next_pending(&mut guest, call);
    assert_eq!(pending, Pending::Sleep { millis: 500 });
    let lines: Vec<String> = lines.take();
    assert_eq!(lines[1..], ["Temperature: 23.12 °C"]);
}

#[test]
#[ignore = "needs the payloads built (see the module doc)"]
fn payload_hostile_is_refused_and_sleeps() {
    let lines = Arc::new(Lines::default());
    let host = HostState::new("hostile")
        .with_log(lines.clone())
        .with_rng(CountingRng(0));
    let mut guest = Guest::new(&payload("hostile"), host);
    let e = guest.call("huge-random", &[], 1).unwrap_err();
    assert!(
        e.refusal().contains("random-bytes(4294967295) exceeds"),
        "{e:?}"
    );
    guest.call("sleep-for", &[Val::I64(250)], 0).unwrap();
    assert_eq!(lines.take(), ["woke up"]);
}

#[test]
#[ignore = "needs the payloads built (see the module doc)"]
fn payload_async_bindings_logs_random_numbers_and_the_clock() {
    let lines = Arc::new(Lines::default());
    let host = HostState::new("async")
        .with_log(lines.clone())
        .with_rng(CountingRng(0));
    let mut guest = Guest::new(&payload("async_bindings"), host);
    let func = guest.instance.get_func(&guest.store, "run").unwrap();
    let call = func.call_resumable(&mut guest.store, &[], &mut []).unwrap();
    let (trap, pending) = next_pending(&mut guest, call);
    assert_eq!(pending, Pending::Sleep { millis: 3000 });
    let call = resume(&mut guest, trap, pending);
    let (_, pending) = next_pending(&mut guest, call);
    assert_eq!(pending, Pending::Sleep { millis: 1000 });
    let lines = lines.take();
    // 7, 14, … 70 modulo 100.
    let numbers: Vec<&str> = lines[2..12].iter().map(String::as_str).collect();
    assert_eq!(
        numbers,
        ["7", "14", "21", "28", "35", "42", "49", "56", "63", "70"]
    );
    assert!(lines[12].starts_with("It has been "), "{lines:?}");
    assert_eq!(lines[13], "Now sleeping for 3 seconds");
}
