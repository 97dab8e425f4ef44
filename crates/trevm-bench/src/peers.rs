//! Peers on the same work: native Rust, trevm's Pulley64 (with fuel, and without preemption),
//! wasmi 2.0 (with and without fuel) and wasm3 run the three workloads of `payloads/bench-work` —
//! one source, `work.rs`, compiled natively here and into the capsule (trevm) or its core module
//! (wasmi, wasm3). Also each peer's cold start (module ready → first call possible) and the cost of one
//! host→guest call of a function that does nothing (`fib(0)`).

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use futures_executor::block_on;
use trevm::{EngineProfile, Grants, HostState, Limits, Preemption, Runtime, RuntimeOptions};

use crate::report::{Samples, Table, ratio, time};
use crate::util::{nanos, progress};

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

struct Wasm3 {
    runtime: wasm3::Runtime,
}

impl Peer for Wasm3 {
    fn call(&mut self, export: &str, (a, b): (u32, u32)) -> Result<u32> {
        let w3 = |e: wasm3::error::Error| anyhow!("wasm3: {e}");
        if export == "fib" {
            let f = self.runtime.find_function::<u32, u32>(export).map_err(w3)?;
            f.call(a).map_err(w3)
        } else {
            let f = self
                .runtime
                .find_function::<(u32, u32), u32>(export)
                .map_err(w3)?;
            f.call(a, b).map_err(w3)
        }
    }
}

/// A wasm3 runtime (64 KiB of value stack) with `module` loaded.
fn wasm3_instance(module: &[u8]) -> Result<Wasm3> {
    let w3 = |e: wasm3::error::Error| anyhow!("wasm3: {e}");
    let env = wasm3::Environment::new().map_err(w3)?;
    let runtime = env.create_runtime(64 * 1024).map_err(w3)?;
    runtime.parse_and_load_module(module.to_vec()).map_err(w3)?;
    Ok(Wasm3 { runtime })
}

/// `module` with its memories declared in 64 KiB pages, enough for their initial size in bytes.
/// wasm3 0.3.1 predates custom page sizes and reads a 1-byte page count as 64 KiB pages (28 672
/// of them: 1.8 GB for bench-work). The workloads never grow memory, so the declared page size
/// does not change what they compute.
fn with_64k_pages(module: &[u8]) -> Result<Vec<u8>> {
    let mut out = module.get(..8).context("not a module")?.to_vec();
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        let payload = payload?;
        let Some((id, range)) = payload.as_section() else {
            continue;
        };
        let content = if let wasmparser::Payload::MemorySection(reader) = &payload {
            let mut content = Vec::new();
            leb128(&mut content, u64::from(reader.count()));
            for memory in reader.clone() {
                let memory = memory?;
                let bytes = memory.initial << memory.page_size_log2();
                content.push(0x00); // no maximum, not shared, 32-bit, default page size
                leb128(&mut content, bytes.div_ceil(65536));
            }
            content
        } else {
            module.get(range).context("section out of range")?.to_vec()
        };
        out.push(id);
        leb128(&mut out, u64::try_from(content.len())?);
        out.extend_from_slice(&content);
    }
    Ok(out)
}

fn leb128(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
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
    let module64 = with_64k_pages(&module)?;

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
        (
            "wasm3 0.3.1 (no preemption)",
            Box::new(|| Ok(Box::new(wasm3_instance(&module64)?) as Box<dyn Peer>)),
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
    // Each row uses the constructor of the peer it names in `peers`, and says what its cold start
    // does.
    let cold_rows = [
        (
            "trevm Pulley64, fuel (check, verify, load, instantiate)",
            "trevm Pulley64, fuel",
            fuel.len(),
        ),
        (
            "wasmi 2.0, fuel (validate, translate lazily, instantiate)",
            "wasmi 2.0, fuel",
            module.len(),
        ),
        ("wasmi 2.0, no fuel", "wasmi 2.0, no fuel", module.len()),
        (
            "wasm3 0.3.1 (parse, load; compiles each function at its first call)",
            "wasm3 0.3.1 (no preemption)",
            module64.len(),
        ),
    ];
    for (name, peer, bytes) in &cold_rows {
        let make = &peers
            .iter()
            .find(|(n, _)| n == peer)
            .with_context(|| format!("no peer named {peer}"))?
            .1;
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
    let mut cost = Table::new(&[
        &format!("host→guest `fib(0)` ×{calls} (typed, export found by name)"),
        "per call",
        "runs",
    ])
    .left(0);
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
