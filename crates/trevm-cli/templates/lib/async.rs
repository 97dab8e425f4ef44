//! `{{name}}`: a capsule for the world `example-async`: `run()` logs, draws a random number,
//! sleeps (the host runs `sleep` asynchronously: the device runs its other tasks meanwhile) and
//! returns.
#![no_std]

extern crate alloc;

// The global allocator and the panic handler.
use trevm_guest as _;

wit_bindgen::generate!({
    world: "example-async",
    path: "wit",
    generate_all,
});

use alloc::string::String;

use ariel::wasm_bindings::log_api::info;
use ariel::wasm_bindings::rng_api::RNG;
use ariel::wasm_bindings::time_api::{now_as_millis, sleep};
// Numbers as text without `core::fmt`, which would cost the capsule about 3.6 KB.
use trevm_guest::text::push_decimal;

struct Capsule;

impl Guest for Capsule {
    fn run() {
        info("Hello from {{name}}!");

        let mut line = String::from("A random number below 100: ");
        push_decimal(&mut line, u64::from(RNG::next_u32() % 100));
        info(&line);

        sleep(500);
        let mut line = String::from("Up for ");
        push_decimal(&mut line, now_as_millis());
        line.push_str(" ms; bye");
        info(&line);
    }
}

export!(Capsule);
