//! Example capsule for the world `example-async`: logs a greeting and ten random numbers,
//! reads the clock, sleeps for three seconds, then sleeps forever in one-second steps (each
//! sleep lets the device run other tasks).
#![no_std]

extern crate alloc;

// Allocator and panic handler.
use trevm_guest as _;

wit_bindgen::generate!({
    world: "example-async",
    path: "../../wit",
    generate_all,
});

use alloc::string::String;
use ariel::wasm_bindings::log_api::info;
use ariel::wasm_bindings::rng_api::RNG;
use ariel::wasm_bindings::time_api::{now_as_millis, sleep};
use trevm_guest::text::push_decimal;

struct Capsule;

impl Guest for Capsule {
    fn run() {
        info("Hello from inside the capsule");

        info("Here are 10 random integers between 0 and 100");
        let mut line = String::new();
        for _ in 0..10 {
            line.clear();
            push_decimal(&mut line, u64::from(RNG::next_u32() % 100));
            info(&line);
        }

        log_uptime();
        info("Now sleeping for 3 seconds");
        sleep(3000);
        log_uptime();

        info("Starting an infinite loop");
        loop {
            // Each sleep yields to the device, which may meanwhile replace or stop this capsule.
            sleep(1000);
        }
    }
}

export!(Capsule);

/// Log "It has been N ms since boot".
fn log_uptime() {
    let mut line = String::from("It has been ");
    push_decimal(&mut line, now_as_millis());
    line.push_str(" ms since boot");
    info(&line);
}
