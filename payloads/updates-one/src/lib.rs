//! Example capsule for the world `example-updates`, version one: counts up once a second, for
//! ever, until the device replaces it (see examples/simple-updates).
#![no_std]

extern crate alloc;

// Allocator and panic handler.
use trevm_guest as _;

wit_bindgen::generate!({
    world: "example-updates",
    path: "../../wit",
    generate_all,
});

use alloc::string::String;
use ariel::wasm_bindings::log_api::info;
use ariel::wasm_bindings::time_api::sleep;

struct Capsule;

impl Guest for Capsule {
    fn run() {
        info("Version one started: counting up");
        let mut n: u32 = 0;
        loop {
            n += 1;
            let mut line = String::from("one: ");
            line.push_str(itoa(n, &mut [0; 10]));
            info(&line);
            sleep(1000);
        }
    }
}

export!(Capsule);

fn itoa(mut n: u32, buf: &mut [u8; 10]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    core::str::from_utf8(&buf[i..]).unwrap_or("?")
}
