//! A call's life on wasmi: a resumable call that gives the executor back control when its fuel
//! slice runs out and when a host call must wait, under the instance's timeout; and what went
//! wrong, as a typed [`Error`].

use alloc::format;
use alloc::string::ToString;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use wasmi::{Func, Instance, ResumableCall, Store, TrapCode, Val};

use crate::error::Error;
use crate::host::wasmi::Pending;
use crate::host::{HostRefusal, HostView};
use crate::limits::Limits;

/// The instance's fuel: its budget, and the slices it is given between yields.
///
/// wasmi counts fuel in its own units (about one per instruction), not Pulley's.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fuel {
    on: bool,
    /// What the store may burn in all (`u64::MAX`: no budget).
    budget: u64,
    /// Yield after this many units.
    interval: u64,
    /// Fuel given to the store so far: burnt = `given` − what the store has left.
    given: u64,
}

impl Fuel {
    pub(super) fn new(on: bool, limits: &Limits) -> Self {
        Fuel {
            on,
            budget: limits.fuel.unwrap_or(u64::MAX),
            interval: limits.yield_interval.max(1),
            given: 0,
        }
    }

    /// Fuel burnt so far, if fuel is on.
    pub(super) fn consumed<T>(&self, store: &Store<T>) -> Option<u64> {
        let left = store.get_fuel().ok()?;
        Some(self.given.saturating_sub(left))
    }

    /// Gives the store its next slice, at least `at_least` (what the instruction that ran out
    /// needs), or [`Error::OutOfFuel`] when the budget cannot pay for it.
    pub(super) fn refill<T>(&mut self, store: &mut Store<T>, at_least: u64) -> Result<(), Error> {
        if !self.on {
            return Ok(());
        }
        let burnt = self.consumed(store).unwrap_or(0);
        let left = self.budget.saturating_sub(burnt);
        if left == 0 || left < at_least {
            return Err(Error::OutOfFuel);
        }
        let slice = self.interval.max(at_least).min(left);
        store
            .set_fuel(slice)
            .map_err(|e| Error::Engine(format!("{e}")))?;
        self.given = burnt + slice;
        Ok(())
    }
}

/// Calls `func` to completion: `outputs` gets its core results.
///
/// Out of fuel: yields to the executor, then resumes with the next slice. A host call that must
/// wait (`host::wasmi::Pending`) is awaited here, with the store, and the call resumed with its
/// results. Dropping the future (a timeout) drops the suspended call; the store stays valid.
pub(super) async fn call<T: HostView>(
    store: &mut Store<T>,
    instance: &Instance,
    fuel: &mut Fuel,
    func: Func,
    inputs: &[Val],
    outputs: &mut [Val],
) -> Result<(), Error> {
    fuel.refill(store, 0)?;
    let mut state = func.call_resumable(&mut *store, inputs, outputs);
    loop {
        state = match state {
            Err(e) => return Err(classify(e, store)),
            Ok(ResumableCall::Finished) => return Ok(()),
            Ok(ResumableCall::OutOfFuel(suspended)) => {
                fuel.refill(store, suspended.required_fuel())?;
                YieldNow(false).await;
                suspended.resume(&mut *store, outputs)
            }
            Ok(ResumableCall::HostTrap(suspended)) => {
                let pending = match suspended.host_error().downcast_ref::<Pending>() {
                    Some(p) => p.clone(),
                    None => return Err(classify(suspended.into_host_error(), store)),
                };
                let results = pending.complete(store, instance).await?;
                suspended.resume(&mut *store, &results, outputs)
            }
        };
    }
}

/// Runs `call` under `limits.timeout`.
pub(super) async fn with_timeout<R>(
    limits: &Limits,
    fut: impl Future<Output = Result<R, Error>>,
) -> Result<R, Error> {
    match limits.timeout {
        Some(limit) => {
            embassy_time::with_timeout(limit, fut)
                .await
                .unwrap_or(Err(Error::Timeout {
                    after_ms: limit.as_millis(),
                }))
        }
        None => fut.await,
    }
}

/// What a wasmi error means for the capsule.
pub(super) fn classify<T: HostView>(e: wasmi::Error, store: &Store<T>) -> Error {
    if let Some(refusal) = e.downcast_ref::<HostRefusal>() {
        return Error::HostRefused(refusal.0.clone());
    }
    let limiter = &store.data().host().limiter;
    if let Some(requested) = limiter.refused {
        return Error::MemoryLimit {
            requested,
            limit: limiter.max_memory,
        };
    }
    match e.as_trap_code() {
        Some(TrapCode::OutOfFuel) => Error::OutOfFuel,
        Some(TrapCode::OutOfSystemMemory) => Error::DeviceOutOfMemory(e.to_string()),
        Some(TrapCode::StackOverflow) => {
            Error::Trap("call stack exhausted (stack overflow)".into())
        }
        _ => Error::Trap(e.to_string()),
    }
}

/// What a failed instantiation means: a missing or mistyped import is a link error, memory
/// beyond the limit or the heap is the memory's, the rest the capsule's.
pub(super) fn classify_instantiation<T: HostView>(e: wasmi::Error, store: &Store<T>) -> Error {
    let limiter = &store.data().host().limiter;
    if let Some(requested) = limiter.refused {
        return Error::MemoryLimit {
            requested,
            limit: limiter.max_memory,
        };
    }
    match e.kind() {
        wasmi::errors::ErrorKind::Linker(_) | wasmi::errors::ErrorKind::Instantiation(_) => {
            Error::Link(e.to_string())
        }
        _ => classify(e, store),
    }
}

/// Returns `Pending` once (waking itself), so the executor runs other tasks before the capsule
/// goes on.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}
