//! The Wasmtime settings of every capsule profile: the one place they are written down.
//!
//! Depends on nothing but Wasmtime, so the firmware's bare-Wasmtime footprint variants
//! (`firmware/qemu-mps2-an386/src/bare.rs`) include this very file (`#[path]`) instead of
//! repeating the settings by hand.

/// Applies the code-affecting settings to `c`, whose compilation target is already set:
/// `pulley` for Pulley bytecode (no signal handlers), `fuel` or `epoch` for the preemption.
pub fn apply(c: &mut wasmtime::Config, pulley: bool, fuel: bool, epoch: bool) {
    // Capsules are linked with `--page-size=1`: memory is sized in bytes, not 64 KiB pages.
    c.wasm_custom_page_sizes(true);
    // No virtual memory on an MCU: linear memory is an ordinary heap allocation with explicit
    // bounds checks, grown by reallocation (so it may move), with nothing reserved ahead.
    c.memory_reservation(0);
    c.memory_guard_size(0);
    c.memory_reservation_for_growth(0);
    c.memory_may_move(true);
    c.guard_before_linear_memory(false);
    c.memory_init_cow(false);
    c.table_lazy_init(false);
    if pulley {
        // Pulley checks bounds itself; there are no signal handlers on a device.
        c.signals_based_traps(false);
    }
    c.consume_fuel(fuel);
    c.epoch_interruption(epoch);
}

/// Applies the settings that only shape what the precompiler writes, not the code or how it
/// loads (Wasmtime does not compare them at load): `address_map` keeps the map from Pulley
/// offsets back to Wasm offsets (1.7–6 KB a capsule; only debuggers and backtraces with Wasm
/// offsets use it; trap messages name the export either way).
///
/// SIMD is refused at build time: `wasm32v1-none` payloads cannot contain it, and devices build
/// Pulley's interpreter without its SIMD opcodes (`--cfg pulley_disable_interp_simd`, which
/// saves flash; such an interpreter traps on them). The runtime keeps SIMD enabled only so that
/// capsules built before this setting still load.
// Only precompilers call it (trevm's `compiler` feature); the firmware includes this file too.
#[allow(dead_code)]
pub fn apply_compile_only(c: &mut wasmtime::Config, address_map: bool) {
    c.generate_address_map(address_map);
    c.wasm_relaxed_simd(false);
    c.wasm_simd(false);
}
