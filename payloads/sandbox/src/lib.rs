//! Example capsule for the world `example-sandbox-no-bindings`: `run()` returns a fixed greeting.
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

/// What `run()` returns.
const GREETING: &str = "Hello from the sandbox!";

struct Capsule;

impl Guest for Capsule {
    fn run() -> String {
        String::from(GREETING)
    }
}

export!(Capsule);
