//! Benchmark capsule for the world `bench-calls` (run by `crates/trevm-bench`): `now-loop(n)`
//! makes `n` calls into the host, `noop()` is the cheapest call into the capsule.
#![no_std]

// Allocator and panic handler.
use trevm_guest as _;

wit_bindgen::generate!({
    world: "bench-calls",
    path: "../../wit",
    generate_all,
});

use ariel::wasm_bindings::time_api::{now_as_millis, sleep};

struct Capsule;

impl Guest for Capsule {
    fn now_loop(n: u32) -> u64 {
        let mut sum = 0u64;
        for _ in 0..n {
            // Each iteration is one host call; summing the results keeps every call.
            sum = sum.wrapping_add(now_as_millis());
        }
        sum
    }

    fn noop() {}

    fn float_across_sleeps(rounds: u32) -> f64 {
        let mut x = 1.0f64;
        let mut y = 0.25f32;
        for i in 0..rounds {
            x = x * 1.000_001 + 0.5 / f64::from(i + 1);
            y = y * 0.999 + 0.001;
            sleep(1);
            x -= f64::from(y);
        }
        x
    }
}

export!(Capsule);
