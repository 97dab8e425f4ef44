//! Example capsule for the world `example-persistent-no-bindings`: a persistent capsule with no
//! host imports at all. The device mounts its resource as `/vm/counter`:
//!
//! - `GET counter` — the counter's value, as `text/plain`;
//! - `POST counter` — adds one and answers the new value.
//!
//! The count lives in the capsule's instance: it survives requests, not a replacement or a
//! restart of the device.
#![no_std]

extern crate alloc;

// Allocator and panic handler.
use trevm_guest as _;

wit_bindgen::generate!({
    world: "example-persistent-no-bindings",
    path: "../../wit",
    generate_all,
});

use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use exports::ariel::wasm_bindings::coap_server_guest::{CoapErr, Guest as CoapServer};
use trevm_coap::message::{GuestRequest, code, guest_text};
use trevm_guest::text::decimal;

const PATH: &str = "counter";

static COUNT: AtomicU64 = AtomicU64::new(0);

struct Capsule;

impl CoapServer for Capsule {
    fn coap_run(method: u8, observed_len: u32, message: Vec<u8>) -> Result<(u8, Vec<u8>), CoapErr> {
        let request =
            GuestRequest::parse(observed_len, &message).ok_or(CoapErr::InternalServerError)?;
        if !request.path_is(&[PATH]) {
            return Err(CoapErr::NotFound);
        }
        let value = match method {
            code::GET => COUNT.load(Ordering::Relaxed),
            code::POST => COUNT.fetch_add(1, Ordering::Relaxed).wrapping_add(1),
            _ => return Ok((code::METHOD_NOT_ALLOWED, Vec::new())),
        };
        let response = guest_text(code::CONTENT, &decimal(value));
        if response.1.len() > request.room {
            return Err(CoapErr::InternalServerError);
        }
        Ok(response)
    }

    fn report() -> Result<Vec<String>, CoapErr> {
        Ok(alloc::vec![String::from(PATH)])
    }

    fn initialize_handler() -> Result<(), ()> {
        Ok(())
    }
}

export!(Capsule);
