//! The embedder's own host functions: imports of its own WIT interfaces, linked next to
//! `ariel:wasm-bindings`, written against [`Val`] and the embedder's store data.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::{Runtime, convert, engine_err};
use crate::error::Error;
use crate::host::{HostRefusal, HostView};
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
    /// no one defined fails to instantiate with [`Error::Link`].
    pub fn define_func<F>(&mut self, interface: &str, name: &str, f: F) -> Result<(), Error>
    where
        F: Fn(&mut T, &[Val]) -> Result<Vec<Val>, HostFnError> + Send + Sync + 'static,
    {
        let mut scope = if interface.is_empty() {
            self.linker.root()
        } else {
            self.linker.instance(interface).map_err(engine_err)?
        };
        let fname = String::from(name);
        scope
            .func_new(name, move |mut store, ty, params, results| {
                let refuse = |m: String| wasmtime::Error::new(HostRefusal(m));
                let args = params
                    .iter()
                    .cloned()
                    .map(convert::from_wasmtime)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| refuse(format!("`{fname}` was passed {e}")))?;
                let out = f(store.data_mut(), &args).map_err(|e| refuse(e.0))?;
                if out.len() != results.len() {
                    return Err(refuse(format!(
                        "host function `{fname}` returned {} value(s) for {} result(s)",
                        out.len(),
                        results.len()
                    )));
                }
                for ((slot, v), rty) in results.iter_mut().zip(&out).zip(ty.results()) {
                    let v = convert::to_wasmtime(v);
                    crate::argcheck::check(&v, &rty).map_err(|e| {
                        refuse(format!(
                            "host function `{fname}` returned a wrong result: {e}"
                        ))
                    })?;
                    *slot = v;
                }
                Ok(())
            })
            .map_err(engine_err)
    }
}
