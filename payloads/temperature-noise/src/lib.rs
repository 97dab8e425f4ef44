//! Example capsule for the world `example-ephemeral-with-bindings`: `mess-with-temperature()`
//! measures the temperature once, adds up to ±0.50 °C of noise drawn from the device's random
//! number generator, and logs both, e.g.
//! `Temperature 23.00 °C, messed with: 22.71 °C (noise -0.29)`.
//!
//! An ephemeral capsule: a device starts it once in the background (`PUT /ephemeral`, see
//! docs/coap.md), or `trevm run payloads/temperature-noise --invoke mess-with-temperature`.
#![no_std]

extern crate alloc;

// Allocator and panic handler.
use trevm_guest as _;

wit_bindgen::generate!({
    world: "example-ephemeral-with-bindings",
    path: "../../wit",
    generate_all,
});

use alloc::string::String;
use ariel::wasm_bindings::log_api::info;
use ariel::wasm_bindings::rng_api::RNG;
use ariel::wasm_bindings::sensors_api::{Category, Label, trigger_measurements, wait_for_reading};
use trevm_guest::text::{centi, push_centi};

/// The most noise added, in hundredths of a degree.
const MAX_NOISE: i32 = 50;

struct Capsule;

impl Guest for Capsule {
    fn mess_with_temperature() {
        if trigger_measurements(Some(Category::Temperature)).is_err() {
            info("No temperature sensor on this board");
            return;
        }
        let Ok(samples) = wait_for_reading(Some(Label::Temperature)) else {
            info("The temperature reading failed");
            return;
        };
        for (sample, channel) in samples {
            let measured = centi(sample.value, channel.scaling);
            // Uniform in -MAX_NOISE..=MAX_NOISE (the modulo bias of 101 in 2^32 is negligible).
            let noise = (RNG::next_u32() % (2 * MAX_NOISE as u32 + 1)) as i32 - MAX_NOISE;
            let mut line = String::from("Temperature ");
            push_centi(&mut line, measured);
            line.push_str(" °C, messed with: ");
            push_centi(&mut line, measured.saturating_add(noise));
            line.push_str(" °C (noise ");
            if noise >= 0 {
                line.push('+');
            }
            push_centi(&mut line, noise);
            line.push(')');
            info(&line);
        }
    }
}

export!(Capsule);
