//! Peers on the same work: native Rust, trevm's Pulley64 (with fuel, and without preemption) and
//! wasmi 2.0 (with and without fuel) run the three workloads of `payloads/bench-work` — one
//! source, `work.rs`, compiled natively here and into the capsule (trevm) or its core module
//! (wasmi). Also each peer's cold start (module ready → first call possible) and the cost of one
//! host→guest call of a function that does nothing (`fib(0)`).

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use futures_executor::block_on;
use trevm::{EngineProfile, Grants, HostState, Limits, Preemption, Runtime, RuntimeOptions};

use crate::report::{Samples, Table, ratio, time};
use crate::{nanos, progress};

#[path = "../../../payloads/bench-work/src/work.rs"]
mod work;

/// One workload: its name as a row label, the export, its arguments.
struct Workload {
    label: String,
    export: &'static str,
    args: (u32, u32),
}

/// What runs a workload: a call of `export(args)` returning the checksum.
trait Peer {
    fn call(&mut self, export: &str, args: (u32, u32)) -> Result<u32>;
}

struct Native {
    buf: Box<[u32; work::MAX_SORT]>,
}

impl Peer for Native {
    fn call(&mut self, export: &str, (a, b): (u32, u32)) -> Result<u32> {
        Ok(match export {
            "fib" => work::fib(black_box(a)),
            "heapsort" => work::heapsort(&mut self.buf, black_box(a), b),
            "sha256" => work::sha256(black_box(a), b),
            other => return Err(anyhow!("no workload {other}")),
        })
    }
}

struct Trevm {
    instance: trevm::Instance,
}

impl Peer for Trevm {
    fn call(&mut self, export: &str, (a, b): (u32, u32)) -> Result<u32> {
        let r = if export == "fib" {
            block_on(self.instance.call_typed::<(u32,), (u32,)>(export, (a,)))
        } else {
            block_on(
                self.instance
                    .call_typed::<(u32, u32), (u32,)>(export, (a, b)),
            )
        };
        Ok(r.map_err(|e| anyhow!("{e}"))?.0)
    }
}

struct Wasmi {
    store: wasmi::Store<()>,
    instance: wasmi::Instance,
}

impl Peer for Wasmi {
    fn call(&mut self, export: &str, (a, b): (u32, u32)) -> Result<u32> {
        if export == "fib" {
            let f = self
                .instance
                .get_typed_func::<u32, u32>(&self.store, export)?;
            Ok(f.call(&mut self.store, a)?)
        } else {
            let f = self
                .instance
                .get_typed_func::<(u32, u32), u32>(&self.store, export)?;
            Ok(f.call(&mut self.store, (a, b))?)
        }
    }
}

/// A wasmi instance of `module`, with fuel metering if `fuel` (and fuel enough for anything).
fn wasmi_instance(module: &[u8], fuel: bool) -> Result<Wasmi> {
    let mut config = wasmi::Config::default();
    config.wasm_custom_page_sizes(true).consume_fuel(fuel);
    let engine = wasmi::Engine::new(&config);
    let module = wasmi::Module::new(&engine, module)?;
    let mut store = wasmi::Store::new(&engine, ());
    if fuel {
        store.set_fuel(u64::MAX)?;
    }
    let instance = wasmi::Linker::new(&engine).instantiate_and_start(&mut store, &module)?;
    Ok(Wasmi { store, instance })
}

/// A trevm instance of the bench-work capsule for `profile`.
fn trevm_instance(capsule: &[u8], profile: EngineProfile) -> Result<Trevm> {
    let runtime = Runtime::new(profile, RuntimeOptions::host().with_grants(Grants::none()))
        .map_err(|e| anyhow!("{e}"))?;
    let checked = trevm::Capsule::from_vec(capsule.to_vec()).map_err(|e| anyhow!("{e}"))?;
    let verified = crate::capsules::policy()
        .verify(checked, &trevm::VersionLedger::default())
        .map_err(|e| anyhow!("{e}"))?;
    let loaded = runtime.load(&verified).map_err(|e| anyhow!("{e}"))?;
    let instance =
        block_on(runtime.instantiate(&loaded, HostState::new("bench-work"), Limits::new()))
            .map_err(|e| anyhow!("{e}"))?;
    Ok(Trevm { instance })
}

/// Times `runs` calls after one warm-up; every result must equal `expected` (if given).
fn measure(
    peer: &mut dyn Peer,
    w: &Workload,
    runs: usize,
    expected: Option<u32>,
) -> Result<(Samples, u32)> {
    let first = peer.call(w.export, w.args)?;
    if let Some(e) = expected
        && e != first
    {
        return Err(anyhow!("{}: {first} instead of {e}", w.label));
    }
    let mut s = Samples::default();
    for _ in 0..runs {
        let t = Instant::now();
        black_box(peer.call(w.export, black_box(w.args))?);
        s.push(nanos(t.elapsed()));
    }
    Ok((s, first))
}

/// The peers table (workloads × peers), the cold-start table and the call-cost table.
pub fn compare(root: &Path, quick: bool) -> Result<String> {
    let payload = root.join("payloads/bench-work");
    progress("peers: building payloads/bench-work (capsules and core module)");
    let fuel = crate::capsules::build_one(
        root,
        "bench-work",
        EngineProfile::pulley64(Preemption::Fuel),
    )
    .map_err(|e| anyhow!("{e}"))?;
    let none = crate::capsules::build_one(
        root,
        "bench-work",
        EngineProfile::pulley64(Preemption::None),
    )
    .map_err(|e| anyhow!("{e}"))?;
    let opts = trevm_build::BuildOptions {
        quiet: true,
        ..Default::default()
    };
    let module = trevm_build::build_core_module(&payload, &opts).context("the core module")?;

    let (fib_n, sort_n, hash_n, runs) = if quick {
        (20, 1024, 4096, 5)
    } else {
        (30, 4096, 64 * 1024, 11)
    };
    let workloads = [
        Workload {
            label: format!("fib({fib_n}), recursive"),
            export: "fib",
            args: (fib_n, 0),
        },
        Workload {
            label: format!("heapsort of {sort_n} u32"),
            export: "heapsort",
            args: (sort_n, 7),
        },
        Workload {
            label: format!("SHA-256 of {} KiB", hash_n / 1024),
            export: "sha256",
            args: (hash_n, 7),
        },
    ];
    type Make<'a> = Box<dyn Fn() -> Result<Box<dyn Peer>> + 'a>;
    let peers: Vec<(&str, Make)> = vec![
        (
            "native Rust",
            Box::new(|| {
                Ok(Box::new(Native {
                    buf: Box::new([0; work::MAX_SORT]),
                }) as Box<dyn Peer>)
            }),
        ),
        (
            "trevm Pulley64, fuel",
            Box::new(|| {
                Ok(Box::new(trevm_instance(
                    &fuel,
                    EngineProfile::pulley64(Preemption::Fuel),
                )?) as Box<dyn Peer>)
            }),
        ),
        (
            "trevm Pulley64, no preemption",
            Box::new(|| {
                Ok(Box::new(trevm_instance(
                    &none,
                    EngineProfile::pulley64(Preemption::None),
                )?) as Box<dyn Peer>)
            }),
        ),
        (
            "wasmi 2.0, fuel",
            Box::new(|| Ok(Box::new(wasmi_instance(&module, true)?) as Box<dyn Peer>)),
        ),
        (
            "wasmi 2.0, no fuel",
            Box::new(|| Ok(Box::new(wasmi_instance(&module, false)?) as Box<dyn Peer>)),
        ),
    ];

    let mut headers = vec!["peer".to_string()];
    for w in &workloads {
        headers.push(w.label.clone());
        headers.push("vs native".into());
    }
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let mut table = Table::new(&header_refs).left(0);
    let mut native: Vec<(f64, u32)> = Vec::new();
    for (name, make) in &peers {
        let mut peer = make()?;
        let mut row = vec![name.to_string()];
        for (i, w) in workloads.iter().enumerate() {
            progress(&format!("peers: {} on {name}, {runs} runs", w.label));
            let expected = native.get(i).map(|(_, r)| *r);
            let (s, result) = measure(peer.as_mut(), w, runs, expected)?;
            if native.len() <= i {
                native.push((s.median(), result));
            }
            row.push(time(s.median()));
            row.push(ratio(s.median(), native[i].0));
        }
        table.row(row);
    }

    // Cold start: from the module bytes in memory to an instance ready for its first call.
    let mut cold = Table::new(&["peer", "module bytes", "ready to call (median)", "runs"]).left(0);
    let cold_runs = if quick { 5 } else { 21 };
    let cold_rows: [(&str, usize, Make); 3] = [
        (
            "trevm Pulley64, fuel (check, verify, load, instantiate)",
            fuel.len(),
            Box::new(|| {
                Ok(Box::new(trevm_instance(
                    &fuel,
                    EngineProfile::pulley64(Preemption::Fuel),
                )?) as Box<dyn Peer>)
            }),
        ),
        (
            "wasmi 2.0, fuel (validate, translate lazily, instantiate)",
            module.len(),
            Box::new(|| Ok(Box::new(wasmi_instance(&module, true)?) as Box<dyn Peer>)),
        ),
        (
            "wasmi 2.0, no fuel",
            module.len(),
            Box::new(|| Ok(Box::new(wasmi_instance(&module, false)?) as Box<dyn Peer>)),
        ),
    ];
    for (name, bytes, make) in &cold_rows {
        progress(&format!("peers: cold start of {name}, {cold_runs} runs"));
        let mut s = Samples::default();
        for _ in 0..cold_runs {
            let t = Instant::now();
            black_box(make()?);
            s.push(nanos(t.elapsed()));
        }
        cold.row(vec![
            name.to_string(),
            bytes.to_string(),
            time(s.median()),
            s.len().to_string(),
        ]);
    }

    // One host→guest call that does no work: fib(0), a typed call on a live instance.
    let calls = if quick { 10_000 } else { 100_000 };
    let mut cost =
        Table::new(&[&format!("host→guest `fib(0)` ×{calls}"), "per call", "runs"]).left(0);
    for (name, make) in &peers {
        let mut peer = make()?;
        progress(&format!("peers: call cost on {name}"));
        let mut s = Samples::default();
        for _ in 0..5 {
            let t = Instant::now();
            for _ in 0..calls {
                black_box(peer.call("fib", black_box((0, 0)))?);
            }
            s.push(nanos(t.elapsed()) / calls as f64);
        }
        cost.row(vec![
            name.to_string(),
            time(s.median()),
            s.len().to_string(),
        ]);
    }

    Ok(format!(
        "### Peers on the same work (payloads/bench-work)\n\n{}\n\
         Medians of {runs} runs after a warm-up call; every peer's checksum equals native Rust's.\n\n\
         ### Cold start of each peer\n\n{}\n### Call cost of each peer\n\n{}",
        table.render(),
        cold.render(),
        cost.render()
    ))
}
