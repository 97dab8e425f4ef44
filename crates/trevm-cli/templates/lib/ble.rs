//! `{{name}}`: a capsule for the world `example-ble-scanner`: the host hands it each BLE
//! advertising report it sees (`on-single-report`); it counts them per device address, logs
//! each new device, and returns the counts (`return-stats`).
#![no_std]

extern crate alloc;

// The global allocator and the panic handler.
use trevm_guest as _;

wit_bindgen::generate!({
    world: "example-ble-scanner",
    path: "wit",
    generate_all,
});

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use ariel::wasm_bindings::log_api::info;
use exports::ariel::wasm_bindings::ble_api::{BdAddr, Guest as BleApi};

/// Devices counted at most (bounds the heap it takes); a report from one more is refused.
const MAX_DEVICES: usize = 32;

/// The count of reports per address.
struct Counts(RefCell<Vec<([u8; 6], u64)>>);

// SAFETY: wasm32v1-none has no threads: the capsule's code never runs concurrently, so the
// RefCell is never borrowed from two threads.
unsafe impl Sync for Counts {}

static COUNTS: Counts = Counts(RefCell::new(Vec::new()));

struct Capsule;

impl BleApi for Capsule {
    fn on_single_report(addr: BdAddr) -> Result<(), ()> {
        let key = [addr.a, addr.b, addr.c, addr.d, addr.e, addr.f];
        let mut counts = COUNTS.0.borrow_mut();
        if let Some((_, n)) = counts.iter_mut().find(|(k, _)| *k == key) {
            *n += 1;
            return Ok(());
        }
        if counts.len() == MAX_DEVICES {
            return Err(());
        }
        counts.push((key, 1));
        let mut line = String::from("Hello from {{name}}! New device ");
        for (i, byte) in key.iter().enumerate() {
            if i > 0 {
                line.push(':');
            }
            for nibble in [byte >> 4, byte & 0xf] {
                line.push(char::from(b"0123456789abcdef"[usize::from(nibble)]));
            }
        }
        info(&line);
        Ok(())
    }

    fn return_stats() -> Vec<(BdAddr, u64)> {
        COUNTS
            .0
            .borrow()
            .iter()
            .map(|&([a, b, c, d, e, f], n)| (BdAddr { a, b, c, d, e, f }, n))
            .collect()
    }
}

export!(Capsule);
