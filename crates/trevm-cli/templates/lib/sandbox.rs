//! `{{name}}`: a capsule for a device's sandbox (world `example-sandbox-no-bindings`). The device
//! runs `run()` on each `GET /sandbox/{{name}}` and answers with the string it returns.
#![no_std]

extern crate alloc;

// The global allocator and the panic handler.
use trevm_guest as _;

wit_bindgen::generate!({
    world: "example-sandbox-no-bindings",
    path: "wit",
    generate_all,
});

use alloc::string::String;

struct Capsule;

impl Guest for Capsule {
    fn run() -> String {
        String::from("Hello from {{name}}!")
    }
}

export!(Capsule);
