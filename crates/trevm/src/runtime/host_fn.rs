//! The embedder's own host functions: imports of its own WIT interfaces, linked next to
//! `ariel:wasm-bindings`, written against [`Val`] and the embedder's store data.

use alloc::string::String;
use alloc::vec::Vec;

use super::Runtime;
use crate::error::Error;
use crate::host::HostView;
use crate::value::Val;

/// A host function refused a call: the capsule traps, and the runtime reports the message as
/// [`Error::HostRefused`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFnError(pub String);

impl core::fmt::Display for HostFnError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::error::Error for HostFnError {}

impl<T: HostView> Runtime<T> {
    /// Defines a host function capsules may import: `name` inside the imported interface
    /// `interface` (e.g. `example:example/uppercase-api@0.1.0`, or `""` for a function imported
    /// by the world directly).
    ///
    /// `f` gets the calling capsule's store data (the embedder's `T`) and the arguments, already
    /// checked against the import's parameter types when the capsule was linked; it returns the
    /// results (checked against the import's result types before they reach the capsule) or an
    /// error, which traps the capsule with [`Error::HostRefused`]. `f` runs synchronously on the
    /// capsule's call: keep it short, and never panic on what a capsule passes in.
    ///
    /// Define functions before loading capsules that import them; a capsule importing something
    /// undefined fails with [`Error::Link`] when instantiated.
    ///
    /// Wasmtime only for now: a plain-wasm capsule carries no types for its imports, so wasmi
    /// cannot lift their arguments; a wasmi capsule importing an embedder's function fails to
    /// link.
    pub fn define_func<F>(&mut self, interface: &str, name: &str, f: F) -> Result<(), Error>
    where
        F: Fn(&mut T, &[Val]) -> Result<Vec<Val>, HostFnError> + Send + Sync + 'static,
    {
        #[cfg(feature = "wasmtime")]
        if let Some(w) = &mut self.wasmtime {
            return w.define_func(interface, name, f);
        }
        let _ = (interface, name, f);
        Err(Error::Engine(
            "host functions of the embedder's own need the Wasmtime provider".into(),
        ))
    }
}
