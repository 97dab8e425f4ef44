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
use trevm_guest::text::push_decimal;

struct Capsule;

impl Guest for Capsule {
    fn run() {
        info("Version one started: counting up");
        let mut n: u32 = 0;
        loop {
            n += 1;
            let mut line = String::from("one: ");
            push_decimal(&mut line, u64::from(n));
            info(&line);
            sleep(1000);
        }
    }
}

export!(Capsule);
