//! The Wasmtime provider: precompiled Pulley (or native) components, deserialized in place where
//! they can be, run on fibers with fuel or epoch preemption.
//!
//! - this file: [`WtEngine`] (engine, linker, load, instantiate);
//! - `in_place.rs`: loading `'static` code in place, and the registry Wasmtime needs for it;
//! - `loaded.rs`: [`WtLoaded`]: what a capsule imports and exports;
//! - `instance.rs`: [`WtInstance`]: calls under limits, timeouts, typed errors;
//! - `coap_guest.rs`: typed calls into `coap-server-guest` capsules;
//! - `host_fn.rs`: the embedder's own host functions;
//! - `convert.rs`: between [`crate::value`] and Wasmtime's values and types;
//! - `trap.rs`: trap messages with folded backtraces.

use alloc::format;
use alloc::string::ToString;

use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};

use super::options::RuntimeOptions;
use crate::capsule::checked::Bytes;
use crate::capsule::{CODE_ALIGN, Capsule};
use crate::error::Error;
use crate::host::HostView;
use crate::limits::Limits;
use crate::profile::{EngineProfile, Preemption, Target};

mod coap_guest;
mod convert;
mod host_fn;
mod in_place;
mod instance;
mod loaded;
mod trap;

pub(crate) use instance::WtInstance;
use instance::with_timeout;
pub(crate) use loaded::WtLoaded;

fn engine_err(e: impl core::fmt::Display) -> Error {
    Error::Engine(e.to_string())
}

/// The Wasmtime provider: one engine with one profile, and the linker holding the granted host
/// interfaces. Cheap to clone (the engine is reference counted).
pub(crate) struct WtEngine<T: HostView> {
    pub(crate) engine: Engine,
    profile: EngineProfile,
    pub(crate) linker: Linker<T>,
}

impl<T: HostView> Clone for WtEngine<T> {
    fn clone(&self) -> Self {
        WtEngine {
            engine: self.engine.clone(),
            profile: self.profile,
            linker: self.linker.clone(),
        }
    }
}

impl<T: HostView> WtEngine<T> {
    pub(crate) fn new(profile: EngineProfile, options: RuntimeOptions) -> Result<Self, Error> {
        if profile.preemption == Preemption::Epoch && !cfg!(target_has_atomic = "64") {
            return Err(Error::Engine(
                "epoch preemption needs 64-bit atomics, which this target lacks (Wasmtime has no \
                 epochs there): build capsules with fuel preemption"
                    .into(),
            ));
        }
        let mut config = profile.wasmtime_config()?;
        config.max_wasm_stack(options.max_wasm_stack);
        config.async_stack_size(options.async_stack_size);
        let engine = Engine::new(&config).map_err(engine_err)?;
        let mut linker = Linker::new(&engine);
        crate::host::add_to_linker(&mut linker, options.grants).map_err(engine_err)?;
        Ok(WtEngine {
            engine,
            profile,
            linker,
        })
    }

    /// The first import of `loaded` outside `granted`, if any.
    pub(crate) fn ungranted_import(
        &self,
        loaded: &WtLoaded,
        granted: impl Fn(&str) -> bool,
    ) -> Option<alloc::string::String> {
        let ty = loaded.component.component_type();
        ty.imports(&self.engine)
            .find(|(name, _)| !granted(name))
            .map(|(name, _)| name.to_string())
    }

    /// Checks the capsule's profile and deserializes its code, trusting it blindly.
    ///
    /// # Safety
    ///
    /// Wasmtime runs precompiled code as it is: forged or corrupted code can read and write any
    /// host memory, crash the device or keep it from ever running another task. The caller
    /// guarantees that `capsule` is the unaltered output of `trevm build` from code it trusts
    /// (which is what [`Runtime::load`](crate::Runtime::load) checks with a signature).
    pub(crate) unsafe fn load_unverified(&self, capsule: &Capsule<'_>) -> Result<WtLoaded, Error> {
        let payload = capsule.payload();
        let aligned = (payload.as_ptr() as usize).is_multiple_of(CODE_ALIGN);
        let (component, code) = if let Some(payload) = capsule.static_payload()
            && aligned
        {
            // SAFETY: the caller vouches for the bytes (this function's contract).
            (unsafe { self.load_in_place(payload) }?, None)
        } else if let Bytes::Owned(owned) = capsule.bytes()
            // Native code must be made executable, which Wasmtime cannot do to a heap buffer
            // ("this target requires virtual memory"): only Pulley bytecode runs in place.
            && self.profile.target != Target::Host
            && owned.lend(payload)
        {
            let ptr = core::ptr::NonNull::from(payload);
            // SAFETY: the caller guarantees the payload is trusted output of
            // `Engine::precompile_component` for this profile (stamp checked above). The memory
            // is part of an `OwnedBytes` (the whole argument is in `capsule/owned.rs`): a heap
            // buffer never reallocated nor written once made, freed only when the last `Arc` to
            // it drops; the `LoadedCapsule` made here and every `Instance` made from it hold one,
            // dropped after their Wasmtime objects. `lend` checked that it is aligned to
            // `CODE_ALIGN` and returned true only this once for it, so Wasmtime registers its
            // address once.
            let component = unsafe { Component::deserialize_raw(&self.engine, ptr) }
                .map_err(|e| Error::Engine(format!("{e:#}")))?;
            (component, Some(owned.clone()))
        } else {
            // SAFETY: the caller vouches for the bytes (this function's contract).
            (unsafe { self.load_copy(payload) }?, None)
        };
        Ok(WtLoaded { component, code })
    }

    /// # Safety
    ///
    /// `payload` is trusted precompiled code for this profile (see [`Runtime::load_unverified`](crate::Runtime::load_unverified)).
    unsafe fn load_copy(&self, payload: &[u8]) -> Result<Component, Error> {
        // SAFETY: the caller guarantees the bytes are trusted output of
        // `Engine::precompile_component` for this profile (stamp checked by
        // `load_unverified`); Wasmtime copies them into its own aligned buffer.
        unsafe { Component::deserialize(&self.engine, payload) }
            .map_err(|e| Error::Engine(format!("{e:#}")))
    }

    /// Instantiates a loaded capsule with its own store, host state and limits.
    ///
    /// Async because instantiation may run the capsule's start code under the same preemption
    /// as a call.
    pub(crate) async fn instantiate(
        &self,
        capsule: &WtLoaded,
        mut data: T,
        limits: Limits,
    ) -> Result<WtInstance<T>, Error> {
        let host = data.host_mut();
        host.limiter.max_memory = limits.max_memory;
        host.limiter.max_table_elements = limits.max_table_elements;
        let mut store = Store::new(&self.engine, data);
        store.limiter(|s| &mut s.host_mut().limiter);
        match self.profile.preemption {
            Preemption::Fuel => {
                store
                    .set_fuel(limits.fuel.unwrap_or(u64::MAX))
                    .map_err(engine_err)?;
                store
                    .fuel_async_yield_interval(Some(limits.yield_interval.max(1)))
                    .map_err(engine_err)?;
            }
            #[cfg(target_has_atomic = "64")]
            Preemption::Epoch => {
                let interval = limits.epoch_ticks.max(1);
                store.set_epoch_deadline(interval);
                store.epoch_deadline_callback(move |_| {
                    Ok(wasmtime::UpdateDeadline::Yield(interval))
                });
            }
            // Refused in `Runtime::new` on targets without 64-bit atomics.
            #[cfg(not(target_has_atomic = "64"))]
            Preemption::Epoch => {}
            Preemption::None => {}
        }
        let pre = self
            .linker
            .instantiate_pre(&capsule.component)
            .map_err(|e| Error::Link(format!("{e:#}")))?;
        let mut instance = WtInstance {
            store,
            instance: None,
            limits,
            stopped: false,
            fuel_start: 0,
            code: capsule.code.clone(),
        };
        let outcome =
            with_timeout(limits.timeout, pre.instantiate_async(&mut instance.store)).await;
        let inst = instance.settle(outcome, "the start function")?;
        instance.instance = Some(inst);
        instance.fuel_start = instance.store.get_fuel().unwrap_or(0);
        Ok(instance)
    }

    /// Whether `capsule` links against this runtime: every import it has is provided (the
    /// interfaces granted, the functions defined) with the type it expects. Type-checking only:
    /// no store, no linear memory, nothing of the capsule runs (what [`instantiate`]
    /// (Self::instantiate) does first).
    pub(crate) fn check_links(&self, capsule: &WtLoaded) -> Result<(), Error> {
        self.linker
            .instantiate_pre(&capsule.component)
            .map(drop)
            .map_err(|e| Error::Link(format!("{e:#}")))
    }
}

/// Advances a runtime's epoch ([`Runtime::epoch_ticker`](crate::Runtime::epoch_ticker)). Cheap to clone, `Send`.
#[cfg(target_has_atomic = "64")]
#[derive(Clone)]
pub struct EpochTicker(pub(crate) Option<Engine>);

#[cfg(target_has_atomic = "64")]
impl EpochTicker {
    /// One tick: every capsule running under epoch preemption reaches its next yield point.
    pub fn tick(&self) {
        if let Some(engine) = &self.0 {
            engine.increment_epoch();
        }
    }
}

#[cfg(target_has_atomic = "64")]
impl core::fmt::Debug for EpochTicker {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("EpochTicker")
    }
}
