//! Example capsule for the world `example-coap-server`: a persistent capsule that serves CoAP
//! resources from inside the VM (the device mounts them under `/vm`):
//!
//! - `GET hello` — a greeting naming the capsule's version (1, or 2 with the `v2` feature);
//! - `PUT`/`POST shout` — the request body, upper-cased by the host's `uppercase` import;
//! - `GET count` — how many requests this instance has served.
#![no_std]

extern crate alloc;

// Allocator and panic handler.
use trevm_guest as _;

wit_bindgen::generate!({
    world: "example-coap-server",
    path: "../../wit",
    generate_all,
});

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::Cell;

use ariel::wasm_bindings::log_api::info;
use exports::ariel::wasm_bindings::coap_server_guest::{CoapErr, Guest as CoapServer};
use trevm_coap::message::{GuestRequest, guest_text};
use trevm_guest::text::decimal;

const GREETING: &str = if cfg!(feature = "v2") {
    "Hello from the persistent capsule, version 2"
} else {
    "Hello from the persistent capsule, version 1"
};

const CONTENT: u8 = 0x45;
const CHANGED: u8 = 0x44;
const METHOD_NOT_ALLOWED: u8 = 0x85;
const GET: u8 = 1;
const POST: u8 = 2;
const PUT: u8 = 3;

/// The capsule's state (wasm32v1-none has no threads).
struct State {
    built: Cell<bool>,
    requests: Cell<u32>,
}

// SAFETY: the capsule's code never runs concurrently (no threads on wasm32v1-none).
unsafe impl Sync for State {}

static STATE: State = State {
    built: Cell::new(false),
    requests: Cell::new(0),
};

struct Capsule;

impl CoapServer for Capsule {
    fn coap_run(code: u8, observed_len: u32, message: Vec<u8>) -> Result<(u8, Vec<u8>), CoapErr> {
        if !STATE.built.get() {
            return Err(CoapErr::HandlerNotBuilt);
        }
        let request =
            GuestRequest::parse(observed_len, &message).ok_or(CoapErr::InternalServerError)?;
        let path: Vec<&[u8]> = request.path.iter().map(Vec::as_slice).collect();
        STATE.requests.set(STATE.requests.get().wrapping_add(1));
        let response = match (code, path.as_slice()) {
            (GET, [b"hello"]) => guest_text(CONTENT, GREETING),
            (PUT | POST, [b"shout"]) => {
                let input = String::from_utf8_lossy(&request.payload);
                let code = if code == PUT { CHANGED } else { CONTENT };
                guest_text(code, &uppercase(&input))
            }
            (GET, [b"count"]) => guest_text(CONTENT, &decimal(u64::from(STATE.requests.get()))),
            (_, [b"hello" | b"shout" | b"count"]) => (METHOD_NOT_ALLOWED, Vec::new()),
            _ => return Err(CoapErr::NotFound),
        };
        if response.1.len() > request.room {
            return Err(CoapErr::InternalServerError);
        }
        Ok(response)
    }

    fn report() -> Result<Vec<String>, CoapErr> {
        Ok(["hello", "shout", "count"].map(String::from).to_vec())
    }

    fn initialize_handler() -> Result<(), ()> {
        STATE.built.set(true);
        info(if cfg!(feature = "v2") {
            "persistent capsule version 2 ready"
        } else {
            "persistent capsule version 1 ready"
        });
        Ok(())
    }
}

export!(Capsule);
