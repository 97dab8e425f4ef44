//! A running capsule: calls under its limits, and every failure as a typed [`Error`].

use alloc::format;
use alloc::string::ToString;
use alloc::vec::Vec;
use core::future::Future;

use embassy_time::Duration;
use wasmtime::component::{Func, Val};
use wasmtime::{Store, Trap};

use super::trap::describe_trap;
use crate::error::Error;
use crate::host::{HostRefusal, HostState, HostView};
use crate::limits::Limits;

/// A running capsule: its store, its instance and its limits.
///
/// After a trap or timeout the instance is stopped (Wasmtime's state may be mid-call); every
/// later call returns [`Error::Stopped`]. Instantiate again for a fresh start.
pub struct Instance<T: HostView = HostState> {
    pub(super) store: Store<T>,
    pub(super) instance: Option<wasmtime::component::Instance>,
    pub(super) limits: Limits,
    pub(super) stopped: bool,
    pub(super) fuel_start: u64,
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

    /// An exported function's name and signature in WIT syntax (e.g. params `["n: u32"]`, results
    /// `["u32"]`): how embedders check a capsule's world without naming VM types.
    pub fn describe(&mut self, name: &str) -> Result<super::ExportedFunc, Error> {
        let func = self.func(name)?;
        Ok(super::ExportedFunc::describe(
            name.to_string(),
            &func.ty(&self.store),
        ))
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
    pub(super) fn settle<R>(&mut self, outcome: Outcome<R>) -> Result<R, Error> {
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

pub(super) enum Outcome<R> {
    Done(wasmtime::Result<R>),
    TimedOut(Duration),
}

/// Runs a Wasmtime future, dropping it (which unwinds the capsule's fiber) if it outlives `limit`.
/// The capsule yields periodically through fuel or epoch preemption, which is what lets the
/// timer win the race against a busy loop.
pub(super) async fn with_timeout<R>(
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
