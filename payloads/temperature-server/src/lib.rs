//! Example capsule for the world `example-persistent-with-bindings`: a persistent capsule serving
//! `GET temperature_sensor` (the device mounts it as `/vm/temperature_sensor`): the temperature
//! in °C with two decimals, plus up to ±0.50 °C of noise from the device's random number
//! generator, as `text/plain`, e.g. `23.17`.
//!
//! It imports `sensors-api`, `rng-api` and `log-api`: the device's persistent slot must grant
//! them (`trevm serve --grant persistent=log,sensors,rng`; see docs/coap.md).
#![no_std]

extern crate alloc;

// Allocator and panic handler.
use trevm_guest as _;

wit_bindgen::generate!({
    world: "example-persistent-with-bindings",
    path: "../../wit",
    generate_all,
});

use alloc::string::String;
use alloc::vec::Vec;

use ariel::wasm_bindings::log_api::info;
use ariel::wasm_bindings::rng_api::RNG;
use ariel::wasm_bindings::sensors_api::{Category, Label, trigger_measurements, wait_for_reading};
use exports::ariel::wasm_bindings::coap_server_guest::{CoapErr, Guest as CoapServer};
use trevm_coap::message::{GuestRequest, code, guest_text};
use trevm_guest::text::{centi, push_centi};

const PATH: &str = "temperature_sensor";
/// The most noise added, in hundredths of a degree.
const MAX_NOISE: i32 = 50;

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
        let response = match read_temperature() {
            Some(centi) => {
                let mut body = String::new();
                push_centi(&mut body, centi);
                guest_text(code::CONTENT, &body)
            }
            None => guest_text(code::SERVICE_UNAVAILABLE, "no temperature reading"),
        };
        if response.1.len() > request.room {
            return Err(CoapErr::InternalServerError);
        }
        Ok(response)
    }

    fn report() -> Result<Vec<String>, CoapErr> {
        Ok(alloc::vec![String::from(PATH)])
    }

    fn initialize_handler() -> Result<(), ()> {
        info("serving the temperature at temperature_sensor");
        Ok(())
    }
}

/// The first temperature sample in hundredths of a degree, with noise; `None` without a sensor.
fn read_temperature() -> Option<i32> {
    trigger_measurements(Some(Category::Temperature)).ok()?;
    let samples = wait_for_reading(Some(Label::Temperature)).ok()?;
    let (sample, channel) = samples.into_iter().next()?;
    // Uniform in -MAX_NOISE..=MAX_NOISE (the modulo bias of 101 in 2^32 is negligible).
    let noise = (RNG::next_u32() % (2 * MAX_NOISE as u32 + 1)) as i32 - MAX_NOISE;
    Some(centi(sample.value, channel.scaling).saturating_add(noise))
}

export!(Capsule);
