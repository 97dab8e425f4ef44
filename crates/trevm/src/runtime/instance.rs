//! [`Instance`]: a running capsule, on whichever provider loaded it.

use alloc::string::ToString;
use alloc::vec::Vec;

use super::typed::{WasmParams, WasmResults};
use crate::error::Error;
use crate::host::{HostState, HostView};
use crate::value::{ExportedFunc, FuncType, Val};

/// A running capsule: its store, its instance and its limits.
///
/// After a trap or timeout the instance is stopped (the VM's state may be mid-call); every
/// later call returns [`Error::Stopped`]. Instantiate again for a fresh start.
pub struct Instance<T: HostView = HostState> {
    pub(crate) inner: Inner<T>,
}

pub(crate) enum Inner<T: HostView> {
    #[cfg(feature = "wasmtime")]
    Wasmtime(super::wasmtime::WtInstance<T>),
    /// Boxed: wasmi's store holds its engine state inline, several times Wasmtime's handle.
    #[cfg(feature = "wasmi")]
    Wasmi(alloc::boxed::Box<super::wasmi::WiInstance<T>>),
}

/// Runs the same expression on whichever provider's instance this is.
macro_rules! each {
    ($inner:expr, $i:ident => $e:expr) => {
        match $inner {
            #[cfg(feature = "wasmtime")]
            Inner::Wasmtime($i) => $e,
            #[cfg(feature = "wasmi")]
            Inner::Wasmi($i) => $e,
        }
    };
}
pub(super) use each;

impl<T: HostView> core::fmt::Debug for Instance<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        each!(&self.inner, i => core::fmt::Debug::fmt(i, f))
    }
}

impl<T: HostView> Instance<T> {
    /// The host state (capsule name, sinks).
    pub fn host(&self) -> &HostState {
        self.data().host()
    }

    /// The host state, mutably.
    pub fn host_mut(&mut self) -> &mut HostState {
        self.data_mut().host_mut()
    }

    /// The whole store data: the embedder's `T`.
    pub fn data(&self) -> &T {
        each!(&self.inner, i => i.data())
    }

    /// The whole store data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        each!(&mut self.inner, i => i.data_mut())
    }

    /// The VM provider running this capsule: `"wasmtime"` or `"wasmi"`.
    pub fn provider(&self) -> &'static str {
        match &self.inner {
            #[cfg(feature = "wasmtime")]
            Inner::Wasmtime(_) => "wasmtime",
            #[cfg(feature = "wasmi")]
            Inner::Wasmi(_) => "wasmi",
        }
    }

    /// Fuel burnt since instantiation (with fuel preemption). Each provider counts in its own
    /// units (Pulley's and wasmi's fuel are not comparable).
    pub fn fuel_consumed(&self) -> Option<u64> {
        each!(&self.inner, i => i.fuel_consumed())
    }

    /// The largest size one of the capsule's linear memories has had, in bytes (its initial
    /// size, or what it grew to).
    pub fn peak_memory(&self) -> usize {
        self.host().limiter.peak
    }

    /// Whether an earlier error stopped this instance.
    pub fn is_stopped(&self) -> bool {
        each!(&self.inner, i => i.is_stopped())
    }

    /// Calls the capsule's `run: func()` export, as upstream trevm payloads have.
    pub async fn call_run(&mut self) -> Result<(), Error> {
        self.call_typed::<(), ()>("run", ()).await
    }

    /// What an exported function takes and returns (`name` as in [`Instance::call`]): how an
    /// embedder checks a capsule's world without calling it.
    pub fn signature(&mut self, name: &str) -> Result<FuncType, Error> {
        each!(&mut self.inner, i => i.signature(name))
    }

    /// An exported function's name and signature; it prints as WIT does
    /// (`fibonacci(n: u32) -> u32`).
    pub fn describe(&mut self, name: &str) -> Result<ExportedFunc, Error> {
        Ok(ExportedFunc {
            name: name.to_string(),
            ty: self.signature(name)?,
        })
    }

    /// Calls an exported function with dynamically typed arguments and returns its results.
    ///
    /// `name` is the export's name, or `interface#name` for a function inside an exported
    /// interface. The arguments are checked against the export's parameter types first: a
    /// mismatch is [`Error::BadArguments`] and leaves the instance usable.
    pub async fn call(&mut self, name: &str, args: &[Val]) -> Result<Vec<Val>, Error> {
        each!(&mut self.inner, i => i.call(name, args).await)
    }

    /// Calls an exported function whose types the application knows, without dynamic values
    /// on Wasmtime (wasmi goes through [`Val`]s and the canonical ABI):
    /// `inst.call_typed::<(u32,), (u32,)>("fibonacci", (20,))`. See [`WasmParams`] for the Rust
    /// types that stand for WIT types. A capsule whose export has other types gets
    /// [`Error::MissingExport`] saying which types it has.
    pub async fn call_typed<P: WasmParams, R: WasmResults>(
        &mut self,
        name: &str,
        params: P,
    ) -> Result<R, Error> {
        each!(&mut self.inner, i => i.call_typed::<P, R>(name, params).await)
    }
}
