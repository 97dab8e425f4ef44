//! Test capsule for the world `example-sandbox-no-bindings` whose capsule is over 40 KiB: it
//! carries a 44 KiB table (a data segment) and `run()` reports its checksum. Its data needs more
//! than the default 32 KiB of linear memory: build it with `--initial-memory 128KiB`.
#![no_std]

extern crate alloc;

// Allocator and panic handler.
use trevm_guest as _;

wit_bindgen::generate!({
    world: "example-sandbox-no-bindings",
    path: "../../wit",
    generate_all,
});

use alloc::string::String;

const LEN: usize = 44 * 1024;

/// Pseudo-random bytes computed at compile time (xorshift32), so the data does not compress
/// into something small.
static TABLE: [u8; LEN] = {
    let mut t = [0u8; LEN];
    let mut x: u32 = 0x9e37_79b9;
    let mut i = 0;
    while i < LEN {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        t[i] = x as u8;
        i += 1;
    }
    t
};

struct Capsule;

impl Guest for Capsule {
    fn run() -> String {
        // Fletcher-16 over the table; `black_box` keeps the table in the capsule.
        let table = core::hint::black_box(&TABLE);
        let (mut a, mut b) = (0u32, 0u32);
        for &byte in table.iter() {
            a = (a + u32::from(byte)) % 255;
            b = (b + a) % 255;
        }
        let mut s = String::from("big capsule: 45056 bytes of data, checksum ");
        for shift in [12, 8, 4, 0] {
            let nibble = ((b << 8 | a) >> shift) & 0xf;
            s.push(char::from(b"0123456789abcdef"[nibble as usize]));
        }
        s
    }
}

export!(Capsule);
