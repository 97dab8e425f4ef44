//! [`WiInstance`]: a capsule running on wasmi, called through the canonical ABI.

use alloc::format;
use alloc::string::ToString;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use wasmi::{Func, Instance, Store};

use super::drive::{self, Fuel};
use super::memory::{Guest, Handles};
use crate::cabi::{self, CabiError, Flat};
use crate::error::Error;
use crate::host::HostView;
use crate::limits::Limits;
use crate::runtime::typed::{WasmParams, WasmResults};
use crate::value::{ExportedFunc, FuncType, Val, ValType};

/// A capsule running on wasmi: its store, instance, export types and limits.
///
/// After a trap or timeout the instance is stopped; every later call returns
/// [`Error::Stopped`].
pub(crate) struct WiInstance<T: HostView> {
    pub(super) store: Store<T>,
    pub(super) instance: Instance,
    exports: Arc<[ExportedFunc]>,
    /// `exports[i]` resolved in this instance, once (a call looks up nothing by name but its
    /// export in this table).
    resolved: Vec<Resolved>,
    pub(super) handles: Handles,
    pub(super) limits: Limits,
    stopped: bool,
    pub(super) fuel: Fuel,
}

/// An export as this instance has it.
pub(super) struct Resolved {
    pub(super) func: Func,
    /// `cabi_post_<name>`, if the capsule has it.
    pub(super) post: Option<Func>,
    /// How many core results the function returns.
    pub(super) core_results: usize,
    /// The parameters' types, without their names (what lowering takes).
    params: Vec<ValType>,
}

impl<T: HostView> core::fmt::Debug for WiInstance<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Instance")
            .field("provider", &"wasmi")
            .field("host", self.store.data().host())
            .field("limits", &self.limits)
            .field("stopped", &self.stopped)
            .finish_non_exhaustive()
    }
}

impl<T: HostView> WiInstance<T> {
    pub(super) fn new(
        store: Store<T>,
        instance: Instance,
        exports: Arc<[ExportedFunc]>,
        limits: Limits,
        fuel: Fuel,
    ) -> Self {
        let resolved = exports
            .iter()
            .filter_map(|e| {
                // Every export was checked to be a function of the module when it was loaded.
                let func = instance.get_func(&store, &e.name)?;
                Some(Resolved {
                    func,
                    post: instance.get_func(&store, &format!("cabi_post_{}", e.name)),
                    core_results: func.ty(&store).results().len(),
                    params: e.ty.params.iter().map(|(_, t)| t.clone()).collect(),
                })
            })
            .collect();
        let handles = Handles::of(&store, &instance);
        WiInstance {
            store,
            instance,
            exports,
            resolved,
            handles,
            limits,
            stopped: false,
            fuel,
        }
    }

    pub(crate) fn data(&self) -> &T {
        self.store.data()
    }

    pub(crate) fn data_mut(&mut self) -> &mut T {
        self.store.data_mut()
    }

    pub(crate) fn fuel_consumed(&self) -> Option<u64> {
        self.fuel.consumed(&self.store)
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped
    }

    pub(super) fn resolved(&self, index: usize) -> &Resolved {
        &self.resolved[index]
    }

    pub(crate) fn signature(&mut self, name: &str) -> Result<FuncType, Error> {
        Ok(self.exports[self.export(name)?].ty.clone())
    }

    /// The export's index in `exports` and `resolved` (its type is in the signed manifest,
    /// checked at load).
    pub(super) fn export(&self, name: &str) -> Result<usize, Error> {
        self.exports
            .iter()
            .position(|e| e.name == name)
            .filter(|&i| i < self.resolved.len())
            .ok_or_else(|| Error::MissingExport {
                name: name.to_string(),
                reason: "the capsule exports no such function".to_string(),
            })
    }

    pub(crate) async fn call(&mut self, name: &str, args: &[Val]) -> Result<Vec<Val>, Error> {
        if self.stopped {
            return Err(Error::Stopped);
        }
        let index = self.export(name)?;
        let exports = self.exports.clone();
        let ty = &exports[index].ty;
        if ty.params.len() != args.len() {
            return Err(Error::BadArguments(format!(
                "`{name}` takes {} argument(s), {} given",
                ty.params.len(),
                args.len()
            )));
        }
        for (i, ((pname, pty), arg)) in ty.params.iter().zip(args).enumerate() {
            crate::value::check::check(arg, pty).map_err(|e| {
                Error::BadArguments(format!("`{name}` argument {} (`{pname}`): {e}", i + 1))
            })?;
        }
        let outcome = self.call_lowered(index, args, &ty.results).await;
        self.settle(outcome, name)
    }

    /// Lowers, calls, lifts and runs the post-return function, all under the timeout.
    async fn call_lowered(
        &mut self,
        index: usize,
        args: &[Val],
        results: &[ValType],
    ) -> Result<Vec<Val>, Error> {
        let (store, instance, fuel, limits, handles) = (
            &mut self.store,
            &self.instance,
            &mut self.fuel,
            &self.limits,
            self.handles,
        );
        let export = &self.resolved[index];
        drive::with_timeout(limits, async move {
            fuel.refill(store, 0)?;
            let flat = cabi::lower_args(&mut Guest::new(store, handles), &export.params, args)
                .map_err(|e| abi_error(e, "its arguments could not be lowered"))?;
            let inputs: Vec<wasmi::Val> = flat.iter().map(to_wasmi).collect();
            let mut outputs = vec![wasmi::Val::I32(0); export.core_results];
            drive::call(store, instance, fuel, export.func, &inputs, &mut outputs).await?;
            let flat_out: Vec<Flat> = outputs
                .iter()
                .map(from_wasmi)
                .collect::<Option<_>>()
                .ok_or_else(|| Error::Trap("a result is not a number".into()))?;
            let vals = cabi::lift_results_within(
                &mut Guest::new(store, handles),
                results,
                &flat_out,
                lift_budget(limits),
            )
            .map_err(|e| abi_error(e, "it returned a value that cannot be lifted"))?;
            if let Some(post) = export.post {
                drive::call(store, instance, fuel, post, &outputs, &mut []).await?;
            }
            Ok(vals)
        })
        .await
    }

    pub(crate) async fn call_typed<P: WasmParams, R: WasmResults>(
        &mut self,
        name: &str,
        params: P,
    ) -> Result<R, Error> {
        if self.stopped {
            return Err(Error::Stopped);
        }
        let index = self.export(name)?;
        let exports = self.exports.clone();
        let ty = &exports[index].ty;
        let same =
            ty.params.iter().map(|(_, t)| t).eq(P::types().iter()) && ty.results == R::types();
        if !same {
            return Err(Error::MissingExport {
                name: name.to_string(),
                reason: format!("the export has another type: {ty}"),
            });
        }
        // The Rust types are the export's: nothing to check value by value.
        let outcome = self
            .call_lowered(index, &params.into_vals(), &ty.results)
            .await;
        let vals = self.settle(outcome, name)?;
        R::from_vals(vals)
            .ok_or_else(|| Error::Trap(format!("`{name}` returned other values than its type")))
    }

    /// Marks the instance stopped unless the error left it consistent; names the export in trap
    /// messages.
    pub(super) fn settle<R>(
        &mut self,
        outcome: Result<R, Error>,
        export: &str,
    ) -> Result<R, Error> {
        match outcome {
            Ok(r) => Ok(r),
            Err(e) => {
                let e = match e {
                    Error::Trap(m) => Error::Trap(format!("in `{export}`: {m}")),
                    e => e,
                };
                if !matches!(e, Error::BadArguments(_) | Error::MissingExport { .. }) {
                    self.stopped = true;
                }
                Err(e)
            }
        }
    }
}

/// What lifting one call's results may copy out of the guest: no more bytes than the capsule may
/// have memory (and at most `cabi::MAX_LIFT_BYTES`), a value per 4 of those bytes.
fn lift_budget(limits: &Limits) -> cabi::LiftBudget {
    let bytes = u32::try_from(limits.max_memory)
        .unwrap_or(u32::MAX)
        .min(cabi::MAX_LIFT_BYTES);
    cabi::LiftBudget::new(bytes, (bytes / 4).min(cabi::MAX_LIFT_VALUES))
}

/// A canonical-ABI failure: the capsule's memory or allocator misbehaved (a trap), unless the
/// host's own values did not fit the types (a bad argument).
pub(super) fn abi_error(e: CabiError, what: &str) -> Error {
    match e {
        CabiError::Mismatch { .. } | CabiError::Arity { .. } => Error::BadArguments(format!("{e}")),
        e => Error::Trap(format!("{what}: {e}")),
    }
}

pub(super) fn to_wasmi(f: &Flat) -> wasmi::Val {
    match *f {
        Flat::I32(v) => wasmi::Val::I32(v),
        Flat::I64(v) => wasmi::Val::I64(v),
        Flat::F32(v) => wasmi::Val::F32(wasmi::F32::from_float(v)),
        Flat::F64(v) => wasmi::Val::F64(wasmi::F64::from_float(v)),
    }
}

pub(super) fn from_wasmi(v: &wasmi::Val) -> Option<Flat> {
    Some(match v {
        wasmi::Val::I32(v) => Flat::I32(*v),
        wasmi::Val::I64(v) => Flat::I64(*v),
        wasmi::Val::F32(v) => Flat::F32(v.to_float()),
        wasmi::Val::F64(v) => Flat::F64(v.to_float()),
        _ => return None,
    })
}
