//! Cold start of each peer: from the module or capsule bytes in memory to an instance ready for
//! its first call. Engines and runtimes are made once beforehand, as a device makes its runtime
//! once at boot; each run starts from the bytes.

use std::hint::black_box;
use std::time::Instant;

use anyhow::{Result, anyhow};
use futures_executor::block_on;
use trevm::{Capsule, HostState, Limits, Runtime, VersionLedger};

use super::kinds::wasm3_instance;
use crate::report::Samples;
use crate::util::nanos;

/// What starts cold.
pub(super) enum ColdPeer<'a> {
    /// A signed capsule through `trevm::Runtime`: check, verify, load, instantiate.
    Trevm {
        runtime: &'a Runtime,
        capsule: &'a [u8],
    },
    /// A core module on a bare wasmi engine: `Module::new` (validate, translate), instantiate.
    Wasmi {
        engine: &'a wasmi::Engine,
        fuel: bool,
        module: &'a [u8],
    },
    /// A core module on wasm3: environment, runtime, parse and load, all in one.
    Wasm3 { module: &'a [u8] },
}

/// Each step's samples, per run; `None` where the peer has no such step (or it is not
/// separable).
pub(super) struct Cold {
    /// trevm: `Capsule::from_slice` + `TrustPolicy::verify`.
    pub(super) check_verify: Option<Samples>,
    /// trevm: `Runtime::load`; wasmi: `Module::new`.
    pub(super) load: Option<Samples>,
    /// trevm: `Runtime::instantiate`; wasmi: a store (with fuel) and `instantiate_and_start`.
    pub(super) instantiate: Option<Samples>,
    /// load + instantiate of each run: what trevm's seam adds to, against bare wasmi.
    pub(super) load_instantiate: Option<Samples>,
    /// Every step of each run.
    pub(super) total: Samples,
}

pub(super) fn cold_start(peer: &ColdPeer<'_>, runs: usize) -> Result<Cold> {
    let mut check_verify = Samples::default();
    let mut load = Samples::default();
    let mut instantiate = Samples::default();
    let mut load_instantiate = Samples::default();
    let mut total = Samples::default();
    match *peer {
        ColdPeer::Trevm { runtime, capsule } => {
            let policy = crate::capsules::policy();
            let e = |e: &dyn std::fmt::Display| anyhow!("{e}");
            for _ in 0..runs {
                let t0 = Instant::now();
                let checked = Capsule::from_slice(capsule).map_err(|x| e(&x))?;
                let verified = policy
                    .verify(checked, &VersionLedger::new())
                    .map_err(|x| e(&x))?;
                let t1 = Instant::now();
                let loaded = runtime.load(&verified).map_err(|x| e(&x))?;
                let t2 = Instant::now();
                let instance = block_on(runtime.instantiate(
                    &loaded,
                    HostState::new("bench-work"),
                    Limits::new(),
                ))
                .map_err(|x| e(&x))?;
                let t3 = Instant::now();
                black_box(&instance);
                check_verify.push(nanos(t1 - t0));
                load.push(nanos(t2 - t1));
                instantiate.push(nanos(t3 - t2));
                load_instantiate.push(nanos(t3 - t1));
                total.push(nanos(t3 - t0));
            }
            Ok(Cold {
                check_verify: Some(check_verify),
                load: Some(load),
                instantiate: Some(instantiate),
                load_instantiate: Some(load_instantiate),
                total,
            })
        }
        ColdPeer::Wasmi {
            engine,
            fuel,
            module,
        } => {
            let linker = wasmi::Linker::<()>::new(engine);
            for _ in 0..runs {
                let t0 = Instant::now();
                let m = wasmi::Module::new(engine, module)?;
                let t1 = Instant::now();
                let mut store = wasmi::Store::new(engine, ());
                if fuel {
                    store.set_fuel(u64::MAX)?;
                }
                let instance = linker.instantiate_and_start(&mut store, &m)?;
                let t2 = Instant::now();
                black_box(&instance);
                load.push(nanos(t1 - t0));
                instantiate.push(nanos(t2 - t1));
                load_instantiate.push(nanos(t2 - t0));
                total.push(nanos(t2 - t0));
            }
            Ok(Cold {
                check_verify: None,
                load: Some(load),
                instantiate: Some(instantiate),
                load_instantiate: Some(load_instantiate),
                total,
            })
        }
        ColdPeer::Wasm3 { module } => {
            for _ in 0..runs {
                let t0 = Instant::now();
                let w3 = wasm3_instance(module)?;
                total.push(nanos(t0.elapsed()));
                black_box(&w3);
            }
            Ok(Cold {
                check_verify: None,
                load: None,
                instantiate: None,
                load_instantiate: None,
                total,
            })
        }
    }
}
