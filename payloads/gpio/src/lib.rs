//! Example capsule for the world `example-gpio` (blinky): each press of the board's button
//! toggles its LED. On a board without a button (`wait-for-button-low` returns its error) it
//! blinks the LED every 500 ms instead; without an LED it says so and returns.
#![no_std]

// Allocator and panic handler.
use trevm_guest as _;

wit_bindgen::generate!({
    world: "example-gpio",
    path: "../../wit",
    generate_all,
});

use ariel::wasm_bindings::gpio_api::{toggle_led, wait_for_button_low};
use ariel::wasm_bindings::log_api::info;
use ariel::wasm_bindings::time_api::sleep;

/// After a toggle, ignore the button this long (contact bounce). The host returns each press
/// once, so a finger that holds the button longer does not toggle again.
#[cfg(not(feature = "short-debounce"))]
const DEBOUNCE_MS: u64 = 200;
#[cfg(feature = "short-debounce")]
const DEBOUNCE_MS: u64 = 10;
const BLINK_MS: u64 = 500;

struct Capsule;

impl Guest for Capsule {
    fn blinky() {
        info("blinky: press the button to toggle the LED");
        loop {
            if wait_for_button_low().is_err() {
                info("No button on this board: blinking every 500 ms instead");
                loop {
                    if toggle_led().is_err() {
                        info("No LED on this board either: nothing to do");
                        return;
                    }
                    sleep(BLINK_MS);
                }
            }
            if toggle_led().is_err() {
                info("No LED on this board: nothing to do");
                return;
            }
            info("Button pressed: LED toggled");
            sleep(DEBOUNCE_MS);
        }
    }
}

export!(Capsule);
