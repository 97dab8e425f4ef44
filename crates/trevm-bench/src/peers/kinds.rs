//! The peers of the peer table and what runs a workload on each: native Rust, trevm (through
//! `trevm::Runtime`, any provider), bare wasmi 2.0 (configured like trevm's wasmi provider) and
//! wasm3.

use std::hint::black_box;

use anyhow::{Context, Result, anyhow};
use futures_executor::block_on;
use trevm::{EngineProfile, Grants, HostState, Limits, Runtime, RuntimeOptions};

#[path = "../../../../payloads/bench-work/src/work.rs"]
pub(super) mod work;

/// One workload: its name as a row label, the export, its arguments.
pub(super) struct Workload {
    pub(super) label: String,
    pub(super) export: &'static str,
    pub(super) args: (u32, u32),
}

/// What runs a workload: a call of `export(args)` returning the checksum.
pub(super) trait Peer {
    fn call(&mut self, export: &str, args: (u32, u32)) -> Result<u32>;
}

pub(super) struct Native {
    pub(super) buf: Box<[u32; work::MAX_SORT]>,
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

pub(super) struct Trevm {
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

pub(super) struct Wasmi {
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

pub(super) struct Wasm3 {
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
pub(super) fn wasm3_instance(module: &[u8]) -> Result<Wasm3> {
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
pub(super) fn with_64k_pages(module: &[u8]) -> Result<Vec<u8>> {
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

/// A bare wasmi engine configured like trevm's wasmi provider (`crates/trevm/src/runtime/wasmi/
/// mod.rs` with `RuntimeOptions::host()`): fuel metering if `fuel`, eager translation, custom
/// page sizes, no tail calls, no start function, a 256 KiB value stack, one cached stack,
/// wasmi's strict enforced limits.
pub(crate) fn wasmi_engine(fuel: bool) -> wasmi::Engine {
    let mut config = wasmi::Config::default();
    config
        .consume_fuel(fuel)
        .compilation_mode(wasmi::CompilationMode::Eager)
        .wasm_custom_page_sizes(true)
        .wasm_tail_call(false)
        .allow_start_fn(false)
        .set_max_stack_height(RuntimeOptions::host().max_wasm_stack)
        .set_max_cached_stacks(1)
        .enforced_limits(wasmi::EnforcedLimits::strict());
    wasmi::Engine::new(&config)
}

/// A bare wasmi instance of `module` in `engine` (fuel enough for anything if the engine meters
/// fuel: bare wasmi never stops a call to yield).
/// `fuel` must be what the engine was made with.
pub(super) fn wasmi_instance(engine: &wasmi::Engine, fuel: bool, module: &[u8]) -> Result<Wasmi> {
    let module = wasmi::Module::new(engine, module)?;
    let mut store = wasmi::Store::new(engine, ());
    if fuel {
        store.set_fuel(u64::MAX)?;
    }
    let instance = wasmi::Linker::new(engine).instantiate_and_start(&mut store, &module)?;
    Ok(Wasmi { store, instance })
}

/// A trevm runtime for `profile` that grants nothing (bench-work imports nothing).
pub(super) fn trevm_runtime(profile: EngineProfile) -> Result<Runtime> {
    Runtime::new(profile, RuntimeOptions::host().with_grants(Grants::none()))
        .map_err(|e| anyhow!("runtime for {profile}: {e}"))
}

/// A trevm instance of the bench-work `capsule` in `runtime`.
pub(super) fn trevm_instance(runtime: &Runtime, capsule: &[u8], limits: Limits) -> Result<Trevm> {
    let checked = trevm::Capsule::from_slice(capsule).map_err(|e| anyhow!("{e}"))?;
    let verified = crate::capsules::policy()
        .verify(checked, &trevm::VersionLedger::default())
        .map_err(|e| anyhow!("{e}"))?;
    let loaded = runtime.load(&verified).map_err(|e| anyhow!("{e}"))?;
    let instance = block_on(runtime.instantiate(&loaded, HostState::new("bench-work"), limits))
        .map_err(|e| anyhow!("{e}"))?;
    Ok(Trevm { instance })
}
