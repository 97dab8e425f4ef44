//! `{{name}}`: a capsule for the world `example-sensors`: `monitor-temperature()` reads the
//! temperature three times, half a second apart, and logs it.
#![no_std]

extern crate alloc;

// The global allocator and the panic handler.
use trevm_guest as _;

wit_bindgen::generate!({
    world: "example-sensors",
    path: "wit",
    generate_all,
});

use alloc::string::String;

use ariel::wasm_bindings::log_api::info;
use ariel::wasm_bindings::sensors_api::{Category, Label, trigger_measurements, wait_for_reading};
use ariel::wasm_bindings::time_api::sleep;
// Numbers as text without `core::fmt`, which would cost the capsule about 3.6 KB.
use trevm_guest::text::{centi, push_centi};

const READINGS: u32 = 3;
const PERIOD_MS: u64 = 500;

struct Capsule;

impl Guest for Capsule {
    fn monitor_temperature() {
        info("Hello from {{name}}!");
        for _ in 0..READINGS {
            if trigger_measurements(Some(Category::Temperature)).is_err() {
                info("This board has no temperature sensor");
                return;
            }
            match wait_for_reading(Some(Label::Temperature)) {
                Ok(samples) => {
                    for (sample, channel) in samples {
                        let mut line = String::from("Temperature: ");
                        push_centi(&mut line, centi(sample.value, channel.scaling));
                        line.push_str(" °C");
                        info(&line);
                    }
                }
                Err(()) => info("The temperature reading failed"),
            }
            sleep(PERIOD_MS);
        }
    }
}

export!(Capsule);
