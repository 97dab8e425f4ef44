//! The wasmi provider: plain core wasm, validated and translated on the device by
//! [wasmi](https://docs.rs/wasmi) 2.0, with the canonical ABI of the WIT interfaces lowered by
//! trevm (`crate::cabi`), since wasmi has no component model.
//!
//! - this file: [`WiEngine`] (configuration, linker, instantiation);
//! - `loaded.rs`: [`WiLoaded`]: validating a module and checking it against its signed manifest;
//! - `instance.rs`: [`WiInstance`]: dynamic and typed calls through the canonical ABI;
//! - `coap.rs`: the `coap-server-guest` calls, without a value per message byte;
//! - `host_fn.rs`: the embedder's own host functions, with the WIT types it states;
//! - `drive.rs`: a call's life: resumable calls, fuel slices, suspended host calls, timeouts
//!   and errors;
//! - `memory.rs`: the guest's linear memory and `cabi_realloc` as the canonical ABI sees them.
//!
//! The configuration is fixed here and versioned by
//! [`WASMI_PROFILE_REVISION`](crate::profile::WASMI_PROFILE_REVISION): custom page sizes on
//! (capsules link with `--page-size=1`); start functions, tail calls and SIMD off (a start
//! function or a host call in tail position cannot be suspended); eager translation (lazy
//! translation charges fuel for translating and can end a call that runs out of fuel inside it
//! for good, and it would postpone finding malformed code to the first call); wasmi's strict
//! [`EnforcedLimits`](wasmi::EnforcedLimits) (bounded globals, functions, tables, memories,
//! parameters and function sizes: what a module may make the device allocate before it runs).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use wasmi::{CompilationMode, Config, EnforcedLimits, Engine, Linker, Store};

use super::options::RuntimeOptions;
use crate::error::Error;
use crate::host::{Grants, HostView};
use crate::limits::Limits;
use crate::profile::Preemption;

mod coap;
mod drive;
mod host_fn;
mod instance;
mod loaded;
mod memory;

pub(crate) use instance::WiInstance;
pub(crate) use loaded::WiLoaded;

/// wasmi refuses a value stack below this many bytes (its default minimum).
const MIN_STACK: usize = 1_000;

/// The wasmi provider: one engine, and the linker holding the granted host interfaces.
pub(crate) struct WiEngine<T: HostView> {
    engine: Engine,
    linker: Linker<T>,
    preemption: Preemption,
    grants: Grants,
    /// The embedder's own functions linked (module, name), for [`WiEngine::check_links`].
    defined: Vec<(String, String)>,
}

impl<T: HostView> Clone for WiEngine<T> {
    fn clone(&self) -> Self {
        WiEngine {
            engine: self.engine.clone(),
            linker: self.linker.clone(),
            preemption: self.preemption,
            grants: self.grants,
            defined: self.defined.clone(),
        }
    }
}

impl<T: HostView> WiEngine<T> {
    /// `preemption`: `Fuel` or `None` (wasmi has no epochs).
    pub(crate) fn new(preemption: Preemption, options: RuntimeOptions) -> Result<Self, Error> {
        let mut config = Config::default();
        config
            .consume_fuel(preemption == Preemption::Fuel)
            .compilation_mode(CompilationMode::Eager)
            .wasm_custom_page_sizes(true)
            .wasm_tail_call(false)
            .allow_start_fn(false)
            .set_max_stack_height(options.max_wasm_stack.max(MIN_STACK))
            .set_max_cached_stacks(1)
            .enforced_limits(EnforcedLimits::strict());
        let engine = Engine::new(&config);
        let mut linker = Linker::new(&engine);
        crate::host::wasmi::add_to_linker(&mut linker, options.grants)
            .map_err(|e| Error::Engine(format!("{e}")))?;
        Ok(WiEngine {
            engine,
            linker,
            preemption,
            grants: options.grants,
            defined: Vec::new(),
        })
    }

    /// Validates and translates the capsule's module, refusing what the provider does not run.
    pub(crate) fn load(&self, capsule: &crate::capsule::Capsule<'_>) -> Result<WiLoaded, Error> {
        loaded::load(&self.engine, capsule)
    }

    pub(crate) fn preemption(&self) -> Preemption {
        self.preemption
    }

    /// Whether every import of `capsule` is in an interface this runtime grants. The types are
    /// checked when it is instantiated (wasmi's linker answers only with a store).
    pub(crate) fn check_links(&self, capsule: &WiLoaded) -> Result<(), Error> {
        let provided = |(module, name): (&str, &str)| {
            loaded::granted(self.grants, module)
                || self.defined.iter().any(|(m, n)| m == module && n == name)
        };
        match capsule.import_names().find(|&i| !provided(i)) {
            Some((module, name)) => Err(Error::Link(format!(
                "the capsule imports `{name}` of `{module}`, which this runtime does not provide"
            ))),
            None => Ok(()),
        }
    }

    /// A store with the limits and fuel of `limits`, and an instance of `capsule` in it.
    pub(crate) async fn instantiate(
        &self,
        capsule: &WiLoaded,
        mut data: T,
        limits: Limits,
    ) -> Result<WiInstance<T>, Error> {
        let host = data.host_mut();
        host.limiter.max_memory = limits.max_memory;
        host.limiter.max_table_elements = limits.max_table_elements;
        let mut store = Store::new(&self.engine, data);
        store.limiter(|d| &mut d.host_mut().limiter);
        let mut fuel = drive::Fuel::new(self.preemption == Preemption::Fuel, &limits);
        fuel.refill(&mut store, 0)?;
        // No start function (refused when loaded): nothing of the capsule runs here, only its
        // memories, tables and data segments are made.
        let instance = self
            .linker
            .instantiate_and_start(&mut store, capsule.module())
            .map_err(|e| drive::classify_instantiation(e, &store))?;
        Ok(WiInstance::new(
            store,
            instance,
            capsule.exports_shared(),
            limits,
            fuel,
        ))
    }
}
