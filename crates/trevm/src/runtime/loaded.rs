//! A capsule whose code Wasmtime has read, and what it exports.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use wasmtime::component::Component;

use super::Runtime;
use crate::host::HostView;

/// A capsule whose code has been deserialized; instantiate it any number of times.
#[derive(Clone)]
pub struct LoadedCapsule {
    pub(super) name: String,
    pub(super) component: Component,
}

impl core::fmt::Debug for LoadedCapsule {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LoadedCapsule")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The name and signature of one function a capsule exports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedFunc {
    /// `name`, or `interface#name` for a function inside an exported interface.
    pub name: String,
    /// Parameter names and types, e.g. `n: u32`.
    pub params: Vec<String>,
    /// Result types.
    pub results: Vec<String>,
}

impl ExportedFunc {
    /// `name` with the parameter and result types of `f`, in WIT syntax.
    pub(crate) fn describe(name: String, f: &wasmtime::component::types::ComponentFunc) -> Self {
        ExportedFunc {
            name,
            params: f
                .params()
                .map(|(n, t)| format!("{n}: {}", crate::typefmt::ty(&t)))
                .collect(),
            results: f.results().map(|t| crate::typefmt::ty(&t)).collect(),
        }
    }
}

impl LoadedCapsule {
    /// The capsule's name from its header.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The underlying Wasmtime component (for advanced embedders).
    pub fn component(&self) -> &Component {
        &self.component
    }

    /// Every function the capsule exports, with its signature.
    pub fn exported_funcs<T: HostView>(&self, runtime: &Runtime<T>) -> Vec<ExportedFunc> {
        use wasmtime::component::types::ComponentItem;
        let ty = self.component.component_type();
        let mut out = Vec::new();
        let describe = ExportedFunc::describe;
        for (name, item) in ty.exports(runtime.engine()) {
            match item.ty {
                ComponentItem::ComponentFunc(f) => out.push(describe(name.to_string(), &f)),
                ComponentItem::ComponentInstance(inst) => {
                    for (fname, item) in inst.exports(runtime.engine()) {
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
