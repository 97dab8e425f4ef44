//! Example capsule for the world `example-udp`: `bind-socket(port)` binds the capsule's UDP
//! socket, `run()` echoes every datagram back to its sender, upper-cased.
#![no_std]

extern crate alloc;

// Allocator and panic handler.
use trevm_guest as _;

wit_bindgen::generate!({
    world: "example-udp",
    path: "../../wit",
    generate_all,
});

use alloc::string::String;
use ariel::wasm_bindings::log_api::info;
use ariel::wasm_bindings::udp_api::UdpSocket;
use trevm_guest::text::push_decimal;

struct Capsule;

impl Guest for Capsule {
    fn bind_socket(port: u16) {
        let mut line = String::new();
        if UdpSocket::bind(port).is_ok() {
            line.push_str("Listening on UDP port ");
        } else {
            line.push_str("Cannot bind UDP port ");
        }
        push_decimal(&mut line, u64::from(port));
        info(&line);
    }

    fn run() {
        loop {
            match UdpSocket::try_recv() {
                Ok(Some((mut data, from))) => {
                    data.make_ascii_uppercase();
                    let mut line = String::from("Echoing ");
                    push_decimal(&mut line, data.len() as u64);
                    line.push_str(" bytes, upper-cased");
                    info(&line);
                    if UdpSocket::send(&data, from).is_err() {
                        info("Sending the reply failed");
                    }
                }
                // Nothing yet: the host waited a moment without blocking the device.
                Ok(None) => {}
                Err(()) => {
                    info("The socket is not bound: call bind-socket first");
                    return;
                }
            }
        }
    }
}

export!(Capsule);
