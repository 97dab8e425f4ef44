//! `log-api`, `time-api` and `rng-api` on wasmi, and the guest faults they meet.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use wasmi::{ResumableCall, Val};

use super::{CountingRng, Guest, Lines, REALLOC};
use crate::host::HostState;
use crate::host::wasmi::Pending;

fn log_guest() -> String {
    alloc::format!(
        r#"(module
            (import "ariel:wasm-bindings/log-api@0.0.1" "info" (func $info (param i32 i32)))
            (memory (export "memory") 1)
            (data (i32.const 16) "hello, wasmi\ff")
            (func (export "hello") (call $info (i32.const 16) (i32.const 12)))
            (func (export "wild") (call $info (i32.const 65530) (i32.const 12)))
            (func (export "huge") (call $info (i32.const 16) (i32.const -1)))
            (func (export "not-utf8") (call $info (i32.const 16) (i32.const 13)))
            {REALLOC})"#
    )
}

#[test]
fn log_info_reaches_the_sink_under_the_capsules_name() {
    let lines = Arc::new(Lines::default());
    let mut guest = Guest::wat(&log_guest(), HostState::new("cap").with_log(lines.clone()));
    guest.call("hello", &[], 0).unwrap();
    assert_eq!(
        *lines.0.lock().unwrap(),
        [("cap".into(), "hello, wasmi".into())]
    );
}

#[test]
fn a_string_out_of_bounds_or_not_utf8_is_a_fault_not_a_panic() {
    let lines = Arc::new(Lines::default());
    let mut guest = Guest::wat(&log_guest(), HostState::new("cap").with_log(lines.clone()));
    let e = guest.call("wild", &[], 0).unwrap_err();
    assert_eq!(e.fault(), "log-api.info: pointer out of bounds");
    let e = guest.call("huge", &[], 0).unwrap_err();
    assert_eq!(e.fault(), "log-api.info: pointer out of bounds");
    let e = guest.call("not-utf8", &[], 0).unwrap_err();
    assert_eq!(e.fault(), "log-api.info: the string is not UTF-8");
    assert!(lines.take().is_empty());
}

#[test]
fn a_guest_without_memory_is_a_fault() {
    let mut guest = Guest::wat(
        r#"(module
            (import "ariel:wasm-bindings/log-api@0.0.1" "info" (func $info (param i32 i32)))
            (func (export "run") (call $info (i32.const 0) (i32.const 0))))"#,
        HostState::new("cap"),
    );
    let e = guest.call("run", &[], 0).unwrap_err();
    assert_eq!(e.fault(), "log-api.info: the capsule exports no `memory`");
}

const SLEEPER: &str = r#"(module
    (import "ariel:wasm-bindings/time-api@0.0.1" "sleep" (func $sleep (param i64)))
    (import "ariel:wasm-bindings/time-api@0.0.1" "now-as-millis" (func $now (result i64)))
    (memory (export "memory") 1)
    (func (export "nap") (param i64) (result i64)
        (local $before i64)
        (local.set $before (call $now))
        (call $sleep (local.get 0))
        (i64.sub (call $now) (local.get $before))))"#;

#[test]
fn sleep_suspends_the_call_until_the_driver_completes_it() {
    let mut guest = Guest::wat(SLEEPER, HostState::new("cap"));
    let mut out = [Val::I64(0)];
    let ResumableCall::HostTrap(trap) = guest.start("nap", &[Val::I64(1500)], &mut out) else {
        panic!("sleep did not suspend the call");
    };
    let pending = trap
        .host_error()
        .downcast_ref::<Pending>()
        .cloned()
        .unwrap();
    assert_eq!(pending, Pending::Sleep { millis: 1500 });
    let values = guest.complete(pending).unwrap();
    assert!(values.is_empty());
    let ResumableCall::Finished = trap.resume(&mut guest.store, &values, &mut out).unwrap() else {
        panic!("the call did not finish");
    };
    // The guest measured the nap with `now-as-millis` on the (virtual) clock.
    let Val::I64(slept) = out[0] else { panic!() };
    assert!((1500..1600).contains(&slept), "slept {slept} ms");
}

const RANDOM: &str = r#"
    (import "ariel:wasm-bindings/rng-api@0.0.1" "[static]r-n-g.random-bytes"
        (func $random_bytes (param i32 i32)))
    (import "ariel:wasm-bindings/rng-api@0.0.1" "[static]r-n-g.next-u32"
        (func $next_u32 (result i32)))
    (import "ariel:wasm-bindings/rng-api@0.0.1" "[static]r-n-g.next-u64"
        (func $next_u64 (result i64)))
    (memory (export "memory") 1)
    (func (export "random-bytes") (param $len i32) (param $ret i32)
        (call $random_bytes (local.get $len) (local.get $ret)))
    (func (export "next-u32") (result i32) (call $next_u32))
    (func (export "next-u64") (result i64) (call $next_u64))
"#;

fn random_guest(host: HostState) -> Guest {
    Guest::wat(&alloc::format!("(module {RANDOM} {REALLOC})"), host)
}

#[test]
fn random_bytes_writes_the_list_the_guest_allocated() {
    let mut guest = random_guest(HostState::new("cap").with_rng(CountingRng(0)));
    guest
        .call("random-bytes", &[Val::I32(5), Val::I32(8)], 0)
        .unwrap();
    // (ptr, len) at the return pointer; the list where `cabi_realloc` put it (its first block).
    assert_eq!(guest.peek(8, 8), [0, 4, 0, 0, 5, 0, 0, 0]);
    assert_eq!(guest.peek(1024, 5), [7, 14, 21, 28, 35]);
    let calls = guest.instance.get_global(&guest.store, "calls").unwrap();
    assert_eq!(calls.get(&guest.store).i32(), Some(1));
    assert_eq!(guest.call("next-u32", &[], 1).unwrap(), [42]);
    assert_eq!(guest.call("next-u64", &[], 1).unwrap(), [49]);
}

#[test]
fn random_bytes_over_the_cap_or_without_a_generator_is_refused() {
    let mut guest = random_guest(
        HostState::new("cap")
            .with_rng(CountingRng(0))
            .with_random_bytes_cap(16),
    );
    let e = guest
        .call("random-bytes", &[Val::I32(-1), Val::I32(8)], 0)
        .unwrap_err();
    assert_eq!(
        e.refusal(),
        "rng-api: random-bytes(4294967295) exceeds this device's cap of 16 bytes per call"
    );
    let mut guest = random_guest(HostState::new("cap"));
    let e = guest.call("next-u32", &[], 1).unwrap_err();
    assert_eq!(
        e.refusal(),
        "rng-api: this device has no random number generator"
    );
    let e = guest
        .call("random-bytes", &[Val::I32(4), Val::I32(8)], 0)
        .unwrap_err();
    assert_eq!(
        e.refusal(),
        "rng-api: this device has no random number generator"
    );
}

#[test]
fn a_bad_return_pointer_is_a_fault_before_anything_is_allocated() {
    let mut guest = random_guest(HostState::new("cap").with_rng(CountingRng(0)));
    let e = guest
        .call("random-bytes", &[Val::I32(4), Val::I32(6)], 0)
        .unwrap_err();
    assert_eq!(e.fault(), "rng-api.r-n-g.random-bytes: pointer not aligned");
    let e = guest
        .call("random-bytes", &[Val::I32(4), Val::I32(65532)], 0)
        .unwrap_err();
    assert_eq!(
        e.fault(),
        "rng-api.r-n-g.random-bytes: pointer out of bounds"
    );
    let calls = guest.instance.get_global(&guest.store, "calls").unwrap();
    assert_eq!(calls.get(&guest.store).i32(), Some(0));
}

#[test]
fn a_list_needs_the_guests_allocator_and_a_pointer_it_can_use() {
    // No `cabi_realloc`.
    let mut guest = Guest::wat(
        &alloc::format!("(module {RANDOM})"),
        HostState::new("cap").with_rng(CountingRng(0)),
    );
    let e = guest
        .call("random-bytes", &[Val::I32(4), Val::I32(8)], 0)
        .unwrap_err();
    assert_eq!(
        e.fault(),
        "rng-api.r-n-g.random-bytes: the capsule exports no `cabi_realloc`"
    );
    // An allocator answering a pointer past the end of memory.
    let mut guest = Guest::wat(
        &alloc::format!(
            r#"(module {RANDOM}
                (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
                    (i32.const 65534)))"#
        ),
        HostState::new("cap").with_rng(CountingRng(0)),
    );
    let e = guest
        .call("random-bytes", &[Val::I32(4), Val::I32(8)], 0)
        .unwrap_err();
    assert_eq!(
        e.fault(),
        "rng-api.r-n-g.random-bytes: `cabi_realloc` returned a pointer out of bounds or misaligned"
    );
}

/// `random-bytes` on an engine with fuel, the store holding `fuel`: runs the call to its end,
/// refilling 1000 units whenever it runs out (as the driver's slices do); the host errors met.
fn random_bytes_with_fuel(wat: &str, fuel: u64) -> Result<(Vec<u8>, u32), wasmi::Error> {
    let mut config = super::config();
    config.consume_fuel(true);
    let engine = wasmi::Engine::new(&config);
    let mut guest = Guest::with_engine(
        &engine,
        &wat::parse_str(wat).unwrap(),
        HostState::new("cap").with_rng(CountingRng(0)),
    );
    guest.store.set_fuel(fuel).unwrap();
    let mut refills = 0;
    let mut call = guest.start("random-bytes", &[Val::I32(3), Val::I32(8)], &mut []);
    loop {
        call = match call {
            ResumableCall::Finished => break,
            ResumableCall::OutOfFuel(out) => {
                refills += 1;
                guest.store.set_fuel(1000).unwrap();
                out.resume(&mut guest.store, &mut [])?
            }
            ResumableCall::HostTrap(trap) => return Err(trap.into_host_error()),
        }
    }
    Ok((guest.peek(1024, 3), refills))
}

#[test]
fn cabi_realloc_called_by_the_host_never_ends_a_fuel_slice_with_a_trap() {
    let wat = alloc::format!("(module {RANDOM} {REALLOC})");
    // Wherever the slice ends, the call yields (and is refilled) or finishes: the allocator the
    // host calls runs on fuel lent for it, never out of fuel.
    let (bytes, refills) = random_bytes_with_fuel(&wat, 1_000_000).unwrap();
    assert_eq!((bytes.as_slice(), refills), (&[7u8, 14, 21][..], 0));
    for fuel in 0..64 {
        let (bytes, _) = random_bytes_with_fuel(&wat, fuel).unwrap();
        assert_eq!(bytes, [7, 14, 21], "with {fuel} fuel");
    }
}

#[test]
fn an_allocator_that_never_returns_runs_out_of_the_fuel_lent_for_it() {
    let wat = alloc::format!(
        r#"(module {RANDOM}
            (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
                (loop $spin (br $spin))
                (i32.const 0)))"#
    );
    let e = random_bytes_with_fuel(&wat, 1_000).unwrap_err();
    assert_eq!(e.as_trap_code(), Some(wasmi::TrapCode::OutOfFuel), "{e}");
}
