//! The engine, loading capsules and running them under limits.
//!
//! - this file: [`RuntimeOptions`] and [`Runtime`] (engine, linker, `load`, `instantiate`);
//! - `in_place.rs`: loading `'static` code in place, and the registry Wasmtime needs for it;
//! - `loaded.rs`: [`LoadedCapsule`]: what a capsule imports and exports;
//! - `instance.rs`: [`Instance`]: calls under limits, timeouts, typed errors;
//! - `typed.rs`: the sealed traits behind [`Instance::call_typed`];
//! - `coap_guest.rs`: typed calls into `coap-server-guest` capsules;
//! - `host_fn.rs`: the embedder's own host functions ([`Runtime::define_func`]);
//! - `convert.rs`: between [`crate::value`] and Wasmtime's values and types;
//! - `trap.rs`: trap messages with folded backtraces.
//!
//! This module is the VM provider: it is the only place (with `host/` and the escape hatch)
//! that names Wasmtime. Its public API speaks [`crate::value`], capsules and limits.

use alloc::format;
use alloc::string::ToString;

use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};

use crate::capsule::checked::Bytes;
use crate::capsule::{CODE_ALIGN, Capsule};
use crate::error::Error;
use crate::host::{Grants, HostState, HostView};
use crate::limits::Limits;
use crate::profile::{EngineProfile, Preemption, Target};
use crate::trust::VerifiedCapsule;

mod coap_guest;
mod convert;
mod host_fn;
mod in_place;
mod instance;
mod loaded;
mod trap;
mod typed;

pub use coap_guest::{COAP_SERVER_GUEST, CoapGuestError};
pub use host_fn::HostFnError;
pub use instance::Instance;
use instance::with_timeout;
pub use loaded::LoadedCapsule;
pub use typed::{WasmParams, WasmResults, WasmType};

/// Runtime settings that do not affect compiled code (so they may differ from the precompiler).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeOptions {
    /// Most bytes of stack wasm code may use before trapping with a stack overflow.
    pub max_wasm_stack: usize,
    /// Size of the stack each running capsule call gets for async suspension (a fiber stack);
    /// must be at least `max_wasm_stack`. Allocated per instance while a call runs.
    pub async_stack_size: usize,
    /// Interfaces linked for capsules.
    pub grants: Grants,
}

impl RuntimeOptions {
    /// Small stacks for microcontrollers: 4 KiB of wasm stack, 6 KiB fiber stack.
    ///
    /// Sized from what the Cortex-M4 firmware measures (`docs/footprint.md`): its capsules use a
    /// fraction of each. Pulley's wasm stack is its own allocation and a deeper capsule traps
    /// cleanly; the fiber stack only holds host frames (Wasmtime's call machinery and the
    /// bindings) but has no guard page, so applications with heavy host bindings should measure
    /// it (`docs/bare-metal.md`). Wasmtime requires the fiber stack to be at least the wasm stack.
    pub const fn mcu() -> Self {
        RuntimeOptions {
            max_wasm_stack: 4 * 1024,
            async_stack_size: 6 * 1024,
            grants: Grants::all(),
        }
    }

    /// Roomier stacks for hosts: 256 KiB of wasm stack, 512 KiB fiber stack.
    pub const fn host() -> Self {
        RuntimeOptions {
            max_wasm_stack: 256 * 1024,
            async_stack_size: 512 * 1024,
            grants: Grants::all(),
        }
    }

    /// Sets [`RuntimeOptions::grants`].
    pub const fn with_grants(mut self, grants: Grants) -> Self {
        self.grants = grants;
        self
    }
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        if cfg!(target_os = "none") {
            Self::mcu()
        } else {
            Self::host()
        }
    }
}

fn engine_err(e: impl core::fmt::Display) -> Error {
    Error::Engine(e.to_string())
}

/// One Wasmtime engine with one profile, and the linker holding the granted host interfaces.
///
/// `T` is what each capsule's store holds: trevm's [`HostState`] (the default), or an
/// embedder's own type that contains one ([`HostView`]), so an application can keep its own data
/// next to trevm's and link its own host functions ([`Runtime::define_func`]) beside the
/// `ariel:wasm-bindings` interfaces.
///
/// Cheap to share: clone it (the engine is reference counted).
pub struct Runtime<T: HostView = HostState> {
    pub(crate) engine: Engine,
    profile: EngineProfile,
    pub(crate) linker: Linker<T>,
}

impl<T: HostView> Clone for Runtime<T> {
    fn clone(&self) -> Self {
        Runtime {
            engine: self.engine.clone(),
            profile: self.profile,
            linker: self.linker.clone(),
        }
    }
}

impl<T: HostView> core::fmt::Debug for Runtime<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Runtime")
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Creates the engine for `profile`, for capsules whose store holds a [`HostState`]. Fails if
    /// the profile cannot run on this machine.
    pub fn new(profile: EngineProfile, options: RuntimeOptions) -> Result<Self, Error> {
        Runtime::with_store_data(profile, options)
    }
}

impl<T: HostView> Runtime<T> {
    /// Like [`Runtime::new`], for capsules whose store holds the embedder's `T` (see
    /// [`HostView`]).
    pub fn with_store_data(profile: EngineProfile, options: RuntimeOptions) -> Result<Self, Error> {
        if !profile.runs_here() {
            return Err(Error::Engine(format!(
                "a runtime for {profile} cannot run on this machine"
            )));
        }
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
        Ok(Runtime {
            engine,
            profile,
            linker,
        })
    }

    /// The profile capsules must have been built with.
    pub fn profile(&self) -> EngineProfile {
        self.profile
    }

    /// Deserializes a verified capsule's code: one signed by a trusted key
    /// ([`TrustPolicy::verify`](crate::TrustPolicy::verify)) or built into the firmware
    /// ([`EmbeddedCapsule::check`](crate::EmbeddedCapsule::check)). Checks its profile first and,
    /// for a signed capsule, that the component imports nothing outside its signed grants
    /// ([`TrustError::ImportNotGranted`](crate::TrustError::ImportNotGranted)).
    ///
    /// The code is used in place, without a copy, when the payload is aligned to
    /// [`CODE_ALIGN`](crate::capsule::CODE_ALIGN) and either `&'static` (from flash on a device:
    /// [`include_capsule!`](crate::include_capsule), [`Capsule::from_static`]) or in a buffer the
    /// capsule owns ([`Capsule::from_vec`], [`Capsule::from_vec_at`]: e.g. an upload, which then
    /// becomes the capsule's code memory and lives as long as the loaded capsule and its
    /// instances; Pulley code only: native code must be made executable, so it is copied).
    /// Otherwise Wasmtime copies the code into a heap buffer of its own.
    pub fn load(&self, capsule: &VerifiedCapsule<'_>) -> Result<LoadedCapsule, Error> {
        // SAFETY: a `VerifiedCapsule` is made only by `TrustPolicy::verify` (signed by a trusted
        // key, payload digest checked), by `EmbeddedCapsule::check` (part of the firmware image),
        // or by the `unsafe` constructors whose callers took on this very contract.
        let loaded = unsafe { self.load_unverified(capsule.capsule()) }?;
        if let Some(signed) = capsule.signed() {
            let ty = loaded.component.component_type();
            if let Some((import, _)) = ty
                .imports(&self.engine)
                .find(|(name, _)| !signed.manifest.grants(name))
            {
                return Err(Error::Refused(crate::TrustError::ImportNotGranted {
                    import: import.to_string(),
                }));
            }
        }
        Ok(loaded)
    }

    /// Checks the capsule's profile and deserializes its code, trusting it blindly.
    ///
    /// # Safety
    ///
    /// Wasmtime runs precompiled code as it is: forged or corrupted code can read and write any
    /// host memory, crash the device or keep it from ever running another task. The caller
    /// guarantees that `capsule` is the unaltered output of `trevm build` from code it trusts
    /// (which is what [`Runtime::load`] checks with a signature).
    pub unsafe fn load_unverified(&self, capsule: &Capsule<'_>) -> Result<LoadedCapsule, Error> {
        capsule.check_profile(self.profile)?;
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
        Ok(LoadedCapsule {
            name: capsule.name().to_string(),
            component,
            code,
        })
    }

    /// # Safety
    ///
    /// `payload` is trusted precompiled code for this profile (see [`Runtime::load_unverified`]).
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
    pub async fn instantiate(
        &self,
        capsule: &LoadedCapsule,
        mut data: T,
        limits: Limits,
    ) -> Result<Instance<T>, Error> {
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
        let mut instance = Instance {
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
    pub fn check_links(&self, capsule: &LoadedCapsule) -> Result<(), Error> {
        self.linker
            .instantiate_pre(&capsule.component)
            .map(drop)
            .map_err(|e| Error::Link(format!("{e:#}")))
    }

    /// Advances the epoch every `period`, forever. With [`Preemption::Epoch`], spawn this as a
    /// task: each tick lets running capsules reach their next yield point.
    ///
    /// Only on targets with 64-bit atomics (not Cortex-M, where Wasmtime has no epochs).
    #[cfg(target_has_atomic = "64")]
    pub async fn tick_epochs(&self, period: embassy_time::Duration) -> ! {
        let mut ticker = embassy_time::Ticker::every(period);
        loop {
            ticker.next().await;
            self.engine.increment_epoch();
        }
    }

    /// A handle that advances this runtime's epoch from anywhere (e.g. a host thread), for
    /// [`Preemption::Epoch`] where an async ticker ([`Runtime::tick_epochs`]) does not fit.
    #[cfg(target_has_atomic = "64")]
    pub fn epoch_ticker(&self) -> EpochTicker {
        EpochTicker(self.engine.clone())
    }
}

/// Advances a runtime's epoch ([`Runtime::epoch_ticker`]). Cheap to clone, `Send`.
#[cfg(target_has_atomic = "64")]
#[derive(Clone)]
pub struct EpochTicker(Engine);

#[cfg(target_has_atomic = "64")]
impl EpochTicker {
    /// One tick: every capsule running under epoch preemption reaches its next yield point.
    pub fn tick(&self) {
        self.0.increment_epoch();
    }
}

#[cfg(target_has_atomic = "64")]
impl core::fmt::Debug for EpochTicker {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("EpochTicker")
    }
}
