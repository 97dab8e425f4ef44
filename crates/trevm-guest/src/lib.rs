#![doc = include_str!("../README.md")]
#![no_std]
#![warn(missing_docs)]
#![deny(missing_debug_implementations)]

extern crate alloc;

#[cfg(all(
    target_family = "wasm",
    any(feature = "allocator", feature = "null-allocator")
))]
mod allocator;
#[cfg(all(target_family = "wasm", feature = "panic-handler"))]
mod panic;

/// The `wit-bindgen` crate this SDK was built with, for generating a payload's own world.
///
/// Generated code refers to `wit_bindgen` by that name, so a payload either depends on
/// `wit-bindgen` itself (as the example payloads do) or passes
/// `runtime_path: "trevm_guest::wit_bindgen::rt"` to `trevm_guest::wit_bindgen::generate!`.
pub use wit_bindgen;

/// Size in bytes of the allocator's arena, chosen by the `heap-*` features (16 KiB by default).
#[cfg(feature = "allocator")]
pub const HEAP_SIZE: usize = if cfg!(feature = "heap-64k") {
    64 * 1024
} else if cfg!(feature = "heap-16k") {
    16 * 1024
} else if cfg!(feature = "heap-4k") {
    4 * 1024
} else {
    16 * 1024
};

/// Guest bindings generated from the world `trevm:host/guest-imports` (the six host interfaces).
///
/// Enum cases and some generated helpers carry no docs of their own; the WIT files in `wit/deps/ariel`
/// are the reference.
#[allow(missing_docs, clippy::same_length_and_capacity)]
mod bindings {
    wit_bindgen::generate!({
        world: "trevm:host/guest-imports",
        path: "../../wit",
        generate_all,
    });
}

use bindings::ariel::wasm_bindings as ariel;

/// Logging (`ariel:wasm-bindings/log-api`).
pub mod log {
    pub use super::ariel::log_api::info;
}

/// Time since boot and sleeping (`ariel:wasm-bindings/time-api`).
pub mod time {
    pub use super::ariel::time_api::{now_as_millis, sleep};
}

/// Random numbers (`ariel:wasm-bindings/rng-api`).
pub mod rng {
    use alloc::vec::Vec;

    pub use super::ariel::rng_api::RNG;

    /// A random 32-bit number (`RNG::next_u32`).
    #[inline]
    #[must_use]
    pub fn next_u32() -> u32 {
        RNG::next_u32()
    }

    /// A random 64-bit number (`RNG::next_u64`).
    #[inline]
    #[must_use]
    pub fn next_u64() -> u64 {
        RNG::next_u64()
    }

    /// `len` random bytes (`RNG::random_bytes`). The host caps one request (4 KiB by default) and
    /// traps the capsule above its cap, so ask for what you need in small pieces.
    #[inline]
    #[must_use]
    pub fn random_bytes(len: u32) -> Vec<u8> {
        RNG::random_bytes(len)
    }
}

/// The board's button and LED (`ariel:wasm-bindings/gpio-api`).
pub mod gpio {
    pub use super::ariel::gpio_api::{toggle_led, wait_for_button_low};
}

/// The capsule's UDP socket (`ariel:wasm-bindings/udp-api`).
pub mod udp {
    pub use super::ariel::udp_api::{Endpoint, IpAddr, Ipv4Addr, Ipv6Addr, UdpMetadata, UdpSocket};
}

/// Sensor readings (`ariel:wasm-bindings/sensors-api`).
pub mod sensors {
    pub use super::ariel::sensors_api::{
        Category, Channel, Label, MeasurementUnit, Sample, SampleMetadata, trigger_measurements,
        wait_for_reading,
    };
}

/// Small text helpers that avoid `core::fmt`, which costs a capsule about 3.6 KB.
pub mod text {
    use alloc::string::String;

    /// Appends `n` in decimal.
    pub fn push_decimal(out: &mut String, n: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        let mut n = n;
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for &d in &digits[i..] {
            out.push(char::from(d));
        }
    }

    /// `n` in decimal, as a new string.
    pub fn decimal(n: u64) -> String {
        let mut s = String::new();
        push_decimal(&mut s, n);
        s
    }

    /// A sensor sample (`value × 10^scaling`, as `sensors-api` gives it) in hundredths of its
    /// unit, saturating: `centi(2150, -2)` and `centi(215, -1)` are both 2150.
    pub fn centi(value: i32, scaling: i8) -> i32 {
        let shift = i32::from(scaling) + 2;
        if shift >= 0 {
            value.saturating_mul(10i32.saturating_pow(shift.unsigned_abs()))
        } else {
            value / 10i32.saturating_pow(shift.unsigned_abs())
        }
    }

    /// Appends `centi / 100` with two decimals: `push_centi(&mut s, -2150)` appends `-21.50`.
    pub fn push_centi(out: &mut String, centi: i32) {
        if centi < 0 {
            out.push('-');
        }
        let abs = centi.unsigned_abs();
        push_decimal(out, u64::from(abs / 100));
        out.push('.');
        out.push(char::from(b'0' + (abs / 10 % 10) as u8));
        out.push(char::from(b'0' + (abs % 10) as u8));
    }
}
