//! A running capsule: calls under its limits, and every failure as a typed [`Error`].

use alloc::format;
use alloc::string::ToString;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::future::Future;

use embassy_time::Duration;
use wasmtime::component::Func;
use wasmtime::{Store, Trap};

use super::convert;
use super::trap::describe_trap;
use crate::capsule::owned::OwnedBytes;
use crate::error::Error;
use crate::host::{HostRefusal, HostView};
use crate::limits::Limits;
use crate::runtime::typed::{WasmParams, WasmResults};
use crate::value::{FuncType, Val};

/// A capsule running on Wasmtime: its store, its instance and its limits.
///
/// After a trap or timeout the instance is stopped (Wasmtime's state may be mid-call); every
/// later call returns [`Error::Stopped`].
pub(crate) struct WtInstance<T: HostView> {
    pub(crate) store: Store<T>,
    pub(super) instance: Option<wasmtime::component::Instance>,
    pub(super) limits: Limits,
    pub(super) stopped: bool,
    pub(super) fuel_start: u64,
    /// The buffer the capsule's code lives in, if it was loaded in place from owned bytes: the
    /// store may use that code until it drops, so this comes after it (see `capsule/owned.rs`).
    #[expect(dead_code, reason = "held, never read: it keeps the code memory alive")]
    pub(super) code: Option<Arc<OwnedBytes>>,
}

impl<T: HostView> core::fmt::Debug for WtInstance<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Instance")
            .field("host", self.store.data().host())
            .field("limits", &self.limits)
            .field("stopped", &self.stopped)
            .finish_non_exhaustive()
    }
}

impl<T: HostView> WtInstance<T> {
    /// The whole store data: the embedder's `T`.
    pub(crate) fn data(&self) -> &T {
        self.store.data()
    }

    /// The whole store data, mutably.
    pub(crate) fn data_mut(&mut self) -> &mut T {
        self.store.data_mut()
    }

    /// Fuel burnt since instantiation (with fuel preemption).
    pub(crate) fn fuel_consumed(&self) -> Option<u64> {
        let left = self.store.get_fuel().ok()?;
        Some(self.fuel_start.saturating_sub(left))
    }

    /// Whether an earlier error stopped this instance.
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Finds an exported function: `name` at the top level, or `interface#name` inside an
    /// exported interface.
    pub(crate) fn func(&mut self, name: &str) -> Result<Func, Error> {
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

    /// What an exported function takes and returns (`name` as in [`Instance::call`]): how an
    /// embedder checks a capsule's world without calling it.
    pub(crate) fn signature(&mut self, name: &str) -> Result<FuncType, Error> {
        let func = self.func(name)?;
        Ok(convert::func_type(&func.ty(&self.store)))
    }

    /// Calls an exported function with dynamically typed arguments and returns its results.
    ///
    /// `name` is the export's name, or `interface#name` for a function inside an exported
    /// interface. The arguments are checked against the export's parameter types first: a
    /// mismatch is [`Error::BadArguments`] and leaves the instance usable.
    pub(crate) async fn call(&mut self, name: &str, args: &[Val]) -> Result<Vec<Val>, Error> {
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
            crate::value::check::check(arg, &convert::val_type(&pty)).map_err(|e| {
                Error::BadArguments(format!("`{name}` argument {} (`{pname}`): {e}", i + 1))
            })?;
        }
        let args: Vec<wasmtime::component::Val> = args.iter().map(convert::to_wasmtime).collect();
        let mut results = Vec::new();
        results.resize(ty.results().len(), wasmtime::component::Val::Bool(false));
        let outcome = with_timeout(
            self.limits.timeout,
            func.call_async(&mut self.store, &args, &mut results),
        )
        .await;
        self.settle(outcome, name)?;
        results
            .into_iter()
            .map(convert::from_wasmtime)
            .collect::<Result<_, _>>()
            .map_err(|e| Error::Link(format!("`{name}` returned {e}")))
    }

    /// Calls an exported function whose types the application knows, without dynamic values:
    /// `inst.call_typed::<(u32,), (u32,)>("fibonacci", (20,))`. See [`WasmParams`] for the Rust
    /// types that stand for WIT types. A capsule whose export has other types gets
    /// [`Error::MissingExport`] saying which types it has.
    pub(crate) async fn call_typed<P: WasmParams, R: WasmResults>(
        &mut self,
        name: &str,
        params: P,
    ) -> Result<R, Error> {
        if self.stopped {
            return Err(Error::Stopped);
        }
        let func = self.func(name)?;
        let typed = match func.typed::<P, R>(&self.store) {
            Ok(typed) => typed,
            Err(_) => {
                return Err(Error::MissingExport {
                    name: name.to_string(),
                    reason: format!(
                        "the export has another type: {}",
                        convert::func_type(&func.ty(&self.store))
                    ),
                });
            }
        };
        let outcome = with_timeout(
            self.limits.timeout,
            typed.call_async(&mut self.store, params),
        )
        .await;
        self.settle(outcome, name)
    }

    /// Turns the outcome of a Wasmtime call into a result, marking the instance stopped if the
    /// capsule can no longer be trusted to be in a consistent state.
    /// `export` names what was called, for trap messages (they say which export trapped also
    /// when the capsule carries no address map for Wasm offsets).
    pub(super) fn settle<R>(&mut self, outcome: Outcome<R>, export: &str) -> Result<R, Error> {
        let err = match outcome {
            Outcome::Done(Ok(r)) => return Ok(r),
            Outcome::Done(Err(e)) => match self.classify(e) {
                Error::Trap(m) => Error::Trap(format!("in `{export}`: {m}")),
                e => e,
            },
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
        if out_of_memory(&e) {
            return Error::DeviceOutOfMemory(format!("{e:#}"));
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

/// Whether Wasmtime failed for want of heap: its `OutOfMemory` error, or (Wasmtime 48's
/// message when the allocator refuses a linear memory) a memory it could not allocate.
fn out_of_memory(e: &wasmtime::Error) -> bool {
    e.downcast_ref::<wasmtime::OutOfMemory>().is_some()
        || e.chain().any(|cause| {
            cause
                .to_string()
                .contains("the memory allocator returned an error")
        })
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
