#![no_std]
#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![deny(missing_debug_implementations)]
#![warn(clippy::undocumented_unsafe_blocks)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod argcheck;
#[cfg(feature = "wasmi")]
mod cabi;
pub mod capsule;
mod error;
#[cfg(feature = "escape-hatch")]
pub mod escape_hatch;
pub mod fpctx;
pub mod host;
mod limits;
pub mod manifest;
pub mod profile;
mod runtime;
#[cfg(all(feature = "tls", not(feature = "std")))]
pub mod tls;
// With `std`, Wasmtime keeps its thread-locals itself; plain statics from `tls` would be shared by
// every thread. Refuse the combination instead of silently dropping one of them.
#[cfg(all(feature = "tls", feature = "std"))]
compile_error!(
    "trevm's `tls` feature is for single-core no_std targets; with `std` Wasmtime brings its own \
     thread-locals: turn `tls` off"
);
pub mod trust;
pub mod value;

pub use capsule::{Capsule, CapsuleError, EmbeddedCapsule};
pub use error::Error;
pub use fpctx::FpGuarded;
#[cfg(feature = "log")]
pub use host::LogSink;
pub use host::{Grants, HostState, HostView};
pub use limits::Limits;
pub use manifest::Manifest;
pub use profile::{EngineProfile, Preemption, Target};
#[cfg(target_has_atomic = "64")]
pub use runtime::EpochTicker;
pub use runtime::{
    COAP_SERVER_GUEST, CoapGuestError, HostFnError, Instance, LoadedCapsule, Runtime,
    RuntimeOptions, WasmParams, WasmResults, WasmType,
};
pub use trust::{TrustError, TrustPolicy, TrustedKey, VerifiedCapsule, VersionLedger};

pub use value::{ExportedFunc, FuncType, Val, ValType};

/// Re-exported so applications name the same durations the runtime uses.
pub use embassy_time::Duration;

/// `1234` → `"1.234 s"`, `800` → `"800 ms"`.
pub(crate) fn fmt_ms(ms: u64) -> alloc::string::String {
    if ms >= 1000 && ms.is_multiple_of(1000) {
        alloc::format!("{} s", ms / 1000)
    } else if ms >= 1000 {
        alloc::format!("{}.{:03} s", ms / 1000, ms % 1000)
    } else {
        alloc::format!("{ms} ms")
    }
}
