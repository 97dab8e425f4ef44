//! Example capsule for the world `example-sensors`: every 500 ms it measures the temperature,
//! logs it, and says when it crosses 25.00 °C in either direction.
#![no_std]

extern crate alloc;

// Allocator and panic handler.
use trevm_guest as _;

wit_bindgen::generate!({
    world: "example-sensors",
    path: "../../wit",
    generate_all,
});

use alloc::string::String;
use ariel::wasm_bindings::log_api::info;
use ariel::wasm_bindings::sensors_api::{Category, Label, trigger_measurements, wait_for_reading};
use ariel::wasm_bindings::time_api::sleep;
use trevm_guest::text::{centi as to_centi, push_centi};

/// The alert threshold, in hundredths of a degree Celsius.
const THRESHOLD: i32 = 2500;
const PERIOD_MS: u64 = 500;

struct Capsule;

impl Guest for Capsule {
    fn monitor_temperature() {
        info("Monitoring the temperature every 500 ms; alert above 25.00 °C");
        let mut above: Option<bool> = None;
        loop {
            if trigger_measurements(Some(Category::Temperature)).is_err() {
                info("No temperature sensor on this board: nothing to monitor");
                return;
            }
            match wait_for_reading(Some(Label::Temperature)) {
                Ok(samples) => {
                    for (sample, channel) in samples {
                        let centi = to_centi(sample.value, channel.scaling);
                        let now_above = centi > THRESHOLD;
                        let mut line = String::new();
                        match above {
                            Some(false) if now_above => line.push_str("ALERT: above 25.00 °C: "),
                            Some(true) if !now_above => line.push_str("Back below 25.00 °C: "),
                            _ => line.push_str("Temperature: "),
                        }
                        push_centi(&mut line, centi);
                        line.push_str(" °C");
                        info(&line);
                        above = Some(now_above);
                    }
                }
                Err(()) => info("The temperature reading failed"),
            }
            sleep(PERIOD_MS);
        }
    }
}

export!(Capsule);
