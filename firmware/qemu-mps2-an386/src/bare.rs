//! Footprint variants for the report: Wasmtime used directly, without trevm, running
//! fibonacci(20) only — synchronously (feature `bare-sync`) or through its `async` support
//! (`bare-async`) — so docs/footprint.md can show what Wasmtime costs by itself and what `async`
//! adds; and like for like with setups that run a core module synchronously without preemption
//! (`bare-core`: no component model at all). Not a way to run capsules: no limits, no host
//! bindings, no checks.

use alloc::format;
use alloc::string::String;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicPtr, Ordering};

#[cfg(feature = "bare-sync")]
use wasmtime::component::{Component, Linker, Val};
use wasmtime::{Config, Engine, Store};

use crate::measure::INSTRUCTIONS_PER_CYCLE;

#[path = "../../../crates/trevm/src/profile/wasmtime_settings.rs"]
mod wasmtime_settings;
use crate::console::board;
use crate::measure::HEAP;
use crate::time_driver::cycles;

#[repr(C, align(16))]
struct Aligned<T: ?Sized>(T);

#[cfg(feature = "bare-sync")]
static FIBONACCI: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(
    env!("OUT_DIR"),
    "/fibonacci.cwasm"
)));

/// fibonacci as a core module, Wasmtime's raw `.cwasm` (no trevm header), for `bare-core`.
#[cfg(all(feature = "bare-core", not(feature = "bare-sync")))]
static FIBONACCI_CORE: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(
    env!("OUT_DIR"),
    "/fibonacci.core.cwasm"
)));

/// trevm's capsule header, skipped here (the variant does not check it).
#[cfg(feature = "bare-sync")]
const HEADER: usize = 64;

static TLS: [AtomicPtr<u8>; 2] = [
    AtomicPtr::new(core::ptr::null_mut()),
    AtomicPtr::new(core::ptr::null_mut()),
];

/// Wasmtime's thread-local slots (trevm's `tls` feature provides these in the full firmware).
#[unsafe(no_mangle)]
extern "C" fn wasmtime_tls_get(slot: usize) -> *mut u8 {
    TLS.get(slot)
        .map_or(core::ptr::null_mut(), |s| s.load(Ordering::Relaxed))
}

#[unsafe(no_mangle)]
extern "C" fn wasmtime_tls_set(slot: usize, ptr: *mut u8) {
    if let Some(s) = TLS.get(slot) {
        s.store(ptr, Ordering::Relaxed);
    }
}

fn measure_cycles(key: &str, cycles: u64) {
    board(&format!(
        "measure: {key} = {cycles} cycles (≈ {} instructions under -icount shift=0)",
        cycles * INSTRUCTIONS_PER_CYCLE
    ));
}

fn err(e: wasmtime::Error) -> String {
    format!("{e:#}")
}

#[cfg(feature = "bare-sync")]
pub async fn run() -> Result<(), String> {
    board(if cfg!(feature = "bare-async") {
        "footprint variant: Wasmtime directly (async), fibonacci only"
    } else {
        "footprint variant: Wasmtime directly (sync), fibonacci only"
    });
    // The settings trevm's `EngineProfile::pulley32(Preemption::Fuel)` applies, from the very
    // file trevm uses (crates/trevm/src/profile/wasmtime_settings.rs).
    let mut c = Config::new();
    c.target("pulley32").map_err(err)?;
    wasmtime_settings::apply(&mut c, true, true, false);
    c.max_wasm_stack(8 * 1024);
    #[cfg(feature = "bare-async")]
    c.async_stack_size(16 * 1024);
    let engine = Engine::new(&c).map_err(err)?;
    let payload = &FIBONACCI.0[HEADER..];
    let start = cycles();
    // SAFETY: the bytes come from `trevm-build` for pulley32 with fuel (the header we skip says
    // so), are `'static`, immutable, 16-byte aligned, and deserialized only once.
    let component =
        unsafe { Component::deserialize_raw(&engine, NonNull::from(payload)) }.map_err(err)?;
    measure_cycles("cycles.fib.deserialize", cycles() - start);
    let linker = Linker::<()>::new(&engine);
    let mut store = Store::new(&engine, ());
    store.set_fuel(u64::MAX).map_err(err)?;
    let mut results = [Val::U32(0)];
    let start = cycles();
    #[cfg(not(feature = "bare-async"))]
    let instance = linker.instantiate(&mut store, &component).map_err(err)?;
    #[cfg(feature = "bare-async")]
    let instance = linker
        .instantiate_async(&mut store, &component)
        .await
        .map_err(err)?;
    measure_cycles("cycles.fib.instantiate", cycles() - start);
    let func = instance
        .get_func(&mut store, "fibonacci")
        .ok_or("no fibonacci export")?;
    let start = cycles();
    #[cfg(not(feature = "bare-async"))]
    func.call(&mut store, &[Val::U32(20)], &mut results)
        .map_err(err)?;
    #[cfg(feature = "bare-async")]
    func.call_async(&mut store, &[Val::U32(20)], &mut results)
        .await
        .map_err(err)?;
    measure_cycles("cycles.fib20", cycles() - start);
    board(&format!(
        "fibonacci(20) = {results:?} (heap used {} B)",
        HEAP.used()
    ));
    if results != [Val::U32(6765)] {
        return Err("fibonacci(20) is not 6765".into());
    }
    Ok(())
}

/// `bare-core`: the settings of `EngineProfile::pulley32(Preemption::None)`, a core module,
/// synchronous calls.
#[cfg(all(feature = "bare-core", not(feature = "bare-sync")))]
pub async fn run() -> Result<(), String> {
    use wasmtime::{Instance, Module};
    board(
        "footprint variant: Wasmtime directly, core module (no component model), sync, no preemption",
    );
    let mut c = Config::new();
    c.target("pulley32").map_err(err)?;
    wasmtime_settings::apply(&mut c, true, false, false);
    c.max_wasm_stack(8 * 1024);
    let engine = Engine::new(&c).map_err(err)?;
    let start = cycles();
    // SAFETY: the bytes come from this firmware's build script (trevm's precompiler for
    // pulley32 without preemption, the settings applied above), are `'static`, immutable,
    // 16-byte aligned, and deserialized only once.
    let module = unsafe { Module::deserialize_raw(&engine, NonNull::from(&FIBONACCI_CORE.0)) }
        .map_err(err)?;
    measure_cycles("cycles.fib.deserialize", cycles() - start);
    let mut store = Store::new(&engine, ());
    let start = cycles();
    let instance = Instance::new(&mut store, &module, &[]).map_err(err)?;
    measure_cycles("cycles.fib.instantiate", cycles() - start);
    let fib = instance
        .get_typed_func::<u32, u32>(&mut store, "fibonacci")
        .map_err(err)?;
    let start = cycles();
    let result = fib.call(&mut store, 20).map_err(err)?;
    measure_cycles("cycles.fib20", cycles() - start);
    board(&format!(
        "fibonacci(20) = {result} (heap used {} B)",
        HEAP.used()
    ));
    if result != 6765 {
        return Err("fibonacci(20) is not 6765".into());
    }
    Ok(())
}
