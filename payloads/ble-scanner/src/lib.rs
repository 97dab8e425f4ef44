//! Example capsule for the world `example-ble-scanner`: the host hands it each BLE advertising
//! report it sees (`on-single-report`); it counts them per device address and returns the counts
//! (`return-stats`). Logs the first report of each device.
#![no_std]

extern crate alloc;

// Allocator and panic handler.
use trevm_guest as _;

wit_bindgen::generate!({
    world: "example-ble-scanner",
    path: "../../wit",
    generate_all,
});

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use ariel::wasm_bindings::log_api::info;
use exports::ariel::wasm_bindings::ble_api::{BdAddr, Guest as BleApi};

/// Devices tracked at most; reports from further devices get the error value.
const MAX_DEVICES: usize = 64;

/// The counts, per address.
struct Stats(RefCell<Vec<([u8; 6], u64)>>);

// SAFETY: wasm32v1-none has no threads: the capsule's code never runs concurrently.
unsafe impl Sync for Stats {}

static STATS: Stats = Stats(RefCell::new(Vec::new()));

struct Capsule;

impl BleApi for Capsule {
    fn on_single_report(addr: BdAddr) -> Result<(), ()> {
        let key = [addr.a, addr.b, addr.c, addr.d, addr.e, addr.f];
        let mut stats = STATS.0.borrow_mut();
        if let Some((_, n)) = stats.iter_mut().find(|(k, _)| *k == key) {
            *n += 1;
            return Ok(());
        }
        if stats.len() == MAX_DEVICES {
            return Err(());
        }
        stats.push((key, 1));
        let mut line = String::from("New device ");
        for (i, b) in key.iter().enumerate() {
            if i > 0 {
                line.push(':');
            }
            for nibble in [b >> 4, b & 0xf] {
                line.push(char::from(b"0123456789abcdef"[usize::from(nibble)]));
            }
        }
        info(&line);
        Ok(())
    }

    fn return_stats() -> Vec<(BdAddr, u64)> {
        STATS
            .0
            .borrow()
            .iter()
            .map(|&([a, b, c, d, e, f], n)| (BdAddr { a, b, c, d, e, f }, n))
            .collect()
    }
}

export!(Capsule);
