//! `{{name}}`: a capsule for the world `example-ephemeral-with-bindings`, which a device starts
//! once in the background: `mess-with-temperature()` reads the temperature, adds noise from the
//! random number generator and logs both.
#![no_std]

extern crate alloc;

// The global allocator and the panic handler.
use trevm_guest as _;

wit_bindgen::generate!({
    world: "example-ephemeral-with-bindings",
    path: "wit",
    generate_all,
});

use alloc::string::String;

use ariel::wasm_bindings::log_api::info;
use ariel::wasm_bindings::rng_api::RNG;
use ariel::wasm_bindings::sensors_api::{Category, Label, trigger_measurements, wait_for_reading};
// Numbers as text without `core::fmt`, which would cost the capsule about 3.6 KB.
use trevm_guest::text::{centi, push_centi};

struct Capsule;

impl Guest for Capsule {
    fn mess_with_temperature() {
        info("Hello from {{name}}!");
        if trigger_measurements(Some(Category::Temperature)).is_err() {
            info("This board has no temperature sensor");
            return;
        }
        let Ok(samples) = wait_for_reading(Some(Label::Temperature)) else {
            info("The temperature reading failed");
            return;
        };
        for (sample, channel) in samples {
            let measured = centi(sample.value, channel.scaling);
            // Up to ±0.50 °C of noise.
            let noise = (RNG::next_u32() % 101) as i32 - 50;
            let mut line = String::from("Temperature ");
            push_centi(&mut line, measured);
            line.push_str(" °C, with noise ");
            push_centi(&mut line, measured.saturating_add(noise));
            line.push_str(" °C");
            info(&line);
        }
    }
}

export!(Capsule);
