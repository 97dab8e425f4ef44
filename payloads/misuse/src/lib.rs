//! Test capsule for the world `misuse`: calls peripheral bindings wrongly; each export returns
//! whether the host answered with the call's error value (what a well-behaved host must do,
//! rather than trap or crash).
#![no_std]

extern crate alloc;

// Allocator and panic handler.
use trevm_guest as _;

wit_bindgen::generate!({
    world: "misuse",
    path: "../../wit",
    generate_all,
});

use alloc::vec;
use ariel::wasm_bindings::gpio_api::{toggle_led, wait_for_button_low};
use ariel::wasm_bindings::sensors_api::{trigger_measurements, wait_for_reading};
use ariel::wasm_bindings::udp_api::{Endpoint, IpAddr, Ipv4Addr, UdpMetadata, UdpSocket};

fn loopback(port: u16) -> UdpMetadata {
    UdpMetadata {
        endpoint: Endpoint {
            addr: IpAddr::V4(Ipv4Addr {
                a: 127,
                b: 0,
                c: 0,
                d: 1,
            }),
            port,
        },
        local_addr: None,
    }
}

struct Capsule;

impl Guest for Capsule {
    fn send_before_bind() -> bool {
        UdpSocket::send(b"too early", loopback(9)).is_err()
    }

    fn recv_before_bind() -> bool {
        UdpSocket::try_recv().is_err()
    }

    fn bind(port: u16) -> bool {
        UdpSocket::bind(port).is_err()
    }

    fn send_datagram(port: u16, len: u32) -> bool {
        UdpSocket::send(&vec![b'x'; len as usize], loopback(port)).is_err()
    }

    fn wait_button() -> bool {
        wait_for_button_low().is_err()
    }

    fn toggle() -> bool {
        toggle_led().is_err()
    }

    fn read_sensors() -> bool {
        trigger_measurements(None).is_err() || wait_for_reading(None).is_err()
    }

    fn wait_without_trigger() -> bool {
        wait_for_reading(None).is_err()
    }
}

export!(Capsule);
