//! The two thread-local slots Wasmtime needs when built without `std`.
//!
//! Wasmtime's no_std runtime calls `wasmtime_tls_get(slot)` / `wasmtime_tls_set(slot, ptr)` and
//! expects the embedder to define them. On a single-core MCU running one executor thread, plain
//! statics are correct. Enable the `tls` feature to get these definitions from this crate, so an
//! application whose lints deny `unsafe_code` (Ariel OS) does not need to write them.
//!
//! Do not enable `tls` when several threads (or cores) run capsules concurrently: the slots are
//! shared, and one core's capsule call would see another's state. The crate refuses `tls`
//! together with `std` at compile time; for a multi-core `no_std` target (e.g. an executor per
//! core), leave `tls` off and define the two functions in the application with per-core storage
//! (indexed by the core's id).

use core::sync::atomic::{AtomicPtr, Ordering};

static SLOTS: [AtomicPtr<u8>; 2] = [
    AtomicPtr::new(core::ptr::null_mut()),
    AtomicPtr::new(core::ptr::null_mut()),
];

/// Returns the pointer stored in `slot` (null if never set or if `slot` is out of range).
// SAFETY: `no_mangle` exports the symbol Wasmtime's no_std runtime declares and calls, with the
// signature it declares; this module is compiled only with the `tls` feature and without `std`,
// where nothing else defines it (a second definition fails to link, it cannot be shadowed). The
// statics are correct only with one thread running capsules, as the feature's docs say.
#[unsafe(no_mangle)]
pub extern "C" fn wasmtime_tls_get(slot: usize) -> *mut u8 {
    SLOTS
        .get(slot)
        .map_or(core::ptr::null_mut(), |s| s.load(Ordering::Relaxed))
}

/// Stores `ptr` in `slot` (ignored if `slot` is out of range).
// SAFETY: as for `wasmtime_tls_get` above.
#[unsafe(no_mangle)]
pub extern "C" fn wasmtime_tls_set(slot: usize, ptr: *mut u8) {
    if let Some(s) = SLOTS.get(slot) {
        s.store(ptr, Ordering::Relaxed);
    }
}
