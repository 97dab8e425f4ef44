#![no_std]
#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![deny(missing_debug_implementations)]
#![warn(clippy::undocumented_unsafe_blocks)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod argcheck;
pub mod capsule;
mod error;
pub mod fpctx;
pub mod host;
mod limits;
pub mod manifest;
pub mod profile;
mod runtime;
#[cfg(all(feature = "tls", not(feature = "std")))]
pub mod tls;
pub mod trust;
pub mod typefmt;

pub use capsule::{Capsule, CapsuleError, EmbeddedCapsule};
pub use error::Error;
pub use fpctx::FpGuarded;
#[cfg(feature = "log")]
pub use host::LogSink;
pub use host::{Grants, HostState, HostView};
pub use limits::Limits;
pub use manifest::Manifest;
pub use profile::{EngineProfile, Preemption, Target};
pub use runtime::{ExportedFunc, Instance, LoadedCapsule, Runtime, RuntimeOptions};
pub use trust::{TrustError, TrustPolicy, TrustedKey, VerifiedCapsule, VersionLedger};

/// Re-exports a capsule's dynamically typed values and Wasmtime itself, for embedders that need
/// them (e.g. calling exports with arguments).
pub use wasmtime::{self, component::Val};

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
