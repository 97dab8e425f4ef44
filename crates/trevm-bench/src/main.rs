//! `trevm-bench`: measures trevm capsules on this machine and prints markdown tables.
//!
//! ```sh
//! cargo run --release -p trevm-bench              # the full run (about 40 s once built)
//! cargo run --release -p trevm-bench -- --quick   # a smoke run with fewer iterations
//! ```
//!
//! Everything is measured in one process: recursive `fib` natively and as a capsule (Cranelift
//! native code, Pulley64 without preemption, with fuel, with epochs), cold start of each example
//! capsule, the cost of calls from the capsule into the host and from the host into the capsule,
//! capsule sizes, and what CoAP security (EDHOC + OSCORE) costs against plain CoAP. Each figure
//! is the median of N runs, N printed next to it. Progress goes to stderr, the tables to stdout.
//! This is a measuring tool, not a test: nothing here asserts on time.
//! See `docs/bench.md` for a recorded run and how to read it.
#![forbid(unsafe_code)]

mod capsules;
mod coap;
mod device;
mod peers;
mod report;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_executor::block_on;
use trevm::{
    Capsule, EngineProfile, Limits, Preemption, Runtime, RuntimeOptions, Target, Val,
    VerifiedCapsule, VersionLedger,
};
use trevm_native::NativeBoard;

use capsules::Example;
use report::{Samples, Table, ratio, time};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// How often the epoch ticker thread advances the epoch of an epoch-preempted engine.
const EPOCH_TICK: Duration = Duration::from_millis(10);

const HOST_NONE: EngineProfile = EngineProfile {
    target: Target::Host,
    preemption: Preemption::None,
};
const P64_NONE: EngineProfile = EngineProfile::pulley64(Preemption::None);
const P64_FUEL: EngineProfile = EngineProfile::pulley64(Preemption::Fuel);
const P64_EPOCH: EngineProfile = EngineProfile::pulley64(Preemption::Epoch);

/// How much to measure.
#[derive(Debug, Clone, Copy)]
struct Plan {
    quick: bool,
    /// `fib(n)`.
    fib_n: u32,
    /// Runs of native `fib(n)`.
    fib_native_runs: usize,
    /// Runs of `fib(n)` in a capsule, per profile.
    fib_capsule_runs: usize,
    /// Repetitions of each cold-start step, per capsule and profile.
    cold_runs: usize,
    /// Host calls per `now-loop` call.
    host_calls: u32,
    /// `noop` calls per run.
    noop_calls: u32,
    /// Runs of the call-cost measurements, per profile.
    call_runs: usize,
    /// The CoAP security figures.
    coap: coap::CoapPlan,
    /// The CoAP device under load.
    device: device::DevicePlan,
}

impl Plan {
    const FULL: Plan = Plan {
        quick: false,
        fib_n: 30,
        fib_native_runs: 51,
        fib_capsule_runs: 21,
        cold_runs: 50,
        host_calls: 1_000_000,
        noop_calls: 100_000,
        call_runs: 11,
        coap: coap::CoapPlan {
            handshakes: 51,
            requests: 2_000,
            batches: 5,
        },
        device: device::DevicePlan {
            static_requests: 20_000,
            spin_requests: 2_000,
            runs_per_client: 2_000,
        },
    };

    const QUICK: Plan = Plan {
        quick: true,
        fib_n: 25,
        fib_native_runs: 11,
        fib_capsule_runs: 3,
        cold_runs: 5,
        host_calls: 100_000,
        noop_calls: 10_000,
        call_runs: 3,
        coap: coap::CoapPlan {
            handshakes: 3,
            requests: 100,
            batches: 3,
        },
        device: device::DevicePlan {
            static_requests: 500,
            spin_requests: 100,
            runs_per_client: 100,
        },
    };
}

const USAGE: &str = "usage: trevm-bench [--quick]

Builds the example capsules (payloads/) and prints markdown tables: fib(30) natively and as a
capsule, cold start, call costs, capsule sizes, EDHOC + OSCORE against plain CoAP. Medians of N
runs.

  --quick   fewer and smaller iterations (fib(25), fewer runs), for smoke runs
  --help    this text";

fn main() -> std::process::ExitCode {
    let mut plan = Plan::FULL;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--quick" => plan = Plan::QUICK,
            "-h" | "--help" => {
                println!("{USAGE}");
                return std::process::ExitCode::SUCCESS;
            }
            other => {
                eprintln!("trevm-bench: unknown argument `{other}`\n\n{USAGE}");
                return std::process::ExitCode::from(2);
            }
        }
    }
    match run(plan) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trevm-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(plan: Plan) -> Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bench = Bench::new(plan, build_examples(&root)?)?;
    print_machine();
    if plan.quick {
        println!(
            "`--quick`: a smoke run with fewer and smaller iterations; not for comparisons.\n"
        );
    }
    // Each section is printed as soon as it is measured.
    println!("{}", bench.fib()?);
    println!("{}", bench.cold_start()?);
    println!("{}", bench.call_costs()?);
    println!("{}", bench.sizes());
    println!("{}", peers::compare(&root, plan.quick)?);
    println!("{}", bench.coap_security()?);
    println!("{}", bench.device(&root)?);
    Ok(())
}

/// The capsules, one runtime per measured profile, and what to measure.
struct Bench {
    plan: Plan,
    examples: Vec<Example>,
    /// Gives `async-bindings` the `log-api` and `rng-api` it imports (nothing logs while measured).
    board: NativeBoard,
    host: Runtime,
    p64_none: Runtime,
    p64_fuel: Runtime,
    p64_epoch: Runtime,
}

impl Bench {
    fn new(plan: Plan, examples: Vec<Example>) -> Result<Self> {
        progress("creating engines");
        Ok(Bench {
            plan,
            examples,
            board: NativeBoard::new(),
            host: runtime(HOST_NONE)?,
            p64_none: runtime(P64_NONE)?,
            p64_fuel: runtime(P64_FUEL)?,
            p64_epoch: runtime(P64_EPOCH)?,
        })
    }

    fn example(&self, name: &str) -> &Example {
        self.examples
            .iter()
            .find(|e| e.name == name)
            .expect("every example is built")
    }

    /// EDHOC + OSCORE against plain CoAP on the sandbox device (`coap.rs`).
    fn coap_security(&self) -> Result<String> {
        let hello = self.example("sandbox").capsule(P64_FUEL);
        Ok(coap::measure(
            self.plan.coap,
            P64_FUEL,
            capsules::policy(),
            hello,
        )?)
    }

    /// The CoAP device under load (`device.rs`).
    fn device(&self, root: &Path) -> Result<String> {
        let hello = self.example("sandbox").capsule(P64_FUEL).to_vec();
        let spin = capsules::build_one(root, "sandbox-spin", P64_FUEL)?;
        Ok(device::measure(
            self.plan.device,
            P64_FUEL,
            capsules::policy(),
            hello,
            spin,
        )?)
    }

    /// `fib(n)` natively and in the `fibonacci` capsule with each profile.
    fn fib(&self) -> Result<String> {
        let plan = &self.plan;
        let n = plan.fib_n;
        progress(&format!("fib({n}) natively, {} runs", plan.fib_native_runs));
        let (native, expected) = fib_native(n, plan.fib_native_runs);
        // The runtime's defaults: with fuel, yield every 10 000 units; with epochs, at every tick.
        let default = Limits::new();
        let no_yield = Limits::new().with_yield_interval(u64::MAX);
        let rows: [(&str, &Runtime, Limits); 5] = [
            (
                "capsule, Cranelift native code, no preemption",
                &self.host,
                default,
            ),
            ("capsule, Pulley64, no preemption", &self.p64_none, default),
            (
                "capsule, Pulley64, fuel (yield every 10 000 units)",
                &self.p64_fuel,
                default,
            ),
            (
                "capsule, Pulley64, fuel (never yields)",
                &self.p64_fuel,
                no_yield,
            ),
            (
                "capsule, Pulley64, epoch (10 ms tick, yield every tick)",
                &self.p64_epoch,
                default,
            ),
        ];
        let mut table = Table::new(&[&format!("fib({n})"), "median", "runs", "vs native"]);
        table.row(vec![
            "native Rust (same recursive fn)".into(),
            time(native.median()),
            native.len().to_string(),
            "1.00×".into(),
        ]);
        let fib = self.example("fibonacci");
        for (label, rt, limits) in rows {
            progress(&format!(
                "fib({n}): {label}, {} runs",
                plan.fib_capsule_runs
            ));
            let s = fib_capsule(
                rt,
                &self.board,
                fib,
                limits,
                n,
                expected,
                plan.fib_capsule_runs,
            )?;
            table.row(vec![
                label.into(),
                time(s.median()),
                s.len().to_string(),
                ratio(s.median(), native.median()),
            ]);
        }
        Ok(format!("### fib({n}): compute\n\n{}", table.render()))
    }

    /// Checking, loading and instantiating each example, as Pulley64 with fuel and as native code.
    fn cold_start(&self) -> Result<String> {
        let mut table = Table::new(&[
            "capsule",
            "profile",
            "check (from_vec)",
            "verify (Ed25519)",
            "load (copy)",
            "load (in place)",
            "instantiate",
            "runs",
        ])
        .left(1);
        let mut no_in_place = None;
        for ex in &self.examples {
            for rt in [&self.p64_fuel, &self.host] {
                progress(&format!(
                    "cold start: {} ({}), {} runs",
                    ex.name,
                    rt.profile(),
                    self.plan.cold_runs
                ));
                let c = cold_start(rt, &self.board, ex, self.plan.cold_runs)?;
                let in_place = match &c.load_in_place {
                    Ok(s) => time(s.median()),
                    Err(e) => {
                        no_in_place = Some(e.clone());
                        "n/a¹".into()
                    }
                };
                table.row(vec![
                    ex.name.into(),
                    profile_name(rt.profile()),
                    time(c.check.median()),
                    time(c.verify.median()),
                    time(c.load_copy.median()),
                    in_place,
                    time(c.instantiate.median()),
                    c.check.len().to_string(),
                ]);
            }
        }
        let mut out = format!("### Cold start\n\n{}", table.render());
        if let Some(e) = no_in_place {
            out.push_str(&format!(
                "\n¹ Native code cannot be used in place from an ordinary buffer: {e}\n"
            ));
        }
        Ok(out)
    }

    /// Calls from the `bench-calls` capsule into the host and from the host into the capsule.
    fn call_costs(&self) -> Result<String> {
        let plan = &self.plan;
        let default = Limits::new();
        let profiles: [(&str, &Runtime, Limits); 4] = [
            ("Cranelift native code, no preemption", &self.host, default),
            ("Pulley64, no preemption", &self.p64_none, default),
            ("Pulley64, fuel", &self.p64_fuel, default),
            ("Pulley64, epoch", &self.p64_epoch, default),
        ];
        progress(&format!("native baselines, {} runs", plan.call_runs));
        let native_now = native_now_loop(plan.host_calls, plan.call_runs);
        let native_noop = native_noop(plan.noop_calls, plan.call_runs);
        let mut up = Table::new(&[
            &format!("guest→host: `now-as-millis` ×{}", plan.host_calls),
            "per call",
            "runs",
            "vs native",
        ]);
        up.row(vec![
            "native Rust: `embassy_time::Instant::now().as_millis()`".into(),
            time(native_now.median()),
            native_now.len().to_string(),
            "1.00×".into(),
        ]);
        let mut down = Table::new(&[
            &format!("host→guest: `instance.call(\"noop\")` ×{}", plan.noop_calls),
            "per call",
            "runs",
            "vs native",
            "`call_typed` instead",
        ]);
        down.row(vec![
            "native Rust: call of an empty `#[inline(never)]` fn".into(),
            time(native_noop.median()),
            native_noop.len().to_string(),
            "1.00×".into(),
            "–".into(),
        ]);
        let calls = self.example("bench-calls");
        for (label, rt, limits) in profiles {
            progress(&format!("call costs: {label}, {} runs", plan.call_runs));
            let CallCosts { now, noop, typed } = call_costs(rt, &self.board, calls, limits, plan)?;
            up.row(vec![
                label.into(),
                time(now.median()),
                now.len().to_string(),
                ratio(now.median(), native_now.median()),
            ]);
            down.row(vec![
                label.into(),
                time(noop.median()),
                noop.len().to_string(),
                ratio(noop.median(), native_noop.median()),
                time(typed.median()),
            ]);
        }
        Ok(format!(
            "### Call costs\n\n{}\n{}",
            up.render(),
            down.render()
        ))
    }

    /// Sizes of every stage of every example, per target and preemption.
    fn sizes(&self) -> String {
        let mut table = Table::new(&[
            "capsule",
            "target",
            "core module",
            "component",
            "cwasm, none",
            "cwasm, fuel",
            "cwasm, epoch",
            "fuel with --addrmap",
        ])
        .left(1);
        for ex in &self.examples {
            for target in [Target::Pulley32, Target::Pulley64, Target::Host] {
                let cwasm = |preemption| {
                    ex.compiled
                        .iter()
                        .find(|c| c.profile == EngineProfile { target, preemption })
                        .map_or_else(|| "–".to_string(), |c| c.cwasm.to_string())
                };
                let name = if target == Target::Host {
                    format!("host ({} Cranelift)", std::env::consts::ARCH)
                } else {
                    target.to_string()
                };
                table.row(vec![
                    ex.name.into(),
                    name,
                    ex.core_module.to_string(),
                    ex.component.to_string(),
                    cwasm(Preemption::None),
                    cwasm(Preemption::Fuel),
                    cwasm(Preemption::Epoch),
                    if target == Target::Pulley32 {
                        ex.pulley32_fuel_addrmap.to_string()
                    } else {
                        "–".to_string()
                    },
                ]);
            }
        }
        format!(
            "### Sizes (bytes)\n\n{}\nA capsule is the cwasm plus a {}-byte header. The cwasm has no \
             address map and no ELF symbol table unless built with `--addrmap` (last column: with \
             the map).",
            table.render(),
            trevm::capsule::HEADER_LEN
        )
    }
}

fn progress(msg: &str) {
    eprintln!("trevm-bench: {msg}");
}

fn build_examples(root: &Path) -> Result<Vec<Example>> {
    let mut out = Vec::new();
    for name in capsules::EXAMPLES {
        progress(&format!(
            "building {name} for {} profiles",
            capsules::PROFILES.len()
        ));
        out.push(
            capsules::build(root, name).map_err(|e| format!("building payloads/{name}: {e}"))?,
        );
    }
    Ok(out)
}

/// CPU, cores and kernel, as the first lines of the report.
fn print_machine() {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    println!(
        "Machine: {model}, {cores} cores available, {} {} (Linux {}). Medians of the printed number of runs.\n",
        std::env::consts::ARCH,
        std::env::consts::OS,
        kernel.trim()
    );
}

fn profile_name(p: EngineProfile) -> String {
    match p.target {
        Target::Host => format!("Cranelift, {}", p.preemption),
        t => format!("{t}, {}", p.preemption),
    }
}

/// A runtime for `profile`, with every interface granted. For epoch preemption a thread advances
/// the engine's epoch every [`EPOCH_TICK`] for the rest of the process.
fn runtime(profile: EngineProfile) -> Result<Runtime> {
    let rt = Runtime::new(profile, RuntimeOptions::host())
        .map_err(|e| format!("runtime for {profile}: {e}"))?;
    if profile.preemption == Preemption::Epoch {
        let ticker = rt.epoch_ticker();
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                ticker.tick();
            }
        });
    }
    Ok(rt)
}

fn nanos(d: Duration) -> f64 {
    d.as_secs_f64() * 1e9
}

/// The function the `fibonacci` capsule computes, compiled natively.
fn fib(n: u32) -> u32 {
    if n < 2 {
        n
    } else {
        fib(n - 1).wrapping_add(fib(n - 2))
    }
}

/// Native `fib(n)`, `runs` times after a smaller warm-up; also returns the result, which the
/// capsules must reproduce. Never inlined, like [`fib_capsule`], for profilers.
#[inline(never)]
fn fib_native(n: u32, runs: usize) -> (Samples, u32) {
    black_box(fib(black_box(n.min(20)))); // warm-up
    let mut s = Samples::default();
    let mut result = 0;
    for _ in 0..runs {
        let t = Instant::now();
        result = black_box(fib(black_box(n)));
        s.push(nanos(t.elapsed()));
    }
    (s, result)
}

/// `fibonacci(n)` in one instance, `runs` times after a smaller warm-up call. Checks the result
/// against the native one (a wrong result would make the timing meaningless).
///
/// Never inlined, so that a profiler can attribute each profile's run separately, e.g.
/// `valgrind --tool=callgrind --dump-before='*fib_capsule*' --dump-after='*fib_capsule*'`.
#[inline(never)]
fn fib_capsule(
    rt: &Runtime,
    board: &NativeBoard,
    example: &Example,
    limits: Limits,
    n: u32,
    expected: u32,
    runs: usize,
) -> Result<Samples> {
    let capsule = verified(Capsule::from_vec(example.capsule(rt.profile()).to_vec())?)?;
    let loaded = rt.load(&capsule)?;
    block_on(async {
        let mut instance = rt
            .instantiate(&loaded, board.host_state(example.name), limits)
            .await?;
        instance.call("fibonacci", &[Val::U32(n.min(20))]).await?;
        let mut s = Samples::default();
        for _ in 0..runs {
            let t = Instant::now();
            let result = instance.call("fibonacci", &[Val::U32(n)]).await?;
            s.push(nanos(t.elapsed()));
            if result != [Val::U32(expected)] {
                return Err(format!(
                    "fibonacci({n}) returned {result:?} in {}, natively {expected}",
                    rt.profile()
                )
                .into());
            }
        }
        Ok(s)
    })
}

struct ColdStart {
    /// `Capsule::from_vec`: header and CRC-32 check.
    check: Samples,
    /// `TrustPolicy::verify`: COSE_Sign1 parse, Ed25519 signature, SHA-256 of the payload.
    verify: Samples,
    /// `Runtime::load` of an owned capsule: Wasmtime copies the code into its own buffer.
    load_copy: Samples,
    /// `Runtime::load` of an aligned `'static` capsule (as from flash), or why it cannot be done.
    load_in_place: std::result::Result<Samples, String>,
    /// `Runtime::instantiate` of a loaded capsule.
    instantiate: Samples,
}

fn cold_start(
    rt: &Runtime,
    board: &NativeBoard,
    example: &Example,
    runs: usize,
) -> Result<ColdStart> {
    let bytes = example.capsule(rt.profile());
    let mut check = Samples::default();
    let mut verify = Samples::default();
    let mut load_copy = Samples::default();
    let policy = capsules::policy();
    for _ in 0..runs {
        let owned = bytes.to_vec();
        let t = Instant::now();
        let capsule = Capsule::from_vec(owned)?;
        check.push(nanos(t.elapsed()));
        let t = Instant::now();
        let capsule = policy.verify(capsule, &VersionLedger::new())?;
        verify.push(nanos(t.elapsed()));
        let t = Instant::now();
        let loaded = rt.load(&capsule)?;
        load_copy.push(nanos(t.elapsed()));
        drop(loaded);
    }

    // The runtime remembers in-place loads by address (Wasmtime refuses to register the same code
    // twice), so loading the same bytes again is a cache hit. Time first loads: a fresh
    // `'static` copy per run (leaked; a few MiB for the whole benchmark).
    let probe = rt
        .load(&verified(Capsule::from_static(leak_aligned(bytes))?)?)
        .map(drop);
    let load_in_place = match probe {
        Ok(()) => {
            let mut s = Samples::default();
            for _ in 0..runs {
                let flash = verified(Capsule::from_static(leak_aligned(bytes))?)?;
                let t = Instant::now();
                let loaded = rt.load(&flash)?;
                s.push(nanos(t.elapsed()));
                drop(loaded);
            }
            Ok(s)
        }
        Err(e) => Err(e.to_string()),
    };

    let loaded = rt.load(&verified(Capsule::from_vec(bytes.to_vec())?)?)?;
    let mut instantiate = Samples::default();
    for _ in 0..runs {
        let host = board.host_state(example.name);
        let t = Instant::now();
        let instance = block_on(rt.instantiate(&loaded, host, Limits::new()))?;
        instantiate.push(nanos(t.elapsed()));
        drop(instance);
    }
    Ok(ColdStart {
        check,
        verify,
        load_copy,
        load_in_place,
        instantiate,
    })
}

/// `capsule`, verified against the benchmark's key.
fn verified(capsule: Capsule<'static>) -> Result<VerifiedCapsule<'static>> {
    Ok(capsules::policy().verify(capsule, &VersionLedger::new())?)
}

/// A copy of `bytes` that lives for the rest of the process, 16-byte aligned like a capsule
/// embedded with `trevm::include_capsule!`, so that the runtime can use it in place.
fn leak_aligned(bytes: &[u8]) -> &'static [u8] {
    let buf: &'static mut [u8] = Box::leak(vec![0u8; bytes.len() + 15].into_boxed_slice());
    let skip = buf.as_ptr().align_offset(16);
    let slot = &mut buf[skip..skip + bytes.len()];
    slot.copy_from_slice(bytes);
    slot
}

/// Per-call costs, in nanoseconds.
struct CallCosts {
    /// `now-as-millis`, called by the capsule (`now-loop(host_calls)`).
    now: Samples,
    /// `instance.call("noop")`, from the host.
    noop: Samples,
    /// `instance.call_typed("noop")`: the same call without dynamic values.
    typed: Samples,
}

/// [`CallCosts`] of the `bench-calls` capsule, all in one instance.
fn call_costs(
    rt: &Runtime,
    board: &NativeBoard,
    example: &Example,
    limits: Limits,
    plan: &Plan,
) -> Result<CallCosts> {
    let capsule = verified(Capsule::from_vec(example.capsule(rt.profile()).to_vec())?)?;
    let loaded = rt.load(&capsule)?;
    block_on(async {
        let mut instance = rt
            .instantiate(&loaded, board.host_state(example.name), limits)
            .await?;
        // Warm-up.
        instance.call("now-loop", &[Val::U32(1000)]).await?;
        for _ in 0..1000 {
            instance.call("noop", &[]).await?;
        }
        let mut now = Samples::default();
        for _ in 0..plan.call_runs {
            let t = Instant::now();
            let result = instance
                .call("now-loop", &[Val::U32(plan.host_calls)])
                .await?;
            now.push(nanos(t.elapsed()) / f64::from(plan.host_calls));
            if !matches!(result.as_slice(), [Val::U64(_)]) {
                return Err(format!("now-loop returned {result:?}").into());
            }
        }
        let mut noop = Samples::default();
        for _ in 0..plan.call_runs {
            let t = Instant::now();
            for _ in 0..plan.noop_calls {
                instance.call("noop", &[]).await?;
            }
            noop.push(nanos(t.elapsed()) / f64::from(plan.noop_calls));
        }
        let mut typed = Samples::default();
        for _ in 0..plan.call_runs {
            let t = Instant::now();
            for _ in 0..plan.noop_calls {
                instance.call_typed::<(), ()>("noop", ()).await?;
            }
            typed.push(nanos(t.elapsed()) / f64::from(plan.noop_calls));
        }
        Ok(CallCosts { now, noop, typed })
    })
}

/// What the host side of `now-as-millis` does, called directly.
fn native_now_loop(calls: u32, runs: usize) -> Samples {
    let mut s = Samples::default();
    for _ in 0..runs {
        let t = Instant::now();
        let mut sum = 0u64;
        for _ in 0..calls {
            sum = sum.wrapping_add(black_box(
                trevm_native::embassy_time::Instant::now().as_millis(),
            ));
        }
        black_box(sum);
        s.push(nanos(t.elapsed()) / f64::from(calls));
    }
    s
}

#[inline(never)]
fn noop() {}

/// An empty function called through `black_box`, so the call is really made.
fn native_noop(calls: u32, runs: usize) -> Samples {
    let f: fn() = noop;
    let mut s = Samples::default();
    for _ in 0..runs {
        let t = Instant::now();
        for _ in 0..calls {
            black_box(f)();
        }
        s.push(nanos(t.elapsed()) / f64::from(calls));
    }
    s
}
