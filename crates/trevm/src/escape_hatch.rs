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
use crate::runtime::{Instance, LoadedCapsule, Runtime};

impl<T: HostView> Runtime<T> {
    /// The Wasmtime engine.
    pub fn wasmtime_engine(&self) -> &wasmtime::Engine {
        &self.engine
    }

    /// The Wasmtime linker capsules are instantiated with (e.g. for `bindgen!`-generated
    /// `add_to_linker` of the embedder's own WIT worlds). Host functions defined here must not
    /// panic on guest input.
    pub fn wasmtime_linker_mut(&mut self) -> &mut wasmtime::component::Linker<T> {
        &mut self.linker
    }
}

impl LoadedCapsule {
    /// The Wasmtime component.
    pub fn wasmtime_component(&self) -> &wasmtime::component::Component {
        &self.component
    }
}

impl<T: HostView> Instance<T> {
    /// An exported function as Wasmtime's (`name` as in [`Instance::call`]). Calls made through
    /// it bypass trevm's limits, timeout and error classification.
    pub fn wasmtime_func(&mut self, name: &str) -> Result<wasmtime::component::Func, crate::Error> {
        self.func(name)
    }

    /// The Wasmtime store.
    pub fn wasmtime_store_mut(&mut self) -> &mut wasmtime::Store<T> {
        &mut self.store
    }
}
