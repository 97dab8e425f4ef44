//! A misbehaving capsule (world `hostile`), used by the host's tests to check that traps,
//! endless loops, memory growth and oversized requests stay inside the sandbox.
#![no_std]

// Allocator and panic handler (which traps with `unreachable`).
use trevm_guest as _;

wit_bindgen::generate!({
    world: "hostile",
    path: "../../wit",
    generate_all,
});

use ariel::wasm_bindings::log_api::info;
use ariel::wasm_bindings::rng_api::RNG;
use ariel::wasm_bindings::time_api::sleep;

struct Capsule;

impl Guest for Capsule {
    fn trap() {
        panic!();
    }

    fn spin() {
        let mut counter: u32 = 0;
        loop {
            // `black_box` keeps the loop (and its fuel/epoch checks) from being optimised away.
            counter = core::hint::black_box(counter.wrapping_add(1));
        }
    }

    fn grow_memory(bytes: u32) -> i32 {
        // Pages are 1 byte (`--page-size=1`), so the delta is in bytes. Returns the previous
        // size, or -1 (usize::MAX) if the host refused.
        core::arch::wasm32::memory_grow(0, bytes as usize) as i32
    }

    fn sleep_for(millis: u64) {
        sleep(millis);
        info("woke up");
    }

    fn huge_random() -> u32 {
        RNG::random_bytes(u32::MAX).len() as u32
    }

    fn log_then_trap() {
        info("about to trap");
        core::arch::wasm32::unreachable()
    }
}

export!(Capsule);
