//! Plain-wasm capsules on trevm's wasmi provider (feature `wasmi`): fibonacci and the benchmark's
//! workloads, validated and translated here on the device, then a fuel budget stopping a capsule
//! while another task keeps running. With feature `runtime` they run on a runtime made for
//! pulley32, the kind that runs the Pulley capsules too (one runtime takes both kinds); without
//! it, on one made for wasmi alone (the firmware then has no Wasmtime). Lines starting with
//! `measure:` feed docs/footprint.md (report.sh).

use alloc::format;
use alloc::string::{String, ToString};
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use embassy_executor::Spawner;
use embassy_time::Timer;
use trevm::{
    EmbeddedCapsule, EngineProfile, Error, Grants, HostState, Limits, LoadedCapsule, Runtime,
    RuntimeOptions,
};

use crate::console::board;
use crate::figures::{measure_bytes, measure_cycles};
use crate::measure::HEAP;
use crate::time_driver::cycles;
use crate::workloads as work;

static FIBONACCI: EmbeddedCapsule =
    trevm::include_capsule!(concat!(env!("OUT_DIR"), "/fibonacci.wasm.capsule"));
static BENCH_WORK: EmbeddedCapsule =
    trevm::include_capsule!(concat!(env!("OUT_DIR"), "/bench-work.wasm.capsule"));

/// Every wasmi stage, on runtimes made for `profile` with `options`: pulley32 when the firmware
/// has Pulley (such a runtime runs plain-wasm capsules too), else wasmi's own profile.
pub async fn run(
    spawner: Spawner,
    profile: EngineProfile,
    options: RuntimeOptions,
) -> Result<(), String> {
    for (name, capsule) in [("fibonacci", &FIBONACCI), ("bench-work", &BENCH_WORK)] {
        measure_bytes(&format!("capsule.wasmi.{name}"), capsule.bytes().len());
    }
    fibonacci(profile, options).await.map_err(e)?;
    let runtime = Runtime::new(profile, options).map_err(e)?;
    let loaded = workloads(&runtime).await?;
    fuel_budget(spawner, &runtime, &loaded).await
}

fn e(e: impl ToString) -> String {
    e.to_string()
}

/// Fibonacci as plain wasm, every stage measured as the Pulley one is (`capsules.rs`): loading
/// is validating and translating it here, into wasmi's bytecode on the heap.
async fn fibonacci(profile: EngineProfile, options: RuntimeOptions) -> Result<(), Error> {
    let base = HEAP.used();
    let (pure, c) =
        crate::measure::cycles(|| Runtime::new(profile, options.with_grants(Grants::none())));
    let pure = pure?;
    measure_cycles("cycles.wasmi.engine", c);
    measure_bytes("heap.wasmi.fib.engine", HEAP.used() - base);
    let fib = FIBONACCI.check()?;
    HEAP.reset_peak();
    let (loaded, c) = crate::measure::cycles(|| pure.load(&fib));
    let loaded = loaded?;
    measure_cycles("cycles.wasmi.fib.load", c);
    measure_bytes("heap.wasmi.fib.load_peak", HEAP.peak() - base);
    measure_bytes("heap.wasmi.fib.loaded", HEAP.used() - base);
    let start = cycles();
    let mut inst = pure
        .instantiate(&loaded, HostState::new("fibonacci"), Limits::new())
        .await?;
    measure_cycles("cycles.wasmi.fib.instantiate", cycles() - start);
    measure_bytes("heap.wasmi.fib.instantiated", HEAP.used() - base);
    HEAP.reset_peak();
    let start = cycles();
    let (result,) = inst
        .call_typed::<(u32,), (u32,)>("fibonacci", (20,))
        .await?;
    measure_cycles("cycles.wasmi.fib20", cycles() - start);
    measure_bytes("heap.wasmi.fib.call_peak", HEAP.peak() - base);
    board(&format!(
        "wasmi: fibonacci(20) = {result} (plain wasm, validated and translated here; provider {}, \
         runtime made for {profile})",
        loaded.provider()
    ));
    if result != 6765 || loaded.provider() != "wasmi" {
        return Err(Error::Engine("wasmi: fibonacci(20) is not 6765".into()));
    }
    Ok(())
}

/// The benchmark's workloads (`payloads/bench-work`) as plain wasm on wasmi with fuel, beside
/// the same `work.rs` compiled natively; both must compute the same. Returns the loaded capsule
/// for the next stage.
async fn workloads(runtime: &Runtime) -> Result<LoadedCapsule, String> {
    use core::hint::black_box;
    let capsule = BENCH_WORK.check().map_err(e)?;
    let base = HEAP.used();
    HEAP.reset_peak();
    let (loaded, c) = crate::measure::cycles(|| runtime.load(&capsule));
    let loaded = loaded.map_err(e)?;
    measure_cycles("cycles.wasmi.work.load", c);
    measure_bytes("heap.wasmi.work.load_peak", HEAP.peak() - base);
    measure_bytes("heap.wasmi.work.loaded", HEAP.used() - base);
    let start = cycles();
    let mut inst = runtime
        .instantiate(&loaded, HostState::new("bench-work"), Limits::new())
        .await
        .map_err(e)?;
    measure_cycles("cycles.wasmi.work.instantiate", cycles() - start);
    measure_bytes("heap.wasmi.work.instantiated", HEAP.used() - base);
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
        measure_cycles(&format!("cycles.work.{export}.wasmi"), cycles() - start);
        let (native, c) = crate::measure::cycles(|| match export {
            "fib" => work::fib(black_box(a)),
            "heapsort" => work::heapsort(&mut sort, black_box(a), black_box(b)),
            _ => work::sha256(black_box(a), black_box(b)),
        });
        measure_cycles(&format!("cycles.work.{export}.native"), c);
        board(&format!("wasmi: bench-work {export}({a}) = {guest:#010x}"));
        if guest != native {
            return Err(format!(
                "wasmi: bench-work {export}: the capsule computed {guest:#x}, native code {native:#x}"
            ));
        }
    }
    Ok(loaded)
}

/// Ticks of [`ticker`] (one per millisecond while it runs).
static TICKS: AtomicU32 = AtomicU32::new(0);
/// Tells [`ticker`] to end (so it does not run during later measurements).
static STOP_TICKER: AtomicBool = AtomicBool::new(false);

/// Another task: counts milliseconds, which it can only do while the capsule gives the executor
/// back control.
#[embassy_executor::task]
async fn ticker() {
    while !STOP_TICKER.load(Ordering::Relaxed) {
        Timer::after_millis(1).await;
        TICKS.fetch_add(1, Ordering::Relaxed);
    }
}

/// wasmi fuel for the stage below: about one unit per wasm instruction, so a few tens of ms of
/// the M4 (QEMU runs it faster).
const FUEL_BUDGET: u64 = 5_000_000;

/// A capsule with a fuel budget far below what its call needs (fib(40), about 2 × 10⁹ units) is
/// stopped with `OutOfFuel`; it yields every `Limits::yield_interval` units meanwhile, so another
/// task keeps running.
async fn fuel_budget(
    spawner: Spawner,
    runtime: &Runtime,
    loaded: &LoadedCapsule,
) -> Result<(), String> {
    let limits = Limits::new().with_fuel(FUEL_BUDGET);
    let mut inst = runtime
        .instantiate(loaded, HostState::new("bench-work"), limits)
        .await
        .map_err(e)?;
    spawner
        .spawn(ticker())
        .map_err(|_| "cannot spawn the ticker task".to_string())?;
    let result = inst.call_typed::<(u32,), (u32,)>("fib", (40,)).await;
    let ticks = TICKS.load(Ordering::Relaxed);
    STOP_TICKER.store(true, Ordering::Relaxed);
    let burnt = inst.fuel_consumed().unwrap_or(0);
    match result {
        Err(Error::OutOfFuel) => {
            board(&format!(
                "wasmi: bench-work fib(40) stopped by its fuel budget ({burnt} of {FUEL_BUDGET} \
                 units burnt, in slices of {}); another task ticked {ticks} times meanwhile",
                limits.yield_interval
            ));
            if ticks == 0 || burnt > FUEL_BUDGET {
                return Err("wasmi: the executor was blocked while the capsule ran".into());
            }
            Ok(())
        }
        other => Err(format!(
            "wasmi: bench-work fib(40) should run out of fuel, got {other:?}"
        )),
    }
}
