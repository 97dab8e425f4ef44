//! **Wasmtime itself, for embedders who need what trevm's seam does not offer.**
//!
//! Everything else in trevm is written in terms of capsules, [`Val`](crate::Val)s, limits and
//! trust, so that applications keep working when the VM underneath changes (a second provider,
//! a Wasmtime upgrade). Code using this module gives that up: it is tied to Wasmtime, to the
//! exact version trevm pins, and to trevm's internal use of it (which store data, which engine
//! settings). Enable it with the cargo feature `escape-hatch`, and prefer asking for the missing
//! piece in trevm's own API.
//!
//! With this feature, capsules in buffers they own ([`Capsule::from_vec`](crate::Capsule::from_vec))
//! are always copied at load, never used in place: a `Component` cloned from
//! [`LoadedCapsule::wasmtime_component`], or a `Store` swapped out of
//! [`Instance::wasmtime_store_mut`], could outlive the buffer (see `capsule/owned.rs`).

pub use wasmtime;

use crate::host::HostView;
use crate::runtime::{Inner, Instance, Kind, LoadedCapsule, Runtime};

impl<T: HostView> Runtime<T> {
    /// The Wasmtime engine (`None` for a runtime made for plain wasm only).
    pub fn wasmtime_engine(&self) -> Option<&wasmtime::Engine> {
        self.wasmtime.as_ref().map(|w| &w.engine)
    }

    /// The Wasmtime linker capsules are instantiated with (e.g. for `bindgen!`-generated
    /// `add_to_linker` of the embedder's own WIT worlds). Host functions defined here must not
    /// panic on guest input. `None` without Wasmtime.
    pub fn wasmtime_linker_mut(&mut self) -> Option<&mut wasmtime::component::Linker<T>> {
        self.wasmtime.as_mut().map(|w| &mut w.linker)
    }
}

impl LoadedCapsule {
    /// The Wasmtime component (`None` for a capsule wasmi runs).
    pub fn wasmtime_component(&self) -> Option<&wasmtime::component::Component> {
        match &self.kind {
            Kind::Wasmtime(l) => Some(&l.component),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}

impl<T: HostView> Instance<T> {
    /// An exported function as Wasmtime's (`name` as in [`Instance::call`]). Calls made through
    /// it bypass trevm's limits, timeout and error classification. A capsule wasmi runs has
    /// none ([`Error::MissingExport`](crate::Error::MissingExport)).
    pub fn wasmtime_func(&mut self, name: &str) -> Result<wasmtime::component::Func, crate::Error> {
        match &mut self.inner {
            Inner::Wasmtime(i) => i.func(name),
            #[allow(unreachable_patterns)]
            _ => Err(crate::Error::MissingExport {
                name: alloc::string::String::from(name),
                reason: "the capsule runs on wasmi, not Wasmtime".into(),
            }),
        }
    }

    /// The Wasmtime store (`None` for a capsule wasmi runs).
    pub fn wasmtime_store_mut(&mut self) -> Option<&mut wasmtime::Store<T>> {
        match &mut self.inner {
            Inner::Wasmtime(i) => Some(&mut i.store),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}
