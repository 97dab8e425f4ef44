//! Test capsule for the world `example-sandbox-no-bindings` whose `run()` never returns: the
//! device must stop it with its limits and keep serving.
#![no_std]

extern crate alloc;

// Allocator and panic handler.
use trevm_guest as _;

wit_bindgen::generate!({
    world: "example-sandbox-no-bindings",
    path: "../../wit",
    generate_all,
});

use alloc::string::String;

struct Capsule;

impl Guest for Capsule {
    fn run() -> String {
        let mut n = 0u64;
        loop {
            n = core::hint::black_box(n.wrapping_add(1));
        }
    }
}

export!(Capsule);
