//! [`LoadedCapsule`]: a capsule whose code a provider has read, and what it exports.

use alloc::string::String;

/// A capsule whose code has been loaded; instantiate it any number of times.
#[derive(Clone)]
pub struct LoadedCapsule {
    pub(super) name: String,
    pub(crate) kind: Kind,
}

/// Which provider loaded the capsule, and its form there.
#[derive(Clone)]
pub(crate) enum Kind {
    #[cfg(feature = "wasmtime")]
    Wasmtime(super::wasmtime::WtLoaded),
    #[cfg(feature = "wasmi")]
    Wasmi(super::wasmi::WiLoaded),
}

impl core::fmt::Debug for LoadedCapsule {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LoadedCapsule")
            .field("name", &self.name)
            .field("provider", &self.provider())
            .field("in_place", &self.runs_in_place())
            .finish_non_exhaustive()
    }
}

impl LoadedCapsule {
    /// The capsule's name from its header.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The VM provider running it: `"wasmtime"` or `"wasmi"`.
    pub fn provider(&self) -> &'static str {
        match &self.kind {
            #[cfg(feature = "wasmtime")]
            Kind::Wasmtime(_) => "wasmtime",
            #[cfg(feature = "wasmi")]
            Kind::Wasmi(_) => "wasmi",
        }
    }

    /// Whether the code runs from the buffer the capsule was given (an upload, a capsule read from
    /// the store) rather than from a copy Wasmtime made (see [`Runtime::load`](super::Runtime::load)). `false` for a
    /// capsule used in place from flash, and for wasmi, which translates the code into its own
    /// bytecode.
    pub fn runs_in_place(&self) -> bool {
        match &self.kind {
            #[cfg(feature = "wasmtime")]
            Kind::Wasmtime(l) => l.runs_in_place(),
            #[cfg(feature = "wasmi")]
            Kind::Wasmi(_) => false,
        }
    }
}
