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

use ariel::wasm_bindings::time_api::now_as_millis;

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
}

export!(Capsule);
