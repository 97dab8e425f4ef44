//! `{{name}}`: a capsule for the world `example-udp`, a UDP echo: `bind-socket(port)` binds the
//! capsule's socket; each call of `run()` sends every datagram waiting back to its sender,
//! upper-cased, and returns when none is waiting (a device calls it again and again from its
//! main loop, as `trevm run --every` does).
#![no_std]

extern crate alloc;

// The global allocator and the panic handler.
use trevm_guest as _;

wit_bindgen::generate!({
    world: "example-udp",
    path: "wit",
    generate_all,
});

use alloc::string::String;

use ariel::wasm_bindings::log_api::info;
use ariel::wasm_bindings::udp_api::UdpSocket;
// Numbers as text without `core::fmt`, which would cost the capsule about 3.6 KB.
use trevm_guest::text::push_decimal;

struct Capsule;

impl Guest for Capsule {
    fn bind_socket(port: u16) {
        let mut line = String::from("Hello from {{name}}! ");
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
                // Nothing waiting (the host waited a moment without blocking the device).
                Ok(None) => return,
                Err(()) => {
                    info("The socket is not bound: call bind-socket first");
                    return;
                }
            }
        }
    }
}

export!(Capsule);
