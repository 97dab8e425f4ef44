//! The full firmware: trevm runs fibonacci, measures call costs, runs the benchmark's workloads
//! (then, with feature `wasmi`, the plain-wasm capsules of `wasmi_capsules.rs`), probes the FP
//! registers across fiber switches, blinks the FPGA-IO LED from a capsule, and runs the
//! async-bindings scenario.
//! Lines starting with `measure:` feed docs/footprint.md (see report.sh).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, Ordering};

use embassy_executor::Spawner;
use embassy_time::{Duration, Timer};
use trevm::host::{Led, LedError, SharedLed};
use trevm::{
    EmbeddedCapsule, EngineProfile, Error, Grants, HostState, Limits, Preemption, Runtime,
    RuntimeOptions,
};

use crate::console::board;
use crate::figures::{measure_bytes, measure_cycles};
use crate::fp_probe::{FpProbe, LeaksD8};
use crate::fpga_led::FpgaLed0;
use crate::measure::HEAP;
use crate::time_driver::cycles;
use crate::workloads as work;
use crate::xorshift::XorShift;

static FIBONACCI: EmbeddedCapsule =
    trevm::include_capsule!(concat!(env!("OUT_DIR"), "/fibonacci.cwasm"));
#[cfg(not(feature = "signed"))]
static ASYNC_BINDINGS: EmbeddedCapsule =
    trevm::include_capsule!(concat!(env!("OUT_DIR"), "/async-bindings.cwasm"));
static GPIO: EmbeddedCapsule = trevm::include_capsule!(concat!(env!("OUT_DIR"), "/gpio.cwasm"));
static BENCH_CALLS: EmbeddedCapsule =
    trevm::include_capsule!(concat!(env!("OUT_DIR"), "/bench-calls.cwasm"));
static BENCH_WORK: EmbeddedCapsule =
    trevm::include_capsule!(concat!(env!("OUT_DIR"), "/bench-work.cwasm"));

static HEARTBEATS: AtomicU32 = AtomicU32::new(0);

/// The FPGA-IO LED as capsules see it; each toggle is printed with what the register reads back.
struct BoardLed {
    pin: SharedLed<FpgaLed0>,
    toggles: AtomicU32,
}

impl Led for BoardLed {
    fn toggle(&self) -> Result<bool, LedError> {
        let high = self.pin.toggle()?;
        let n = self.toggles.fetch_add(1, Ordering::Relaxed) + 1;
        board(&format!(
            "LED0 {} (toggle {n}; FPGA-IO LED register reads {:#x})",
            if high { "on " } else { "off" },
            FpgaLed0::register()
        ));
        Ok(high)
    }
}

#[embassy_executor::task]
async fn heartbeat() {
    loop {
        Timer::after_millis(500).await;
        HEARTBEATS.fetch_add(1, Ordering::Relaxed);
    }
}

pub async fn run(spawner: Spawner) -> Result<(), String> {
    spawner
        .spawn(heartbeat())
        .map_err(|_| "cannot spawn the heartbeat task".to_string())?;
    let profile = EngineProfile::pulley32(Preemption::Fuel);
    let options = RuntimeOptions::mcu();
    HEAP.watch_stacks(options.async_stack_size, options.max_wasm_stack);
    board(&format!(
        "heap {} KiB, profile {profile}, wasm stack {} KiB, fiber stack {} KiB",
        crate::measure::HEAP_SIZE / 1024,
        options.max_wasm_stack / 1024,
        options.async_stack_size / 1024
    ));
    measure_bytes("heap.boot", HEAP.used());
    for (name, bytes) in [
        ("fibonacci", FIBONACCI.bytes()),
        ("async-bindings", async_bindings_bytes()),
        ("gpio", GPIO.bytes()),
        ("bench-calls", BENCH_CALLS.bytes()),
        ("bench-work", BENCH_WORK.bytes()),
    ] {
        measure_bytes(&format!("capsule.{name}"), bytes.len());
    }
    let e = |e: Error| e.to_string();
    fibonacci(profile, options).await.map_err(e)?;
    // One runtime (engine + linker) for the capsules of the next stages.
    let runtime = Runtime::new(profile, options).map_err(e)?;
    // Wasmtime gives every async call a fresh Pulley stack: watching it (zeroing it, scanning it
    // when freed) would be counted in these per-call figures, so the fiber stack alone is watched.
    HEAP.watch_stacks(options.async_stack_size, 0);
    call_costs(&runtime).await.map_err(e)?;
    workloads(&runtime).await?;
    // Plain-wasm capsules on wasmi, on runtimes made for the same profile (wasmi's value stack is
    // not one of the watched stacks: its own allocation, growing up to `max_wasm_stack`).
    #[cfg(feature = "wasmi")]
    crate::wasmi_capsules::run(spawner, profile, options).await?;
    HEAP.watch_stacks(options.async_stack_size, options.max_wasm_stack);
    fp_probe(&runtime).await?;
    blinky(&runtime).await?;
    async_bindings(profile, options).await?;
    #[cfg(feature = "coap")]
    crate::coap_device::run(profile, options).await?;
    measure_bytes("fiber.stack_high_water", HEAP.fiber_peak());
    measure_bytes("wasm.stack_high_water", HEAP.wasm_stack_peak());
    Ok(())
}

/// A pure function with no host interface granted; every stage measured.
async fn fibonacci(profile: EngineProfile, options: RuntimeOptions) -> Result<(), Error> {
    let base = HEAP.used();
    let (pure, c) =
        crate::measure::cycles(|| Runtime::new(profile, options.with_grants(Grants::none())));
    let pure = pure?;
    measure_cycles("cycles.engine", c);
    measure_bytes("heap.fib.engine", HEAP.used() - base);
    let fib = FIBONACCI.check()?;
    let (loaded, c) = crate::measure::cycles(|| pure.load(&fib));
    let loaded = loaded?;
    measure_cycles("cycles.fib.deserialize", c);
    measure_bytes("heap.fib.deserialized", HEAP.used() - base);
    let start = cycles();
    let mut inst = pure
        .instantiate(&loaded, HostState::new("fibonacci"), Limits::new())
        .await?;
    measure_cycles("cycles.fib.instantiate", cycles() - start);
    measure_bytes("heap.fib.instantiated", HEAP.used() - base);
    HEAP.reset_peak();
    let start = cycles();
    let (result,) = inst
        .call_typed::<(u32,), (u32,)>("fibonacci", (20,))
        .await?;
    measure_cycles("cycles.fib20", cycles() - start);
    measure_bytes("heap.fib.call_peak", HEAP.peak() - base);
    board(&format!("fibonacci(20) = {result}"));
    if result != 6765 {
        return Err(Error::Engine("fibonacci(20) is not 6765".into()));
    }
    Ok(())
}

/// The cost of one call into a capsule and one call out of it.
async fn call_costs(runtime: &Runtime) -> Result<(), Error> {
    const N: u32 = 100;
    let loaded = runtime.load(&BENCH_CALLS.check()?)?;
    let mut inst = runtime
        .instantiate(&loaded, HostState::new("bench-calls"), Limits::new())
        .await?;
    inst.call_typed::<(), ()>("noop", ()).await?;
    let start = cycles();
    for _ in 0..N {
        inst.call_typed::<(), ()>("noop", ()).await?;
    }
    measure_cycles("cycles.host_to_guest", (cycles() - start) / u64::from(N));
    let start = cycles();
    inst.call_typed::<(u32,), (u64,)>("now-loop", (0,)).await?;
    let empty = cycles() - start;
    let start = cycles();
    inst.call_typed::<(u32,), (u64,)>("now-loop", (10 * N,))
        .await?;
    let full = cycles() - start;
    measure_cycles(
        "cycles.guest_to_host",
        full.saturating_sub(empty) / u64::from(10 * N),
    );
    Ok(())
}

/// The host benchmark's workloads (recursive fib, heapsort, SHA-256), in the bench-work capsule
/// (Pulley, fuel preemption: the default) and natively, from the same source. The capsule must
/// compute what the native code does.
async fn workloads(runtime: &Runtime) -> Result<(), String> {
    use core::hint::black_box;
    fn e(e: impl ToString) -> String {
        e.to_string()
    }
    let capsule = BENCH_WORK.check().map_err(e)?;
    let base = HEAP.used();
    let (loaded, c) = crate::measure::cycles(|| runtime.load(&capsule));
    let loaded = loaded.map_err(e)?;
    measure_cycles("cycles.work.deserialize", c);
    measure_bytes("heap.work.deserialized", HEAP.used() - base);
    let start = cycles();
    let mut inst = runtime
        .instantiate(&loaded, HostState::new("bench-work"), Limits::new())
        .await
        .map_err(e)?;
    measure_cycles("cycles.work.instantiate", cycles() - start);
    measure_bytes("heap.work.instantiated", HEAP.used() - base);
    let mut sort = alloc::boxed::Box::new([0u32; work::MAX_SORT]);
    for (export, a, b) in work::ROWS {
        let start = cycles();
        let guest = if export == "fib" {
            inst.call_typed::<(u32,), (u32,)>(export, (a,)).await
        } else {
            inst.call_typed::<(u32, u32), (u32,)>(export, (a, b)).await
        }
        .map_err(e)?
        .0;
        measure_cycles(&format!("cycles.work.{export}.capsule"), cycles() - start);
        let (native, c) = crate::measure::cycles(|| match export {
            "fib" => work::fib(black_box(a)),
            "heapsort" => work::heapsort(&mut sort, black_box(a), black_box(b)),
            _ => work::sha256(black_box(a), black_box(b)),
        });
        measure_cycles(&format!("cycles.work.{export}.native"), c);
        board(&format!("bench-work {export}({a}) = {guest:#010x}"));
        if guest != native {
            return Err(format!(
                "bench-work {export}: the capsule computed {guest:#x}, native code {native:#x}"
            ));
        }
    }
    Ok(())
}

/// The same arithmetic as the bench-calls capsule's `float-across-sleeps`, natively.
fn float_across_sleeps(rounds: u32) -> f64 {
    let mut x = 1.0f64;
    let mut y = 0.25f32;
    for i in 0..rounds {
        x = x * 1.000_001 + 0.5 / f64::from(i + 1);
        y = y * 0.999 + 0.001;
        x -= f64::from(y);
    }
    x
}

/// FP state across async host calls: the capsule's float results must be exact, and the
/// executor's d8–d15 must be what they were before each poll of the capsule call.
async fn fp_probe(runtime: &Runtime) -> Result<(), String> {
    const ROUNDS: u32 = 40;
    // Calibration: the probe must see a callee that leaves d8 changed, and trevm's guard (unless
    // switched off) must undo it.
    let mut leak = core::pin::pin!(FpProbe::new(LeaksD8));
    leak.as_mut().await;
    let mut guarded = core::pin::pin!(FpProbe::new(trevm::FpGuarded::new(LeaksD8)));
    guarded.as_mut().await;
    board(&format!(
        "measure: fp.calibration.leak = {}; fp.calibration.guarded_leak = {} (guard active: {})",
        leak.clobbered,
        guarded.clobbered,
        trevm::fpctx::GUARD
    ));
    if leak.clobbered != 1 {
        return Err("FP probe calibration: the probe did not see d8 change".into());
    }
    if trevm::fpctx::GUARD && guarded.clobbered != 0 {
        return Err("FP guard calibration: the guard did not restore d8".into());
    }
    let capsule = BENCH_CALLS.check().map_err(|e| e.to_string())?;
    let loaded = runtime.load(&capsule).map_err(|e| e.to_string())?;
    let mut inst = runtime
        .instantiate(&loaded, HostState::new("bench-calls"), Limits::new())
        .await
        .map_err(|e| e.to_string())?;
    let mut probe = core::pin::pin!(FpProbe::new(
        inst.call_typed::<(u32,), (f64,)>("float-across-sleeps", (ROUNDS,))
    ));
    let result = probe.as_mut().await.map_err(|e| e.to_string())?;
    let expected = float_across_sleeps(ROUNDS);
    let exact = result.0.to_bits() == expected.to_bits();
    let (polls, clobbered) = (probe.polls, probe.clobbered);
    board(&format!(
        "measure: fp.polls = {polls}; fp.clobbered = {clobbered} (d8–d15 changed across a poll of \
         the capsule call); guest float result exact: {exact}"
    ));
    if !exact {
        return Err(format!(
            "float-across-sleeps({ROUNDS}) = {result:?}, expected {expected}"
        ));
    }
    if clobbered > 0 && !cfg!(trevm_unguarded_fp) {
        return Err(format!(
            "{clobbered} FP register(s) changed across capsule polls"
        ));
    }
    Ok(())
}

/// Blinky on the FPGA-IO LED: the board has no button the capsule can use (QEMU does not model
/// the MPS2 push buttons), so the capsule blinks on a timer until its timeout.
async fn blinky(runtime: &Runtime) -> Result<(), String> {
    let capsule = GPIO.check().map_err(|e| e.to_string())?;
    let loaded = runtime.load(&capsule).map_err(|e| e.to_string())?;
    let led = Arc::new(BoardLed {
        pin: SharedLed::new(FpgaLed0),
        toggles: AtomicU32::new(0),
    });
    let host = HostState::new(capsule.name())
        .with_log(Arc::new(crate::console::SemihostingLog))
        .with_led(led.clone());
    let timeout = Duration::from_millis(2250);
    let mut inst = runtime
        .instantiate(&loaded, host, Limits::new().with_timeout(timeout))
        .await
        .map_err(|e| e.to_string())?;
    match inst.call_typed::<(), ()>("blinky", ()).await {
        Err(Error::Timeout { .. }) => {}
        other => return Err(format!("blinky: expected its timeout, got {other:?}")),
    }
    let toggles = led.toggles.load(Ordering::Relaxed);
    let register = FpgaLed0::register() & 1;
    board(&format!(
        "blinky stopped by its timeout after {toggles} toggles; LED0 register bit reads {register}"
    ));
    if !(4..=6).contains(&toggles) || register != toggles % 2 {
        return Err(format!(
            "blinky: {toggles} toggles (5 expected in 2.25 s), LED0 bit {register}"
        ));
    }
    Ok(())
}

/// The async scenario: log, rng, sleep, then an endless loop stopped by the timeout while the
/// heartbeat task keeps running.
async fn async_bindings(profile: EngineProfile, options: RuntimeOptions) -> Result<(), String> {
    fn e(e: impl ToString) -> String {
        e.to_string()
    }
    let base = HEAP.used();
    let runtime = Runtime::new(profile, options).map_err(e)?;
    measure_bytes("heap.async.engine", HEAP.used() - base);
    let capsule = async_bindings_capsule()?;
    let start = cycles();
    let loaded = runtime.load(&capsule).map_err(e)?;
    measure_cycles("cycles.async.deserialize", cycles() - start);
    measure_bytes("heap.async.deserialized", HEAP.used() - base);
    let host = HostState::new(capsule.name())
        .with_log(Arc::new(crate::console::SemihostingLog))
        .with_rng(XorShift(0x5eed_1234_abcd_0001));
    let timeout = Duration::from_secs(5);
    let mut inst = runtime
        .instantiate(&loaded, host, Limits::new().with_timeout(timeout))
        .await
        .map_err(e)?;
    measure_bytes("heap.async.instantiated", HEAP.used() - base);
    HEAP.reset_peak();
    let beats_before = HEARTBEATS.load(Ordering::Relaxed);
    match inst.call_run().await {
        Err(Error::Timeout { .. }) => {
            measure_bytes("heap.async.run_peak", HEAP.peak() - base);
            let beats = HEARTBEATS.load(Ordering::Relaxed) - beats_before;
            board(&format!(
                "async-bindings stopped by its {} s timeout; heartbeat ticked {beats} times meanwhile",
                timeout.as_secs()
            ));
            if beats < 8 {
                return Err("the executor was blocked while the capsule ran".into());
            }
            Ok(())
        }
        Ok(()) => Err("async-bindings returned; it should loop until the timeout".into()),
        Err(err) => Err(e(err)),
    }
}

#[cfg(not(feature = "signed"))]
fn async_bindings_bytes() -> &'static [u8] {
    ASYNC_BINDINGS.bytes()
}

#[cfg(not(feature = "signed"))]
fn async_bindings_capsule() -> Result<trevm::VerifiedCapsule<'static>, String> {
    ASYNC_BINDINGS.check().map_err(|e| e.to_string())
}

#[cfg(feature = "signed")]
use crate::signed::{async_bindings_bytes, async_bindings_capsule};
