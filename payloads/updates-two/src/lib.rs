//! Example capsule for the world `example-updates`, version two (the update): a countdown from
//! 99 at two steps a second, then a quiet wait.
#![no_std]

// Allocator and panic handler.
use trevm_guest as _;

wit_bindgen::generate!({
    world: "example-updates",
    path: "../../wit",
    generate_all,
});

use ariel::wasm_bindings::log_api::info;
use ariel::wasm_bindings::time_api::sleep;

struct Capsule;

impl Guest for Capsule {
    fn run() {
        info("Version two started: counting down from 99");
        for n in (0..100u8).rev() {
            let mut line = [0u8; 7];
            line[..5].copy_from_slice(b"two: ");
            let len = if n >= 10 {
                line[5] = b'0' + n / 10;
                line[6] = b'0' + n % 10;
                7
            } else {
                line[5] = b'0' + n;
                6
            };
            if let Ok(text) = core::str::from_utf8(&line[..len]) {
                info(text);
            }
            sleep(500);
        }
        info("two: lift-off; idle from now on");
        loop {
            sleep(60_000);
        }
    }
}

export!(Capsule);
