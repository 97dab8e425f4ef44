//! A capsule whose code Wasmtime has read, and what it exports.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use wasmtime::component::Component;

use super::Runtime;
use crate::capsule::owned::OwnedBytes;
use crate::host::HostView;
use crate::value::ExportedFunc;

/// A capsule whose code has been deserialized; instantiate it any number of times.
#[derive(Clone)]
pub struct LoadedCapsule {
    pub(super) name: String,
    pub(crate) component: Component,
    /// The buffer the component's code lives in, when it was loaded in place from bytes the
    /// capsule owned (see `capsule/owned.rs`): after `component`, so it is dropped after it.
    pub(super) code: Option<Arc<OwnedBytes>>,
}

impl core::fmt::Debug for LoadedCapsule {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LoadedCapsule")
            .field("name", &self.name)
            .field("in_place", &self.code.is_some())
            .finish_non_exhaustive()
    }
}

impl LoadedCapsule {
    /// The capsule's name from its header.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the code runs from the buffer the capsule was given (an upload, a capsule read from
    /// the store) rather than from a copy Wasmtime made (see [`Runtime::load`]). `false` for a
    /// capsule used in place from flash, too.
    pub fn runs_in_place(&self) -> bool {
        self.code.is_some()
    }

    /// The interfaces and functions the capsule imports, by name (e.g.
    /// `ariel:wasm-bindings/log-api@0.0.1`).
    pub fn imports<T: HostView>(&self, runtime: &Runtime<T>) -> Vec<String> {
        self.component
            .component_type()
            .imports(&runtime.engine)
            .map(|(name, _)| name.to_string())
            .collect()
    }

    /// Every function the capsule exports, with its signature.
    pub fn exported_funcs<T: HostView>(&self, runtime: &Runtime<T>) -> Vec<ExportedFunc> {
        use wasmtime::component::types::ComponentItem;
        let ty = self.component.component_type();
        let mut out = Vec::new();
        let describe = |name: String, f: &wasmtime::component::types::ComponentFunc| ExportedFunc {
            name,
            ty: super::convert::func_type(f),
        };
        for (name, item) in ty.exports(&runtime.engine) {
            match item.ty {
                ComponentItem::ComponentFunc(f) => out.push(describe(name.to_string(), &f)),
                ComponentItem::ComponentInstance(inst) => {
                    for (fname, item) in inst.exports(&runtime.engine) {
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
