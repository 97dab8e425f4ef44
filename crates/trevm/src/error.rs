//! Errors a capsule can cause, as values: nothing a capsule does makes the runtime panic.

use alloc::string::String;
use core::fmt;

use crate::capsule::CapsuleError;
use crate::trust::TrustError;

/// Everything that can go wrong loading, instantiating or running a capsule.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The capsule bytes were refused (not a capsule, truncated, corrupted, other profile).
    Capsule(CapsuleError),
    /// The trust policy refused the capsule (unsigned, unknown signer, bad signature, altered,
    /// not allowed, older than installed, importing what was not granted).
    Refused(TrustError),
    /// The VM refused the engine configuration or the precompiled code.
    Engine(String),
    /// The capsule's plain wasm is malformed, uses a feature the wasmi provider refuses (start
    /// function, SIMD, tail calls), exceeds its limits, or its signed export types do not match
    /// its code: nothing of it ran.
    Invalid(String),
    /// The capsule needs something the runtime does not provide (an interface not granted, a
    /// function with another signature).
    Link(String),
    /// The capsule has no export of that name, or not a function of the expected type.
    MissingExport {
        /// The export looked for.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The arguments do not fit the export's parameters.
    BadArguments(String),
    /// The capsule trapped (e.g. `unreachable`, out-of-bounds access, stack overflow); the
    /// message includes Wasmtime's trap description and wasm backtrace.
    Trap(String),
    /// The capsule used up its fuel ([`Limits::fuel`](crate::Limits::fuel)).
    OutOfFuel,
    /// The call ran longer than [`Limits::timeout`](crate::Limits::timeout) and was stopped.
    Timeout {
        /// The limit, in milliseconds.
        after_ms: u64,
    },
    /// The capsule asked for more linear memory than [`Limits::max_memory`](crate::Limits::max_memory).
    MemoryLimit {
        /// Bytes of linear memory requested.
        requested: usize,
        /// The limit.
        limit: usize,
    },
    /// A host call refused the guest's request (e.g. `random-bytes` over its cap) and trapped.
    HostRefused(String),
    /// The device ran out of heap while instantiating or running the capsule (its linear
    /// memory, a stack, Wasmtime's own structures): not the capsule's fault, and worth trying
    /// again once other capsules are gone.
    DeviceOutOfMemory(String),
    /// The instance was stopped by an earlier trap or timeout; instantiate the capsule again.
    Stopped,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Capsule(e) => fmt::Display::fmt(e, f),
            Error::Refused(e) => fmt::Display::fmt(e, f),
            Error::Engine(m) => write!(f, "VM engine error: {m}"),
            Error::Invalid(m) => write!(f, "invalid capsule code: {m}"),
            Error::Link(m) => write!(f, "cannot link capsule: {m}"),
            Error::MissingExport { name, reason } => write!(f, "export `{name}`: {reason}"),
            Error::BadArguments(m) => write!(f, "bad arguments: {m}"),
            Error::Trap(m) => write!(f, "capsule trapped: {m}"),
            Error::OutOfFuel => write!(f, "capsule ran out of fuel"),
            Error::Timeout { after_ms } => {
                write!(
                    f,
                    "capsule timed out: stopped after {}",
                    crate::fmt_ms(*after_ms)
                )
            }
            Error::MemoryLimit { requested, limit } => write!(
                f,
                "capsule hit its memory limit: asked for {requested} bytes of linear memory, limit is {limit}"
            ),
            Error::HostRefused(m) => write!(f, "host refused a capsule request: {m}"),
            Error::DeviceOutOfMemory(m) => write!(f, "the device is out of memory: {m}"),
            Error::Stopped => write!(
                f,
                "capsule instance was stopped by an earlier error; instantiate it again"
            ),
        }
    }
}

impl core::error::Error for Error {}

impl From<CapsuleError> for Error {
    fn from(e: CapsuleError) -> Self {
        Error::Capsule(e)
    }
}

impl From<TrustError> for Error {
    fn from(e: TrustError) -> Self {
        Error::Refused(e)
    }
}
