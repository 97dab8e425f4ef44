//! Why capsule bytes were refused.

use core::fmt;

use super::layout::{FORMAT_VERSION, HEADER_LEN};
use super::stamp::StampedProfile;

/// Why capsule bytes were refused before (or while) handing them to Wasmtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CapsuleError {
    /// Fewer bytes than a header.
    TooShort {
        /// Bytes given.
        len: usize,
    },
    /// The bytes do not start with [`MAGIC`]; `looks_like` names what they seem to be instead.
    BadMagic {
        /// A guess at what the bytes are (e.g. "a core WebAssembly module"), if recognised.
        looks_like: Option<&'static str>,
    },
    /// A container format this runtime does not know.
    UnsupportedFormat {
        /// Version found.
        version: u16,
    },
    /// The header is internally inconsistent (bad length, unknown enum value, bad name).
    BadHeader(&'static str),
    /// Fewer bytes than the header announces.
    Truncated {
        /// Bytes after the header announced by the header (payload and trailer).
        expected: usize,
        /// Bytes present after the header.
        found: usize,
    },
    /// More bytes than the header announces: a capsule is exactly header, payload and trailer.
    TrailingBytes {
        /// Bytes after the end of the trailer.
        extra: usize,
    },
    /// The payload and trailer do not match their checksum.
    Corrupted {
        /// CRC in the header.
        expected: u32,
        /// CRC of the bytes present.
        found: u32,
    },
    /// Built with settings this runtime cannot load.
    ProfileMismatch {
        /// What the capsule was built for.
        capsule: StampedProfile,
        /// What this runtime runs.
        runtime: StampedProfile,
    },
    /// Code for a VM provider this build of trevm does not have (its cargo feature is off).
    ProviderMissing {
        /// What the capsule was built for.
        capsule: StampedProfile,
    },
}

impl fmt::Display for CapsuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CapsuleError::TooShort { len } => {
                write!(
                    f,
                    "not a trevm capsule: only {len} bytes, a capsule header alone is {HEADER_LEN}"
                )
            }
            CapsuleError::BadMagic {
                looks_like: Some(what),
            } => write!(
                f,
                "not a trevm capsule: this looks like {what}; precompile it with `trevm build` first"
            ),
            CapsuleError::BadMagic { looks_like: None } => {
                write!(f, "not a trevm capsule: missing the \"TREVMCAP\" magic")
            }
            CapsuleError::UnsupportedFormat { version } => write!(
                f,
                "capsule container format {version} is not supported (this runtime reads format \
                 {FORMAT_VERSION}); rebuild it with this version of `trevm build`"
            ),
            CapsuleError::BadHeader(why) => write!(f, "corrupted capsule header: {why}"),
            CapsuleError::Truncated { expected, found } => write!(
                f,
                "capsule is truncated: header announces {expected} bytes after it, only {found} present"
            ),
            CapsuleError::TrailingBytes { extra } => write!(
                f,
                "capsule has {extra} unexpected byte(s) after its end (header, payload and trailer)"
            ),
            CapsuleError::Corrupted { expected, found } => write!(
                f,
                "capsule is corrupted: CRC-32 is {found:#010x}, header says {expected:#010x}"
            ),
            CapsuleError::ProfileMismatch { capsule, runtime } => {
                write!(
                    f,
                    "capsule was built for {capsule} but this runtime runs {runtime}: "
                )?;
                capsule.describe_differences(runtime, f)?;
                write!(
                    f,
                    "; rebuild it with `trevm build --target {} --preemption {}`",
                    runtime.profile.target, runtime.profile.preemption
                )
            }
            CapsuleError::ProviderMissing { capsule } => {
                let target = capsule.profile.target;
                let what = match target {
                    crate::Target::Wasm => "plain wasm for the wasmi provider",
                    _ => "precompiled Wasmtime code",
                };
                write!(
                    f,
                    "capsule is {what} ({capsule}), but this firmware was built without trevm's \
                     `{}` feature; rebuild the capsule for a provider the device has, or the \
                     firmware with that feature",
                    target.provider()
                )
            }
        }
    }
}

impl core::error::Error for CapsuleError {}
