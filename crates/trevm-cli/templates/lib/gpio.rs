//! `{{name}}`: a capsule for the world `example-gpio`: `blinky()` toggles the board's LED.
//! `wait_for_button_low()` waits for a press of the board's button (on the native board, Enter
//! presses it), e.g. to toggle the LED on each press instead.
#![no_std]

// The global allocator and the panic handler.
use trevm_guest as _;

wit_bindgen::generate!({
    world: "example-gpio",
    path: "wit",
    generate_all,
});

use ariel::wasm_bindings::gpio_api::toggle_led;
use ariel::wasm_bindings::log_api::info;
use ariel::wasm_bindings::time_api::sleep;

/// How long the LED stays on, and off.
const BLINK_MS: u64 = 250;

struct Capsule;

impl Guest for Capsule {
    fn blinky() {
        info("Hello from {{name}}! Blinking the LED 3 times");
        for _ in 0..6 {
            if toggle_led().is_err() {
                info("This board has no LED");
                return;
            }
            sleep(BLINK_MS);
        }
        info("Done blinking");
    }
}

export!(Capsule);
