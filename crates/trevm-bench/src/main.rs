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
//! capsule sizes, the peers on the same work (trevm's Pulley and wasmi providers, bare wasmi,
//! wasm3) with a table of what trevm's seam costs against bare wasmi, and what CoAP security
//! (EDHOC + OSCORE) costs against plain CoAP. Each figure
//! is the median of N runs, N printed next to it. Progress goes to stderr, the tables to stdout.
//! This is a measuring tool, not a test: nothing here asserts on time.
//! See `docs/bench.md` for a recorded run and how to read it.
#![forbid(unsafe_code)]

mod call_table;
mod calls;
mod capsules;
mod coap;
mod cold;
mod compute;
mod device;
mod peers;
mod plan;
mod report;
mod seam;
mod util;

use std::path::{Path, PathBuf};
use std::time::Duration;

use trevm::{EngineProfile, Limits, Preemption, Runtime, RuntimeOptions, Target};
use trevm_native::NativeBoard;

use call_table::Caller;
use capsules::Example;
use cold::cold_start;
use compute::{fib_capsule, fib_native};
use plan::Plan;
use report::{Table, ratio, time};
use util::{Result, build_examples, print_machine, profile_name, progress};

/// How often the epoch ticker thread advances the epoch of an epoch-preempted engine.
const EPOCH_TICK: Duration = Duration::from_millis(10);

const HOST_NONE: EngineProfile = EngineProfile {
    target: Target::Host,
    preemption: Preemption::None,
};
const P64_NONE: EngineProfile = EngineProfile::pulley64(Preemption::None);
const P64_FUEL: EngineProfile = EngineProfile::pulley64(Preemption::Fuel);
const P64_EPOCH: EngineProfile = EngineProfile::pulley64(Preemption::Epoch);
const WI_FUEL: EngineProfile = EngineProfile::wasmi(Preemption::Fuel);
const WI_NONE: EngineProfile = EngineProfile::wasmi(Preemption::None);

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
    let bench = Bench::new(plan, &root, build_examples(&root)?)?;
    print_machine();
    if plan.quick {
        println!(
            "`--quick`: a smoke run with fewer and smaller iterations; not for comparisons.\n"
        );
    }
    // Each section is printed as soon as it is measured.
    println!("{}", bench.fib()?);
    println!("{}", bench.cold_start()?);
    let (calls, mut seam_rows) = bench.call_costs()?;
    println!("{calls}");
    println!("{}", bench.sizes());
    let (peers, peer_rows) = peers::compare(&root, plan.quick).map_err(|e| format!("{e:#}"))?;
    println!("{peers}");
    seam_rows.splice(0..0, peer_rows);
    println!("{}", seam::render(&seam_rows));
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
    wi_fuel: Runtime,
    wi_none: Runtime,
    /// `bench-calls` as wasmi capsules, with fuel and without.
    calls_wi_fuel: Vec<u8>,
    calls_wi_none: Vec<u8>,
}

impl Bench {
    fn new(plan: Plan, root: &Path, examples: Vec<Example>) -> Result<Self> {
        progress("building bench-calls for wasmi, with fuel and without");
        let calls_wi_fuel = capsules::build_one(root, "bench-calls", WI_FUEL)?;
        let calls_wi_none = capsules::build_one(root, "bench-calls", WI_NONE)?;
        progress("creating engines");
        Ok(Bench {
            plan,
            examples,
            board: NativeBoard::new(),
            host: runtime(HOST_NONE)?,
            p64_none: runtime(P64_NONE)?,
            p64_fuel: runtime(P64_FUEL)?,
            p64_epoch: runtime(P64_EPOCH)?,
            wi_fuel: runtime(WI_FUEL)?,
            wi_none: runtime(WI_NONE)?,
            calls_wi_fuel,
            calls_wi_none,
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
            "check (from_slice)",
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

    /// Calls from the `bench-calls` capsule into the host and from the host into the capsule,
    /// and the rows of the seam table they give.
    fn call_costs(&self) -> Result<(String, Vec<seam::Row>)> {
        let plan = &self.plan;
        let default = Limits::new();
        let calls = self.example("bench-calls");
        let p64 = |rt: &'_ Runtime| calls.capsule(rt.profile());
        let rows: [(&str, Caller, Limits); 8] = [
            (
                "Cranelift native code, no preemption",
                Caller::Trevm(&self.host, p64(&self.host)),
                default,
            ),
            (
                "Pulley64, no preemption",
                Caller::Trevm(&self.p64_none, p64(&self.p64_none)),
                default,
            ),
            (
                "Pulley64, fuel",
                Caller::Trevm(&self.p64_fuel, p64(&self.p64_fuel)),
                default,
            ),
            (
                "Pulley64, epoch",
                Caller::Trevm(&self.p64_epoch, p64(&self.p64_epoch)),
                default,
            ),
            ("bare wasmi 2.0, fuel", Caller::Bare(true), default),
            (
                "trevm wasmi, fuel",
                Caller::Trevm(&self.wi_fuel, &self.calls_wi_fuel),
                default,
            ),
            ("bare wasmi 2.0, no fuel", Caller::Bare(false), default),
            (
                "trevm wasmi, no fuel",
                Caller::Trevm(&self.wi_none, &self.calls_wi_none),
                default,
            ),
        ];
        call_table::measure(
            plan,
            &self.board,
            &rows,
            &self.calls_wi_fuel,
            &self.calls_wi_none,
        )
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
