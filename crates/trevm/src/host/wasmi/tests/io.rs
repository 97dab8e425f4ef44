//! `gpio-api`, `sensors-api` and `udp-api` on wasmi: the async ones suspended and completed,
//! and the memory layouts their results are written in (offsets per the canonical ABI, spelled
//! out in `super::super::layout`).

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use core::sync::atomic::{AtomicUsize, Ordering};
use core::task::{Context, Poll};
use std::sync::Mutex;

use wasmi::{ResumableCall, Val};

use super::{Guest, REALLOC};
use crate::host::HostState;
use crate::host::gpio::{Button, Led, LedError};
use crate::host::sensors::{
    Category, Channel, Label, MeasurementUnit, ReadingFuture, Sample, SampleMetadata, Sensor,
    SensorError, SensorRegistry,
};
use crate::host::udp::{RecvMeta, UdpError, UdpSocket, UdpStack};
use crate::host::wasmi::Pending;

const GPIO: &str = r#"(module
    (import "ariel:wasm-bindings/gpio-api@0.0.1" "wait-for-button-low" (func $wait (result i32)))
    (import "ariel:wasm-bindings/gpio-api@0.0.1" "toggle-led" (func $toggle (result i32)))
    (memory (export "memory") 1)
    (func (export "wait") (result i32) (call $wait))
    (func (export "toggle") (result i32) (call $toggle)))"#;

struct CountingLed(AtomicUsize);

impl Led for CountingLed {
    fn toggle(&self) -> Result<bool, LedError> {
        Ok(self.0.fetch_add(1, Ordering::SeqCst).is_multiple_of(2))
    }
}

#[test]
fn gpio_waits_for_a_press_and_toggles_the_led() {
    let button = Arc::new(Button::new());
    let led = Arc::new(CountingLed(AtomicUsize::new(0)));
    let host = HostState::new("cap")
        .with_button(button.clone())
        .with_led(led.clone());
    let mut guest = Guest::wat(GPIO, host);
    // The wait suspends the call; completing it waits for the press.
    let mut out = [Val::I32(-1)];
    let ResumableCall::HostTrap(trap) = guest.start("wait", &[], &mut out) else {
        panic!("wait-for-button-low did not suspend the call");
    };
    let pending = trap
        .host_error()
        .downcast_ref::<Pending>()
        .cloned()
        .unwrap();
    assert_eq!(pending, Pending::WaitForButtonLow);
    button.set_low(true);
    let values = guest.complete(pending).unwrap();
    trap.resume(&mut guest.store, &values, &mut out).unwrap();
    assert_eq!(super::ints(&out), [0]);
    assert_eq!(guest.call("toggle", &[], 1).unwrap(), [0]);
    assert_eq!(led.0.load(Ordering::SeqCst), 1);
}

#[test]
fn gpio_without_button_or_led_answers_the_error_value() {
    let mut guest = Guest::wat(GPIO, HostState::new("cap"));
    assert_eq!(guest.call("wait", &[], 1).unwrap(), [1]);
    assert_eq!(guest.call("toggle", &[], 1).unwrap(), [1]);
}

const SENSORS: &str = r#"
    (import "ariel:wasm-bindings/sensors-api@0.0.1" "trigger-measurements"
        (func $trigger (param i32 i32) (result i32)))
    (import "ariel:wasm-bindings/sensors-api@0.0.1" "wait-for-reading"
        (func $wait (param i32 i32 i32)))
    (memory (export "memory") 1)
    (func (export "trigger") (param i32 i32) (result i32)
        (call $trigger (local.get 0) (local.get 1)))
    (func (export "read") (param i32 i32 i32)
        (call $wait (local.get 0) (local.get 1) (local.get 2)))
"#;

pub(super) struct Thermometer;

const CHANNELS: [Channel; 2] = [
    Channel {
        label: Label::Temperature,
        scaling: -2,
        unit: MeasurementUnit::Celsius,
    },
    Channel {
        label: Label::RelativeHumidity,
        scaling: 0,
        unit: MeasurementUnit::PercentageRelativeHumidity,
    },
];

impl Sensor for Thermometer {
    fn display_name(&self) -> &str {
        "thermometer"
    }
    fn categories(&self) -> &[Category] {
        &[Category::RelativeHumidityTemperature, Category::Temperature]
    }
    fn channels(&self) -> &[Channel] {
        &CHANNELS
    }
    fn trigger_measurement(&self) -> Result<(), SensorError> {
        Ok(())
    }
    fn wait_for_reading(&self) -> ReadingFuture<'_> {
        Box::pin(async {
            Ok(vec![
                Sample {
                    value: 2312,
                    metadata: SampleMetadata::SymmetricalError {
                        deviation: 5,
                        bias: -1,
                        scaling: -2,
                    },
                },
                Sample {
                    value: 40,
                    metadata: SampleMetadata::NoMeasurementError,
                },
            ])
        })
    }
}

fn sensors_guest() -> Guest {
    let registry = Arc::new(SensorRegistry::new().with(Arc::new(Thermometer)));
    Guest::wat(
        &alloc::format!("(module {SENSORS} {REALLOC})"),
        HostState::new("cap").with_sensors(registry),
    )
}

#[test]
fn wait_for_reading_writes_the_list_of_samples_and_channels() {
    let mut guest = sensors_guest();
    // trigger-measurements(some(temperature)): category 17.
    assert_eq!(
        guest
            .call("trigger", &[Val::I32(1), Val::I32(17)], 1)
            .unwrap(),
        [0]
    );
    guest
        .call("read", &[Val::I32(0), Val::I32(0), Val::I32(8)], 0)
        .unwrap();
    // ok, the list at 1024 (the allocator's first block), 2 elements.
    assert_eq!(guest.peek(8, 1), [0]);
    assert_eq!(guest.peek(12, 8), [0, 4, 0, 0, 2, 0, 0, 0]);
    #[rustfmt::skip]
    let expected = [
        // sample { 2312, symmetrical-error(5, -1, -2) }, channel { temperature, -2, celsius }
        8, 9, 0, 0, 2, 5, 255, 254, 13, 254, 5, 0,
        // sample { 40, no-measurement-error }, channel { relative-humidity, 0, percentage-… }
        40, 0, 0, 0, 1, 0, 0, 0, 11, 0, 28, 0,
    ];
    assert_eq!(guest.peek(1024, 24), expected);
    // Only the temperature channel (label 13), after a trigger of every sensor (none).
    guest
        .call("trigger", &[Val::I32(0), Val::I32(99)], 1)
        .unwrap();
    guest
        .call("read", &[Val::I32(1), Val::I32(13), Val::I32(8)], 0)
        .unwrap();
    assert_eq!(guest.peek(16, 4), [1, 0, 0, 0]);
    // Nothing triggered: the error value.
    guest
        .call("read", &[Val::I32(0), Val::I32(0), Val::I32(8)], 0)
        .unwrap();
    assert_eq!(guest.peek(8, 1), [1]);
}

#[test]
fn sensors_refuse_discriminants_without_a_case() {
    let mut guest = sensors_guest();
    let e = guest
        .call("trigger", &[Val::I32(1), Val::I32(20)], 1)
        .unwrap_err();
    assert_eq!(
        e.fault(),
        "sensors-api.trigger-measurements: invalid enum discriminant"
    );
    let e = guest
        .call("trigger", &[Val::I32(2), Val::I32(0)], 1)
        .unwrap_err();
    assert_eq!(
        e.fault(),
        "sensors-api.trigger-measurements: invalid option discriminant"
    );
    let e = guest
        .call("read", &[Val::I32(1), Val::I32(18), Val::I32(8)], 0)
        .unwrap_err();
    assert_eq!(
        e.fault(),
        "sensors-api.wait-for-reading: invalid enum discriminant"
    );
    let e = guest
        .call("read", &[Val::I32(0), Val::I32(0), Val::I32(65528)], 0)
        .unwrap_err();
    assert_eq!(
        e.fault(),
        "sensors-api.wait-for-reading: pointer out of bounds"
    );
}

/// A network of one socket: datagrams to receive, and what was sent.
#[derive(Default)]
pub(super) struct Net {
    pub(super) inbox: Mutex<VecDeque<(Vec<u8>, RecvMeta)>>,
    pub(super) sent: Mutex<Vec<(Vec<u8>, SocketAddr)>>,
}

pub(super) struct Stack(pub(super) Arc<Net>);
struct Socket(Arc<Net>);

impl UdpStack for Stack {
    fn bind(&self, _port: u16) -> Result<Box<dyn UdpSocket>, UdpError> {
        Ok(Box::new(Socket(self.0.clone())))
    }
}

impl UdpSocket for Socket {
    fn poll_send_to(
        &mut self,
        data: &[u8],
        to: SocketAddr,
        _: &mut Context<'_>,
    ) -> Poll<Result<(), UdpError>> {
        self.0.sent.lock().unwrap().push((data.to_vec(), to));
        Poll::Ready(Ok(()))
    }
    fn poll_recv_from(
        &mut self,
        buf: &mut [u8],
        _: &mut Context<'_>,
    ) -> Poll<Result<(usize, RecvMeta), UdpError>> {
        match self.0.inbox.lock().unwrap().pop_front() {
            Some((data, meta)) => {
                buf[..data.len()].copy_from_slice(&data);
                Poll::Ready(Ok((data.len(), meta)))
            }
            None => Poll::Pending, // the grace period ends the wait
        }
    }
    fn max_datagram(&self) -> usize {
        64
    }
}

const UDP: &str = r#"
    (import "ariel:wasm-bindings/udp-api@0.0.1" "[static]udp-socket.bind"
        (func $bind (param i32) (result i32)))
    (import "ariel:wasm-bindings/udp-api@0.0.1" "[static]udp-socket.send"
        (func $send (param i32) (result i32)))
    (import "ariel:wasm-bindings/udp-api@0.0.1" "[static]udp-socket.try-recv"
        (func $try_recv (param i32)))
    (memory (export "memory") 1)
    (func (export "bind") (param i32) (result i32) (call $bind (local.get 0)))
    (func (export "recv") (param i32) (call $try_recv (local.get 0)))
    (func (export "send") (param i32) (result i32) (call $send (local.get 0)))
    ;; Receives at 64 and sends the datagram back: the arguments at 128 are the received
    ;; list and udp-metadata. -1: error, -2: none.
    (func (export "echo") (result i32)
        (call $try_recv (i32.const 64))
        (if (i32.load8_u (i32.const 64)) (then (return (i32.const -1))))
        (if (i32.eqz (i32.load8_u (i32.const 68))) (then (return (i32.const -2))))
        (i32.store (i32.const 128) (i32.load (i32.const 72)))
        (i32.store (i32.const 132) (i32.load (i32.const 76)))
        (memory.copy (i32.const 136) (i32.const 80) (i32.const 40))
        (call $send (i32.const 128)))
"#;

fn udp_guest() -> (Guest, Arc<Net>) {
    let net = Arc::new(Net::default());
    let host = HostState::new("cap").with_udp(Arc::new(Stack(net.clone())));
    let guest = Guest::wat(&alloc::format!("(module {UDP} {REALLOC})"), host);
    (guest, net)
}

#[test]
fn try_recv_writes_the_datagram_and_its_metadata() {
    let (mut guest, net) = udp_guest();
    // Before bind: the error value.
    guest.call("recv", &[Val::I32(64)], 0).unwrap();
    assert_eq!(guest.peek(64, 1), [1]);
    assert_eq!(guest.call("bind", &[Val::I32(7)], 1).unwrap(), [0]);
    assert_eq!(guest.call("bind", &[Val::I32(7)], 1).unwrap(), [1]);
    // Nothing within the grace period: ok(none).
    guest.call("recv", &[Val::I32(64)], 0).unwrap();
    assert_eq!(guest.peek(64, 5), [0, 0, 0, 0, 0]);
    let from = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 5683);
    let local = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x1234));
    net.inbox.lock().unwrap().push_back((
        b"abc".to_vec(),
        RecvMeta {
            from,
            local: Some(local),
        },
    ));
    guest.call("recv", &[Val::I32(64)], 0).unwrap();
    // ok(some((list at 1024 of 3, metadata)))
    assert_eq!(
        guest.peek(64, 16),
        [0, 0, 0, 0, 1, 0, 0, 0, 0, 4, 0, 0, 3, 0, 0, 0]
    );
    assert_eq!(guest.peek(1024, 3), b"abc");
    #[rustfmt::skip]
    let metadata = [
        // endpoint.addr: v4 (disc 0 at 0, 192.0.2.1 at 2), 12 bytes of v6 room unwritten
        0, 0, 192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        // endpoint.port 5683
        0x33, 0x16,
        // local-addr: some (disc 1 at 20), v6 (disc 1 at 22), fe80::1234 at 24
        1, 0, 1, 0, 0x80, 0xfe, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x34, 0x12,
    ];
    assert_eq!(guest.peek(80, 40), metadata);
    assert!(net.sent.lock().unwrap().is_empty());
}

#[test]
fn send_reads_the_datagram_and_endpoint_the_guest_passed() {
    let (mut guest, net) = udp_guest();
    guest.call("bind", &[Val::I32(7)], 1).unwrap();
    let from = SocketAddr::new(
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7)),
        9999,
    );
    net.inbox
        .lock()
        .unwrap()
        .push_back((b"hi".to_vec(), RecvMeta { from, local: None }));
    assert_eq!(guest.call("echo", &[], 1).unwrap(), [0]);
    assert_eq!(*net.sent.lock().unwrap(), [(b"hi".to_vec(), from)]);
}

#[test]
fn send_refuses_bad_arguments_and_answers_oversized_datagrams_with_the_error_value() {
    let (mut guest, net) = udp_guest();
    guest.call("bind", &[Val::I32(7)], 1).unwrap();
    let memory = guest.instance.get_memory(&guest.store, "memory").unwrap();
    let mut args = [0u8; 48];
    args[..4].copy_from_slice(&1024u32.to_le_bytes());
    args[4..8].copy_from_slice(&65u32.to_le_bytes()); // over max_datagram (64)
    memory.write(&mut guest.store, 128, &args).unwrap();
    assert_eq!(guest.call("send", &[Val::I32(128)], 1).unwrap(), [1]);
    // An ip-addr discriminant with no case.
    args[4..8].copy_from_slice(&3u32.to_le_bytes());
    args[8] = 2;
    memory.write(&mut guest.store, 128, &args).unwrap();
    let e = guest.call("send", &[Val::I32(128)], 1).unwrap_err();
    assert_eq!(
        e.fault(),
        "udp-api.udp-socket.send: invalid ip-addr discriminant"
    );
    // The datagram out of bounds; the arguments misaligned.
    args[..4].copy_from_slice(&65534u32.to_le_bytes());
    args[8] = 0;
    memory.write(&mut guest.store, 128, &args).unwrap();
    let e = guest.call("send", &[Val::I32(128)], 1).unwrap_err();
    assert_eq!(e.fault(), "udp-api.udp-socket.send: pointer out of bounds");
    let e = guest.call("send", &[Val::I32(130)], 1).unwrap_err();
    assert_eq!(e.fault(), "udp-api.udp-socket.send: pointer not aligned");
    assert!(net.sent.lock().unwrap().is_empty());
}
