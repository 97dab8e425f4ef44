//! `{{name}}`: a persistent capsule for the world `example-coap-server`. The device calls
//! `initialize-handler()` once, lists `report()`'s resources under `/vm`, and hands each request
//! for one of them to `coap-run`:
//!
//! - `GET /vm/hello` answers "Hello from {{name}}!".
#![no_std]

extern crate alloc;

// The global allocator and the panic handler.
use trevm_guest as _;

wit_bindgen::generate!({
    world: "example-coap-server",
    path: "wit",
    generate_all,
});

use alloc::string::String;
use alloc::vec::Vec;

use ariel::wasm_bindings::log_api::info;
use exports::ariel::wasm_bindings::coap_server_guest::{CoapErr, Guest as CoapServer};
// The request as `coap-run` passes it (Uri-Path, payload) and the answer it returns.
use trevm_coap::message::{GuestRequest, code, guest_text};

/// The resource it serves, below `/vm`.
const PATH: &str = "hello";

struct Capsule;

impl CoapServer for Capsule {
    fn coap_run(method: u8, observed_len: u32, message: Vec<u8>) -> Result<(u8, Vec<u8>), CoapErr> {
        let request =
            GuestRequest::parse(observed_len, &message).ok_or(CoapErr::InternalServerError)?;
        if !request.path_is(&[PATH]) {
            return Err(CoapErr::NotFound);
        }
        if method != code::GET {
            return Ok((code::METHOD_NOT_ALLOWED, Vec::new()));
        }
        let response = guest_text(code::CONTENT, "Hello from {{name}}!");
        // The answer must fit the room the device gave (the length of `message`).
        if response.1.len() > request.room {
            return Err(CoapErr::InternalServerError);
        }
        Ok(response)
    }

    fn report() -> Result<Vec<String>, CoapErr> {
        Ok(alloc::vec![String::from(PATH)])
    }

    fn initialize_handler() -> Result<(), ()> {
        info("Hello from {{name}}! Serving GET /vm/hello");
        Ok(())
    }
}

export!(Capsule);
