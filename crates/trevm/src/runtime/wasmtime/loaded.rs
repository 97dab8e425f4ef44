//! A capsule whose code Wasmtime has read, and what it exports.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use wasmtime::component::Component;

use crate::capsule::owned::OwnedBytes;
use crate::value::ExportedFunc;

/// A deserialized component, instantiable any number of times.
#[derive(Clone)]
pub(crate) struct WtLoaded {
    pub(crate) component: Component,
    /// The buffer the component's code lives in, when it was loaded in place from bytes the
    /// capsule owned (see `capsule/owned.rs`): after `component`, so it is dropped after it.
    pub(super) code: Option<Arc<OwnedBytes>>,
}

impl WtLoaded {
    pub(crate) fn runs_in_place(&self) -> bool {
        self.code.is_some()
    }

    pub(crate) fn imports(&self, engine: &wasmtime::Engine) -> Vec<String> {
        self.component
            .component_type()
            .imports(engine)
            .map(|(name, _)| name.to_string())
            .collect()
    }

    pub(crate) fn exported_funcs(&self, engine: &wasmtime::Engine) -> Vec<ExportedFunc> {
        use wasmtime::component::types::ComponentItem;
        let ty = self.component.component_type();
        let mut out = Vec::new();
        let describe = |name: String, f: &wasmtime::component::types::ComponentFunc| ExportedFunc {
            name,
            ty: super::convert::func_type(f),
        };
        for (name, item) in ty.exports(engine) {
            match item.ty {
                ComponentItem::ComponentFunc(f) => out.push(describe(name.to_string(), &f)),
                ComponentItem::ComponentInstance(inst) => {
                    for (fname, item) in inst.exports(engine) {
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
