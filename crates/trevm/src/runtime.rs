//! The engine, loading capsules and running them under limits.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::future::Future;

use embassy_time::Duration;
use wasmtime::component::{Component, Func, Linker, Val};
use wasmtime::{Engine, Store, Trap};

use crate::capsule::Capsule;
use crate::error::Error;
use crate::host::{Grants, HostRefusal, HostState, HostView};
use crate::limits::Limits;
use crate::profile::{EngineProfile, Preemption};
use crate::trust::VerifiedCapsule;

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
    /// Small stacks for microcontrollers: 8 KiB of wasm stack, 16 KiB fiber stack.
    pub const fn mcu() -> Self {
        RuntimeOptions {
            max_wasm_stack: 8 * 1024,
            async_stack_size: 16 * 1024,
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
/// next to trevm's and link its own host functions ([`Runtime::linker_mut`]) beside the
/// `ariel:wasm-bindings` interfaces.
///
/// Cheap to share: clone it (the engine is reference counted).
pub struct Runtime<T: HostView = HostState> {
    engine: Engine,
    profile: EngineProfile,
    linker: Linker<T>,
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

    /// The underlying Wasmtime engine (for advanced embedders).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The linker capsules are instantiated with, to add host functions beyond the
    /// `ariel:wasm-bindings` interfaces (e.g. a world's own imports, such as `uppercase` in
    /// `example-coap-server`). Host functions defined here must not panic on guest input.
    pub fn linker_mut(&mut self) -> &mut Linker<T> {
        &mut self.linker
    }

    /// Deserializes a verified capsule's code: one signed by a trusted key
    /// ([`TrustPolicy::verify`](crate::TrustPolicy::verify)) or built into the firmware
    /// ([`EmbeddedCapsule::check`](crate::EmbeddedCapsule::check)). Checks its profile first and,
    /// for a signed capsule, that the component imports nothing outside its signed grants
    /// ([`TrustError::ImportNotGranted`](crate::TrustError::ImportNotGranted)).
    ///
    /// A `&'static` capsule whose payload is suitably aligned is used in place (from flash on a
    /// device, without copying the code to RAM); otherwise the code is copied into an aligned
    /// heap buffer.
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
        let component = match capsule.static_payload() {
            Some(payload) if (payload.as_ptr() as usize).is_multiple_of(16) => {
                // SAFETY: the caller vouches for the bytes (this function's contract).
                unsafe { self.load_in_place(payload) }?
            }
            // SAFETY: the caller vouches for the bytes (this function's contract).
            _ => unsafe { self.load_copy(capsule.payload()) }?,
        };
        Ok(LoadedCapsule {
            name: capsule.name().to_string(),
            component,
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

    /// Deserializes `'static`, 16-byte-aligned code without copying it (from flash on a device).
    ///
    /// Wasmtime registers code by address and panics if the same bytes are registered twice, so a
    /// process-wide list remembers what was loaded in place: loading the same capsule again with
    /// the same engine reuses that component; with another engine it falls back to a copy.
    ///
    /// # Safety
    ///
    /// `payload` is trusted precompiled code for this profile (see [`Runtime::load_unverified`]).
    unsafe fn load_in_place(&self, payload: &'static [u8]) -> Result<Component, Error> {
        let addr = payload.as_ptr() as usize;
        // Claim the address (or find it claimed) in a short critical section; deserialize outside
        // it, so interrupts are not held off for the whole load on a device.
        let claimed = critical_section::with(|cs| {
            let mut loaded = IN_PLACE.borrow_ref_mut(cs);
            match loaded.iter().find(|(a, _)| *a == addr) {
                Some((_, Some(c))) if Engine::same(c.engine(), &self.engine) => {
                    Claim::Loaded(c.clone())
                }
                // Another engine has it, or another load of it is under way: copy.
                Some(_) => Claim::Taken,
                None => {
                    loaded.push((addr, None));
                    Claim::Ours
                }
            }
        });
        match claimed {
            Claim::Loaded(c) => return Ok(c),
            // SAFETY: the caller's guarantee covers these bytes.
            Claim::Taken => return unsafe { self.load_copy(payload) },
            Claim::Ours => {}
        }
        let ptr = core::ptr::NonNull::from(payload);
        // SAFETY: the caller guarantees the payload is trusted output of
        // `Engine::precompile_component` for this profile (stamp checked by `load_unverified`);
        // the memory is `'static` and immutable (a `&'static [u8]`), 16-byte aligned as Pulley code
        // needs, and registered with Wasmtime by nobody else (we claimed its address in
        // `IN_PLACE`, and claims are never released).
        let component = unsafe { Component::deserialize_raw(&self.engine, ptr) }
            .map_err(|e| Error::Engine(format!("{e:#}")));
        critical_section::with(|cs| {
            let mut loaded = IN_PLACE.borrow_ref_mut(cs);
            if let Some(entry) = loaded.iter_mut().find(|(a, _)| *a == addr) {
                // On failure the claim stays empty: the next load copies instead of retrying
                // bytes Wasmtime refused (and that it may have half-registered).
                entry.1 = component.as_ref().ok().cloned();
            }
        });
        component
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
        };
        let outcome =
            with_timeout(limits.timeout, pre.instantiate_async(&mut instance.store)).await;
        let inst = instance.settle(outcome)?;
        instance.instance = Some(inst);
        instance.fuel_start = instance.store.get_fuel().unwrap_or(0);
        Ok(instance)
    }

    /// Advances the epoch every `period`, forever. With [`Preemption::Epoch`], spawn this as a
    /// task: each tick lets running capsules reach their next yield point.
    ///
    /// Only on targets with 64-bit atomics (not Cortex-M, where Wasmtime has no epochs).
    #[cfg(target_has_atomic = "64")]
    pub async fn tick_epochs(&self, period: Duration) -> ! {
        let mut ticker = embassy_time::Ticker::every(period);
        loop {
            ticker.next().await;
            self.engine.increment_epoch();
        }
    }
}

/// A capsule whose code has been deserialized; instantiate it any number of times.
#[derive(Clone)]
pub struct LoadedCapsule {
    name: String,
    component: Component,
}

impl core::fmt::Debug for LoadedCapsule {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LoadedCapsule")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The name and signature of one function a capsule exports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedFunc {
    /// `name`, or `interface#name` for a function inside an exported interface.
    pub name: String,
    /// Parameter names and types, e.g. `n: u32`.
    pub params: Vec<String>,
    /// Result types.
    pub results: Vec<String>,
}

impl LoadedCapsule {
    /// The capsule's name from its header.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The underlying Wasmtime component (for advanced embedders).
    pub fn component(&self) -> &Component {
        &self.component
    }

    /// Every function the capsule exports, with its signature.
    pub fn exported_funcs<T: HostView>(&self, runtime: &Runtime<T>) -> Vec<ExportedFunc> {
        use wasmtime::component::types::ComponentItem;
        let ty = self.component.component_type();
        let mut out = Vec::new();
        let describe = |name: String, f: &wasmtime::component::types::ComponentFunc| ExportedFunc {
            name,
            params: f
                .params()
                .map(|(n, t)| format!("{n}: {}", crate::typefmt::ty(&t)))
                .collect(),
            results: f.results().map(|t| crate::typefmt::ty(&t)).collect(),
        };
        for (name, item) in ty.exports(runtime.engine()) {
            match item.ty {
                ComponentItem::ComponentFunc(f) => out.push(describe(name.to_string(), &f)),
                ComponentItem::ComponentInstance(inst) => {
                    for (fname, item) in inst.exports(runtime.engine()) {
                        if let ComponentItem::ComponentFunc(f) = item.ty {
                            out.push(describe(format!("{name}#{fname}"), &f));
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }
}

/// A running capsule: its store, its instance and its limits.
///
/// After a trap or timeout the instance is stopped (Wasmtime's state may be mid-call); every
/// later call returns [`Error::Stopped`]. Instantiate again for a fresh start.
pub struct Instance<T: HostView = HostState> {
    store: Store<T>,
    instance: Option<wasmtime::component::Instance>,
    limits: Limits,
    stopped: bool,
    fuel_start: u64,
}

impl<T: HostView> core::fmt::Debug for Instance<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Instance")
            .field("host", self.store.data().host())
            .field("limits", &self.limits)
            .field("stopped", &self.stopped)
            .finish_non_exhaustive()
    }
}

impl<T: HostView> Instance<T> {
    /// The host state (capsule name, sinks).
    pub fn host(&self) -> &HostState {
        self.store.data().host()
    }

    /// The host state, mutably.
    pub fn host_mut(&mut self) -> &mut HostState {
        self.store.data_mut().host_mut()
    }

    /// The whole store data: the embedder's `T`.
    pub fn data(&self) -> &T {
        self.store.data()
    }

    /// The whole store data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        self.store.data_mut()
    }

    /// Fuel burnt since instantiation (with fuel preemption).
    pub fn fuel_consumed(&self) -> Option<u64> {
        let left = self.store.get_fuel().ok()?;
        Some(self.fuel_start.saturating_sub(left))
    }

    /// Whether an earlier error stopped this instance.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Calls the capsule's `run: func()` export, as upstream trevm payloads have.
    pub async fn call_run(&mut self) -> Result<(), Error> {
        self.call("run", &[]).await.map(|_| ())
    }

    /// Finds an exported function: `name` at the top level, or `interface#name` inside an
    /// exported interface.
    pub fn func(&mut self, name: &str) -> Result<Func, Error> {
        let instance = self.instance.ok_or(Error::Stopped)?;
        let missing = |reason: &str| Error::MissingExport {
            name: name.to_string(),
            reason: reason.to_string(),
        };
        let index = match name.split_once('#') {
            Some((iface, fname)) => {
                let parent = instance
                    .get_export_index(&mut self.store, None, iface)
                    .ok_or_else(|| missing("the capsule exports no such interface"))?;
                instance.get_export_index(&mut self.store, Some(&parent), fname)
            }
            None => instance.get_export_index(&mut self.store, None, name),
        }
        .ok_or_else(|| missing("the capsule exports no such function"))?;
        instance
            .get_func(&mut self.store, index)
            .ok_or_else(|| missing("the export is not a function"))
    }

    /// The signature of an exported function (see [`Instance::func`] for how `name` is spelled).
    pub fn signature(
        &mut self,
        name: &str,
    ) -> Result<wasmtime::component::types::ComponentFunc, Error> {
        let func = self.func(name)?;
        Ok(func.ty(&self.store))
    }

    /// Calls an exported function with dynamically typed arguments and returns its results.
    pub async fn call(&mut self, name: &str, args: &[Val]) -> Result<Vec<Val>, Error> {
        if self.stopped {
            return Err(Error::Stopped);
        }
        let func = self.func(name)?;
        let ty = func.ty(&self.store);
        let n_params = ty.params().len();
        if n_params != args.len() {
            return Err(Error::BadArguments(format!(
                "`{name}` takes {n_params} argument(s), {} given",
                args.len()
            )));
        }
        for (i, ((pname, pty), arg)) in ty.params().zip(args).enumerate() {
            crate::argcheck::check(arg, &pty).map_err(|e| {
                Error::BadArguments(format!("`{name}` argument {} (`{pname}`): {e}", i + 1))
            })?;
        }
        let mut results = Vec::new();
        results.resize(ty.results().len(), Val::Bool(false));
        let outcome = with_timeout(
            self.limits.timeout,
            func.call_async(&mut self.store, args, &mut results),
        )
        .await;
        self.settle(outcome)?;
        Ok(results)
    }

    /// Turns the outcome of a Wasmtime call into a result, marking the instance stopped if the
    /// capsule can no longer be trusted to be in a consistent state.
    fn settle<R>(&mut self, outcome: Outcome<R>) -> Result<R, Error> {
        let err = match outcome {
            Outcome::Done(Ok(r)) => return Ok(r),
            Outcome::Done(Err(e)) => self.classify(e),
            Outcome::TimedOut(limit) => Error::Timeout {
                after_ms: limit.as_millis(),
            },
        };
        if !matches!(err, Error::BadArguments(_) | Error::MissingExport { .. }) {
            self.stopped = true;
        }
        Err(err)
    }

    fn classify(&mut self, e: wasmtime::Error) -> Error {
        if let Some(refusal) = e.downcast_ref::<HostRefusal>() {
            return Error::HostRefused(refusal.0.clone());
        }
        let limiter = &self.store.data().host().limiter;
        if let Some(requested) = limiter.refused {
            return Error::MemoryLimit {
                requested,
                limit: limiter.max_memory,
            };
        }
        match e.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => Error::OutOfFuel,
            Some(trap) => Error::Trap(describe_trap(
                trap,
                e.downcast_ref::<wasmtime::WasmBacktrace>(),
            )),
            // Arguments were type-checked before the call (`argcheck`), so anything else that
            // went wrong happened while the capsule ran: treat it as a trap.
            None => Error::Trap(format!("{e:#}")),
        }
    }
}

enum Outcome<R> {
    Done(wasmtime::Result<R>),
    TimedOut(Duration),
}

/// Runs a Wasmtime future, dropping it (which unwinds the capsule's fiber) if it outlives `limit`.
/// The capsule yields periodically through fuel or epoch preemption, which is what lets the
/// timer win the race against a busy loop.
async fn with_timeout<R>(
    limit: Option<Duration>,
    fut: impl Future<Output = wasmtime::Result<R>>,
) -> Outcome<R> {
    // Every Wasmtime future that may switch to a capsule's fiber goes through here.
    let fut = crate::fpctx::FpGuarded::new(fut);
    match limit {
        Some(limit) => match embassy_time::with_timeout(limit, fut).await {
            Ok(r) => Outcome::Done(r),
            Err(_) => Outcome::TimedOut(limit),
        },
        None => Outcome::Done(fut.await),
    }
}

/// `unreachable instruction executed` plus a short backtrace in which runs of the same frame (deep
/// recursion) are folded, so a stack overflow does not print thousands of lines.
fn describe_trap(trap: &Trap, backtrace: Option<&wasmtime::WasmBacktrace>) -> String {
    const MAX_LINES: usize = 8;
    let mut out = format!("{trap}");
    let Some(bt) = backtrace else { return out };
    let frame = |f: &wasmtime::FrameInfo| {
        let name = f.func_name().map_or_else(
            || format!("wasm function {}", f.func_index()),
            |n| n.to_string(),
        );
        match f.module_offset() {
            Some(off) => format!("{name} @ {off:#x}"),
            None => name,
        }
    };
    let mut lines = Vec::new();
    let mut frames = bt.frames().iter().map(frame).peekable();
    while let Some(f) = frames.next() {
        let mut repeats = 1usize;
        while frames.peek() == Some(&f) {
            frames.next();
            repeats += 1;
        }
        if lines.len() == MAX_LINES {
            lines.push("…".to_string());
            break;
        }
        lines.push(if repeats > 1 {
            format!("{f} (×{repeats})")
        } else {
            f
        });
    }
    if !lines.is_empty() {
        out.push_str("; backtrace: ");
        out.push_str(&lines.join(" ← "));
    }
    out
}

/// Capsules loaded in place, by payload address (see [`Runtime::load_in_place`]): `None` while
/// the load is under way or after it failed. Entries stay for the life of the program: their
/// bytes are `'static` anyway.
static IN_PLACE: critical_section::Mutex<core::cell::RefCell<Vec<InPlace>>> =
    critical_section::Mutex::new(core::cell::RefCell::new(Vec::new()));

/// A payload address and its component (`None` while loading or after a failed load).
type InPlace = (usize, Option<Component>);

/// What [`Runtime::load_in_place`] found for an address.
enum Claim {
    /// Loaded already by this engine.
    Loaded(Component),
    /// Loaded by another engine, or being loaded: make a copy instead.
    Taken,
    /// Claimed by this call: load it in place.
    Ours,
}
