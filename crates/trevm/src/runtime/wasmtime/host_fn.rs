//! Wasmtime: the embedder's own host functions: imports of its own WIT interfaces, linked next to
//! `ariel:wasm-bindings`, written against [`Val`] and the embedder's store data.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::{WtEngine, convert, engine_err};
use crate::error::Error;
use crate::host::{HostRefusal, HostView};
use crate::runtime::host_error::HostFnError;
use crate::value::Val;

impl<T: HostView> WtEngine<T> {
    pub(crate) fn define_func<F>(&mut self, interface: &str, name: &str, f: F) -> Result<(), Error>
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
                    crate::value::check::check(v, &convert::val_type(&rty)).map_err(|e| {
                        refuse(format!(
                            "host function `{fname}` returned a wrong result: {e}"
                        ))
                    })?;
                    *slot = convert::to_wasmtime(v);
                }
                Ok(())
            })
            .map_err(engine_err)
    }
}
