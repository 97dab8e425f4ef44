//! sensors-api, udp-api and ble-api on the native board, observed from outside the capsule: what
//! it logs, the bytes a UDP client gets back, the stats it returns; and misuse of each binding
//! answered with the error value while the capsule keeps running.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use common::{block_on, capsule, run_virtual, runtime};
use futures_util::future::{Either, select};
use trevm::host::SensorRegistry;
use trevm::{HostState, Limits, Val};
use trevm_native::clock::until;
use trevm_native::{ConsoleLog, NativeBoard, SimSensor};

/// How long a scenario waits for what it observes (of the virtual clock in the sensor scenario, of
/// real time for sockets).
const TEN_SECONDS: StdDuration = StdDuration::from_secs(10);

/// A UDP port nobody uses right now.
fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

#[test]
fn temperature_crossings_are_logged() {
    let log = Arc::new(ConsoleLog::silent());
    let board = NativeBoard::with_log(log.clone()).with_sensors(
        SensorRegistry::new()
            .with(Arc::new(SimSensor::humidity_walk(7)))
            .with(Arc::new(SimSensor::temperature_script(vec![
                2400, 2450, 2550, 2600, 2450,
            ]))),
    );
    let rt = runtime();
    let loaded = rt.load(&capsule("sensors")).expect("load");
    let mut inst = block_on(rt.instantiate(&loaded, board.host_state("sensors"), Limits::new()))
        .expect("instantiate");
    let readings = || log.messages().len() >= 6;
    // Six readings 500 ms apart on the virtual clock: the outcome cannot depend on the machine.
    let outcome = run_virtual(async {
        let run = Box::pin(inst.call("monitor-temperature", &[]));
        match select(run, Box::pin(until(TEN_SECONDS, readings))).await {
            Either::Left((r, _)) => Some(r),
            Either::Right(_) => None,
        }
    });
    assert!(outcome.is_none(), "the capsule returned: {outcome:?}");
    assert_eq!(
        &log.messages()[..6],
        [
            "Monitoring the temperature every 500 ms; alert above 25.00 °C",
            "Temperature: 24.00 °C",
            "Temperature: 24.50 °C",
            "ALERT: above 25.00 °C: 25.50 °C",
            "Temperature: 26.00 °C",
            "Back below 25.00 °C: 24.50 °C",
        ]
    );
}

#[test]
fn udp_echo_answers_ipv4_and_ipv6_clients() {
    let log = Arc::new(ConsoleLog::silent());
    let board = NativeBoard::with_log(log.clone());
    let port = free_port();
    let rt = runtime();
    let loaded = rt.load(&capsule("udp")).expect("load");
    let mut inst = block_on(rt.instantiate(&loaded, board.host_state("udp"), Limits::new()))
        .expect("instantiate");
    block_on(inst.call("bind-socket", &[Val::U16(port)])).expect("bind-socket");
    assert_eq!(log.messages(), [format!("Listening on UDP port {port}")]);

    // The clients are ordinary blocking sockets on another thread, as a separate program would be.
    let client = std::thread::spawn(move || {
        let mut replies = Vec::new();
        for (bind, to, msg) in [
            ("127.0.0.1:0", format!("127.0.0.1:{port}"), "hello, capsule"),
            ("[::1]:0", format!("[::1]:{port}"), "over ipv6"),
        ] {
            let Ok(sock) = UdpSocket::bind(bind) else {
                replies.push(Err(format!("cannot bind {bind}")));
                continue;
            };
            let _ = sock.set_read_timeout(Some(StdDuration::from_secs(5)));
            let to: SocketAddr = to.parse().expect("addr");
            let mut buf = [0u8; 2048];
            let reply = sock
                .send_to(msg.as_bytes(), to)
                .and_then(|_| sock.recv_from(&mut buf))
                .map(|(n, from)| (String::from_utf8_lossy(&buf[..n]).into_owned(), from))
                .map_err(|e| format!("{to}: {e}"));
            replies.push(reply);
        }
        replies
    });
    let outcome = block_on(async {
        let run = Box::pin(inst.call("run", &[]));
        match select(run, Box::pin(until(TEN_SECONDS, || client.is_finished()))).await {
            Either::Left((r, _)) => Some(r),
            Either::Right(_) => None,
        }
    });
    assert!(outcome.is_none(), "the capsule returned: {outcome:?}");
    let replies = client.join().expect("client thread");
    let (text, from) = replies[0].clone().expect("IPv4 reply");
    assert_eq!(text, "HELLO, CAPSULE");
    assert_eq!(
        from,
        format!("127.0.0.1:{port}").parse::<SocketAddr>().unwrap()
    );
    match &replies[1] {
        Ok((text, from)) => {
            assert_eq!(text, "OVER IPV6");
            assert_eq!(
                *from,
                format!("[::1]:{port}").parse::<SocketAddr>().unwrap()
            );
        }
        // Some sandboxes have no IPv6 loopback at all; then there is nothing to test.
        Err(e) if e.contains("cannot bind") => eprintln!("skipping IPv6: {e}"),
        Err(e) => panic!("IPv6 reply: {e}"),
    }
    assert!(
        log.messages()
            .contains(&"Echoing 14 bytes, upper-cased".to_string())
    );
}

fn misuse_instance(host: HostState) -> trevm::Instance {
    let rt = runtime();
    let loaded = rt.load(&capsule("misuse")).expect("load");
    block_on(rt.instantiate(&loaded, host, Limits::new())).expect("instantiate")
}

fn got_error(inst: &mut trevm::Instance, name: &str, args: &[Val]) -> bool {
    match block_on(inst.call(name, args)) {
        Ok(v) => v == [Val::Bool(true)],
        Err(e) => panic!("{name} trapped instead of returning the error value: {e}"),
    }
}

#[test]
fn udp_misuse_gets_the_error_value_and_the_capsule_keeps_running() {
    let board = NativeBoard::with_log(Arc::new(ConsoleLog::silent()));
    let mut a = misuse_instance(board.host_state("a"));
    let mut b = misuse_instance(board.host_state("b"));
    let port = free_port();
    assert!(got_error(&mut a, "send-before-bind", &[]));
    assert!(got_error(&mut a, "recv-before-bind", &[]));
    assert!(!got_error(&mut a, "bind", &[Val::U16(port)]), "first bind");
    assert!(got_error(&mut a, "bind", &[Val::U16(port)]), "bound twice");
    assert!(got_error(&mut b, "bind", &[Val::U16(port)]), "port taken");
    // One byte over the limit, then a reasonable one: both from the same, still healthy, capsule.
    let sink = UdpSocket::bind("127.0.0.1:0").expect("sink");
    let sink_port = sink.local_addr().expect("addr").port();
    let huge = Val::U32(trevm_native::MAX_DATAGRAM as u32 + 1);
    assert!(got_error(
        &mut a,
        "send-datagram",
        &[Val::U16(sink_port), huge]
    ));
    assert!(got_error(
        &mut a,
        "send-datagram",
        &[Val::U16(sink_port), Val::U32(8000)]
    ));
    assert!(!got_error(
        &mut a,
        "send-datagram",
        &[Val::U16(sink_port), Val::U32(16)]
    ));
    let mut buf = [0u8; 64];
    sink.set_read_timeout(Some(StdDuration::from_secs(5)))
        .expect("timeout");
    let (n, _) = sink
        .recv_from(&mut buf)
        .expect("the 16-byte datagram arrives");
    assert_eq!(&buf[..n], [b'x'; 16]);
    // The other capsule was not disturbed either.
    assert!(!got_error(&mut b, "bind", &[Val::U16(free_port())]));
}

#[test]
fn missing_peripherals_give_the_error_value() {
    // No LED, no button, no sensors, no network.
    let mut inst = misuse_instance(HostState::new("bare"));
    assert!(got_error(&mut inst, "wait-button", &[]));
    assert!(got_error(&mut inst, "toggle", &[]));
    assert!(got_error(&mut inst, "read-sensors", &[]));
    assert!(got_error(&mut inst, "bind", &[Val::U16(free_port())]));
    // With the board's sensors: reading works, waiting without a trigger does not.
    let board = NativeBoard::with_log(Arc::new(ConsoleLog::silent()));
    let mut inst = misuse_instance(board.host_state("with-sensors"));
    assert!(!got_error(&mut inst, "read-sensors", &[]));
    assert!(got_error(&mut inst, "wait-without-trigger", &[]));
}

fn bd(bytes: [u8; 6]) -> Val {
    Val::Record(
        ["a", "b", "c", "d", "e", "f"]
            .iter()
            .zip(bytes)
            .map(|(k, v)| (k.to_string(), Val::U8(v)))
            .collect(),
    )
}

#[test]
fn ble_scanner_counts_reports_per_address() {
    let (host, log) = common::host("ble-scanner");
    let rt = runtime();
    let loaded = rt.load(&capsule("ble-scanner")).expect("load");
    let mut inst = block_on(rt.instantiate(&loaded, host, Limits::new())).expect("instantiate");
    const REPORT: &str = "ariel:wasm-bindings/ble-api@0.0.1#on-single-report";
    const STATS: &str = "ariel:wasm-bindings/ble-api@0.0.1#return-stats";
    let a = [0xc0, 0xff, 0xee, 0, 0, 1];
    let b = [0xc0, 0xff, 0xee, 0, 0, 2];
    for addr in [a, b, a, a, b, a] {
        let r = block_on(inst.call(REPORT, &[bd(addr)])).expect("report");
        assert_eq!(r, [Val::Result(Ok(None))]);
    }
    let stats = block_on(inst.call(STATS, &[])).expect("stats");
    let expected = Val::List(vec![
        Val::Tuple(vec![bd(a), Val::U64(4)]),
        Val::Tuple(vec![bd(b), Val::U64(2)]),
    ]);
    assert_eq!(stats, [expected]);
    assert_eq!(
        log.messages(),
        [
            "New device c0:ff:ee:00:00:01",
            "New device c0:ff:ee:00:00:02"
        ]
    );
}
