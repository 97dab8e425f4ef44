//! Benchmark capsule for `crates/trevm-bench` (world `bench-work`): recursive fibonacci, heapsort
//! and SHA-256 — the code in `work.rs`, which the benchmark also compiles natively, so every
//! runtime is compared on the same source.
#![no_std]

// Panic handler and (always-failing) allocator.
use trevm_guest as _;

wit_bindgen::generate!({
    world: "bench-work",
    path: "../../wit",
    generate_all,
});

mod work;

use core::cell::UnsafeCell;

/// The sort's numbers, in linear memory (no heap).
struct SortBuf(UnsafeCell<[u32; work::MAX_SORT]>);

// SAFETY: wasm32v1-none has no threads; exports never run concurrently or reentrantly.
unsafe impl Sync for SortBuf {}

static SORT: SortBuf = SortBuf(UnsafeCell::new([0; work::MAX_SORT]));

struct Capsule;

impl Guest for Capsule {
    fn fib(n: u32) -> u32 {
        work::fib(n)
    }

    fn heapsort(n: u32, seed: u32) -> u32 {
        // SAFETY: the only reference to SORT's contents, for this call (see `Sync` above).
        let buf = unsafe { &mut *SORT.0.get() };
        work::heapsort(buf, n, seed)
    }

    fn sha256(n: u32, seed: u32) -> u32 {
        work::sha256(n, seed)
    }
}

export!(Capsule);
