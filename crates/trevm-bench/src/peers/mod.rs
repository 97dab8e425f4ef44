//! Peers on the same work: native Rust, trevm's Pulley64 (with fuel, and without preemption),
//! trevm's wasmi provider (with fuel, and without), bare wasmi 2.0 (with and without fuel,
//! configured like trevm's provider) and wasm3 run the three workloads of `payloads/bench-work` —
//! one source, `work.rs`, compiled natively here and into the capsules (trevm) or their core
//! module (bare wasmi, wasm3). Also each peer's cold start (bytes in memory → first call
//! possible) and the cost of one host→guest call of a function that does nothing (`fib(0)`).
//!
//! - `kinds.rs`: the peers and how each runs a workload;
//! - `cold.rs`: cold start, step by step.

mod cold;
mod kinds;

use std::collections::HashMap;
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use anyhow::{Result, anyhow};
use trevm::{EngineProfile, Limits, Preemption};

use crate::report::{Samples, Table, ratio, time};
use crate::seam;
use crate::util::{nanos, progress};
use cold::{ColdPeer, cold_start};
pub(crate) use kinds::wasmi_engine;
use kinds::{
    Native, Peer, Workload, trevm_instance, trevm_runtime, wasm3_instance, wasmi_instance,
    with_64k_pages, work,
};

const TREVM_P64_FUEL: &str = "trevm Pulley64, fuel";
const TREVM_P64_NONE: &str = "trevm Pulley64, no preemption";
const BARE_FUEL: &str = "wasmi 2.0, fuel";
const TREVM_WI_FUEL: &str = "trevm wasmi, fuel";
const TREVM_WI_FUEL_NO_YIELD: &str = "trevm wasmi, fuel (never yields)";
const BARE_NONE: &str = "wasmi 2.0, no fuel";
const TREVM_WI_NONE: &str = "trevm wasmi, no fuel";
const WASM3: &str = "wasm3 0.3.1 (no preemption)";

/// The pairs of the seam table: (bare wasmi peer, trevm wasmi peer, label).
const PAIRS: [(&str, &str, &str); 3] = [
    (BARE_FUEL, TREVM_WI_FUEL, "fuel"),
    (BARE_FUEL, TREVM_WI_FUEL_NO_YIELD, "fuel, never yields"),
    (BARE_NONE, TREVM_WI_NONE, "no fuel"),
];

/// Times `runs` calls of `w` on every peer, round-robin (one call on each peer, then the next
/// round), so that every peer sees the same drift of this shared machine; after one warm-up call
/// on each, whose result must equal the first peer's (native Rust's). The samples, per peer.
fn measure_round_robin(
    peers: &mut [Box<dyn Peer>],
    w: &Workload,
    runs: usize,
) -> Result<Vec<Samples>> {
    let mut expected = None;
    for peer in peers.iter_mut() {
        let first = peer.call(w.export, w.args)?;
        match expected {
            None => expected = Some(first),
            Some(e) if e != first => {
                return Err(anyhow!("{}: {first} instead of {e}", w.label));
            }
            Some(_) => {}
        }
    }
    let mut samples: Vec<Samples> = peers.iter().map(|_| Samples::default()).collect();
    for _ in 0..runs {
        for (peer, s) in peers.iter_mut().zip(&mut samples) {
            let t = Instant::now();
            black_box(peer.call(w.export, black_box(w.args))?);
            s.push(nanos(t.elapsed()));
        }
    }
    Ok(samples)
}

/// The peers table (workloads × peers), the cold-start table and the call-cost table, and the
/// rows of the seam table they give.
pub fn compare(root: &Path, quick: bool) -> Result<(String, Vec<seam::Row>)> {
    progress("peers: building payloads/bench-work (capsules and core module)");
    let build = |profile| {
        crate::capsules::build_one(root, "bench-work", profile).map_err(|e| anyhow!("{e}"))
    };
    let p64_fuel = build(EngineProfile::pulley64(Preemption::Fuel))?;
    let p64_none = build(EngineProfile::pulley64(Preemption::None))?;
    let wi_fuel = build(EngineProfile::wasmi(Preemption::Fuel))?;
    let wi_none = build(EngineProfile::wasmi(Preemption::None))?;
    // Bare wasmi and wasm3 run the very module trevm's wasmi capsules carry (the core module
    // without its WIT world).
    let module = trevm::Capsule::from_slice(&wi_fuel)
        .map_err(|e| anyhow!("{e}"))?
        .payload()
        .to_vec();
    let module64 = with_64k_pages(&module)?;

    let rt_p64_fuel = trevm_runtime(EngineProfile::pulley64(Preemption::Fuel))?;
    let rt_p64_none = trevm_runtime(EngineProfile::pulley64(Preemption::None))?;
    let rt_wi_fuel = trevm_runtime(EngineProfile::wasmi(Preemption::Fuel))?;
    let rt_wi_none = trevm_runtime(EngineProfile::wasmi(Preemption::None))?;
    let wasmi_fuel = wasmi_engine(true);
    let wasmi_none = wasmi_engine(false);
    let no_yield = Limits::new().with_yield_interval(u64::MAX);

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
    let trevm = |rt, capsule, limits| -> Make {
        Box::new(move || Ok(Box::new(trevm_instance(rt, capsule, limits)?) as Box<dyn Peer>))
    };
    let module_ref: &[u8] = &module;
    let bare = |engine, fuel| -> Make {
        Box::new(move || Ok(Box::new(wasmi_instance(engine, fuel, module_ref)?) as Box<dyn Peer>))
    };
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
            TREVM_P64_FUEL,
            trevm(&rt_p64_fuel, &p64_fuel, Limits::new()),
        ),
        (
            TREVM_P64_NONE,
            trevm(&rt_p64_none, &p64_none, Limits::new()),
        ),
        (BARE_FUEL, bare(&wasmi_fuel, true)),
        (TREVM_WI_FUEL, trevm(&rt_wi_fuel, &wi_fuel, Limits::new())),
        (
            TREVM_WI_FUEL_NO_YIELD,
            trevm(&rt_wi_fuel, &wi_fuel, no_yield),
        ),
        (BARE_NONE, bare(&wasmi_none, false)),
        (TREVM_WI_NONE, trevm(&rt_wi_none, &wi_none, Limits::new())),
        (
            WASM3,
            Box::new(|| Ok(Box::new(wasm3_instance(&module64)?) as Box<dyn Peer>)),
        ),
    ];
    let median_of = |m: &HashMap<(&str, usize), f64>, peer: &str, i: usize| {
        m.get(&(peer, i)).copied().unwrap_or(0.0)
    };

    let mut headers = vec!["peer".to_string()];
    for w in &workloads {
        headers.push(w.label.clone());
        headers.push("vs native".into());
    }
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let mut table = Table::new(&header_refs).left(0);
    let mut medians: HashMap<(&str, usize), f64> = HashMap::new();
    let mut live = peers
        .iter()
        .map(|(_, make)| make())
        .collect::<Result<Vec<_>>>()?;
    let mut rows: Vec<Vec<String>> = peers.iter().map(|(n, _)| vec![n.to_string()]).collect();
    for (i, w) in workloads.iter().enumerate() {
        progress(&format!(
            "peers: {} on {} peers, {runs} rounds",
            w.label,
            peers.len()
        ));
        let samples = measure_round_robin(&mut live, w, runs)?;
        let native = samples[0].median();
        for (((name, _), s), row) in peers.iter().zip(&samples).zip(&mut rows) {
            medians.insert((name, i), s.median());
            row.push(time(s.median()));
            row.push(ratio(s.median(), native));
        }
    }
    drop(live);
    for row in rows {
        table.row(row);
    }
    let mut seam_rows = Vec::new();
    for (i, w) in workloads.iter().enumerate() {
        for (b, t, label) in PAIRS {
            seam_rows.push(seam::Row::new(
                format!("{}, {label}", w.label),
                median_of(&medians, b, i),
                median_of(&medians, t, i),
            ));
        }
    }

    // Cold start: from the bytes in memory to an instance ready for its first call.
    let cold_runs = if quick { 5 } else { 21 };
    let cold_rows: [(&str, usize, ColdPeer); 6] = [
        (
            TREVM_P64_FUEL,
            p64_fuel.len(),
            ColdPeer::Trevm {
                runtime: &rt_p64_fuel,
                capsule: &p64_fuel,
            },
        ),
        (
            BARE_FUEL,
            module.len(),
            ColdPeer::Wasmi {
                engine: &wasmi_fuel,
                fuel: true,
                module: &module,
            },
        ),
        (
            TREVM_WI_FUEL,
            wi_fuel.len(),
            ColdPeer::Trevm {
                runtime: &rt_wi_fuel,
                capsule: &wi_fuel,
            },
        ),
        (
            BARE_NONE,
            module.len(),
            ColdPeer::Wasmi {
                engine: &wasmi_none,
                fuel: false,
                module: &module,
            },
        ),
        (
            TREVM_WI_NONE,
            wi_none.len(),
            ColdPeer::Trevm {
                runtime: &rt_wi_none,
                capsule: &wi_none,
            },
        ),
        (WASM3, module64.len(), ColdPeer::Wasm3 { module: &module64 }),
    ];
    let mut cold = Table::new(&[
        "peer",
        "bytes",
        "check + verify",
        "load / `Module::new`",
        "instantiate",
        "ready to call",
        "runs",
    ])
    .left(0);
    let mut cold_medians: HashMap<&str, f64> = HashMap::new();
    let cell = |s: &Option<Samples>| s.as_ref().map_or_else(|| "–".into(), |s| time(s.median()));
    for (name, bytes, peer) in &cold_rows {
        progress(&format!("peers: cold start of {name}, {cold_runs} runs"));
        let c = cold_start(peer, cold_runs)?;
        if let Some(s) = &c.load_instantiate {
            cold_medians.insert(name, s.median());
        }
        cold.row(vec![
            name.to_string(),
            bytes.to_string(),
            cell(&c.check_verify),
            cell(&c.load),
            cell(&c.instantiate),
            time(c.total.median()),
            c.total.len().to_string(),
        ]);
    }
    for (b, t, label) in [PAIRS[0], PAIRS[2]] {
        seam_rows.push(seam::Row::new(
            format!("cold start, load + instantiate, {label}"),
            cold_medians.get(b).copied().unwrap_or(0.0),
            cold_medians.get(t).copied().unwrap_or(0.0),
        ));
    }

    // One host→guest call that does no work: fib(0), a typed call on a live instance.
    let calls = if quick { 10_000 } else { 100_000 };
    let mut cost = Table::new(&[
        &format!("host→guest `fib(0)` ×{calls} (typed, export found by name)"),
        "per call",
        "runs",
    ])
    .left(0);
    let mut call_medians: HashMap<(&str, usize), f64> = HashMap::new();
    for (name, make) in &peers {
        let mut peer = make()?;
        progress(&format!("peers: call cost on {name}"));
        // Warm-up.
        for _ in 0..calls / 10 {
            black_box(peer.call("fib", black_box((0, 0)))?);
        }
        let mut s = Samples::default();
        for _ in 0..5 {
            let t = Instant::now();
            for _ in 0..calls {
                black_box(peer.call("fib", black_box((0, 0)))?);
            }
            s.push(nanos(t.elapsed()) / calls as f64);
        }
        call_medians.insert((name, 0), s.median());
        cost.row(vec![
            name.to_string(),
            time(s.median()),
            s.len().to_string(),
        ]);
    }
    for (b, t, label) in [PAIRS[0], PAIRS[2]] {
        seam_rows.push(seam::Row::new(
            format!("host→guest typed `fib(0)`, {label}"),
            median_of(&call_medians, b, 0),
            median_of(&call_medians, t, 0),
        ));
    }

    let out = format!(
        "### Peers on the same work (payloads/bench-work)\n\n{}\n\
         Medians of {runs} runs after a warm-up call, the peers taking turns call by call; every \
         peer's checksum equals native Rust's. \
         Bare wasmi is configured like trevm's wasmi provider (eager translation, custom page \
         sizes, fuel on or off alike) and never yields; trevm with fuel yields every 10 000 units \
         unless it says otherwise.\n\n\
         ### Cold start of each peer\n\n{}\n\
         From the bytes in memory (a signed capsule for trevm, the capsule's module for the \
         others); engines and runtimes are made beforehand.\n\n\
         ### Call cost of each peer\n\n{}",
        table.render(),
        cold.render(),
        cost.render()
    );
    Ok((out, seam_rows))
}
