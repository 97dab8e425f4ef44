//! The embedder's own host functions: imports of its own WIT interfaces, linked next to
//! `ariel:wasm-bindings`, written against [`Val`] and the embedder's store data.

use alloc::vec::Vec;

use super::Runtime;
use super::host_error::HostFnError;
use crate::error::Error;
use crate::host::HostView;
use crate::value::Val;

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
    /// Wasmtime only: Wasmtime learns the function's type from each capsule's component, but a
    /// plain-wasm capsule carries no types for its imports. For both providers use
    /// [`Runtime::define_func_typed`], which states the type.
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
            "define_func needs the Wasmtime provider: use define_func_typed".into(),
        ))
    }

    /// [`Runtime::define_func`] for both providers: `ty` is the function's WIT type (e.g.
    /// `uppercase: func(input: string) -> string`), which wasmi needs to lift the arguments of a
    /// plain-wasm capsule and lower its results through the canonical ABI. On Wasmtime the
    /// capsule's own component states the type and the values are checked against it.
    pub fn define_func_typed<F>(
        &mut self,
        interface: &str,
        name: &str,
        ty: crate::value::FuncType,
        f: F,
    ) -> Result<(), Error>
    where
        F: Fn(&mut T, &[Val]) -> Result<Vec<Val>, HostFnError> + Send + Sync + 'static,
    {
        let f = alloc::sync::Arc::new(f);
        #[cfg(feature = "wasmi")]
        if let Some(w) = &mut self.wasmi {
            let shared: super::host_error::SharedHostFn<T> = f.clone();
            w.define_func(interface, name, &ty, shared)?;
        }
        #[cfg(feature = "wasmtime")]
        if let Some(w) = &mut self.wasmtime {
            w.define_func(interface, name, move |t: &mut T, args: &[Val]| f(t, args))?;
        }
        let _ = (interface, name, ty);
        Ok(())
    }
}
