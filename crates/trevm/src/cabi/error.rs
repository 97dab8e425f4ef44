//! What can go wrong between a value and its canonical-ABI form.

use alloc::string::String;
use core::fmt;

use super::bounds::{MAX_DEPTH, MAX_FLAGS};

/// Why a value could not be lifted from, or lowered into, a guest. When lifting, most of these
/// mean the guest broke the canonical ABI (the component model traps there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CabiError {
    /// `len` bytes from `ptr` are not all inside the guest's memory (or `ptr + len` does not fit
    /// 32 bits). Also what a [`GuestMemory`](super::GuestMemory) answers for a bad access.
    OutOfBounds {
        /// Start of the range.
        ptr: u32,
        /// Length of the range in bytes (a list's length times its element size may pass 32 bits).
        len: u64,
    },
    /// `ptr` is not a multiple of `align`, as the type stored there requires.
    Misaligned {
        /// The pointer.
        ptr: u32,
        /// The alignment the type requires.
        align: u32,
    },
    /// The `len` bytes of a string at `ptr` are not utf-8.
    InvalidUtf8 {
        /// Where the string is.
        ptr: u32,
        /// Its length in bytes.
        len: u32,
    },
    /// A variant, enum, option or result whose discriminant names no case.
    BadDiscriminant {
        /// The type, in WIT.
        ty: String,
        /// The discriminant read.
        value: u32,
    },
    /// A `char` that is not a Unicode scalar value (a surrogate or beyond `0x10FFFF`).
    InvalidChar(u32),
    /// A value does not have the type it is given with.
    Mismatch {
        /// The type expected, in WIT.
        expected: String,
        /// What was there instead.
        found: String,
    },
    /// A different number of values than of types.
    Arity {
        /// How many types.
        expected: usize,
        /// How many values.
        found: usize,
    },
    /// The core values do not have the core types the signature gives (a provider's bug: it
    /// should have checked the core function's type).
    CoreType {
        /// The core type (`i32`, …) expected here, `None` when there should be no more values.
        expected: Option<&'static str>,
        /// The core type found, `None` when values ran out.
        found: Option<&'static str>,
    },
    /// Results spill to memory but no return pointer was given (`needed`), or one was given for
    /// results that do not spill (`!needed`).
    RetPtr {
        /// Whether the signature needs one.
        needed: bool,
    },
    /// More than a bound allows: `what` of at most `limit`.
    TooLarge {
        /// What was counted.
        what: &'static str,
        /// The bound.
        limit: u64,
    },
    /// A type the canonical ABI here does not handle (a resource, a future, a stream), by name.
    Unsupported(String),
    /// A `flags` type with more names than [`MAX_FLAGS`].
    TooManyFlags(usize),
    /// A type nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// The guest's `cabi_realloc` failed (trapped, or is missing) when asked for `size` bytes
    /// aligned to `align`.
    Realloc {
        /// Alignment asked for.
        align: u32,
        /// Size asked for.
        size: u32,
    },
    /// The guest exports no linear memory named `memory`, which strings and lists need.
    NoMemory,
}

impl fmt::Display for CabiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CabiError::OutOfBounds { ptr, len } => {
                write!(f, "{len} bytes at {ptr:#x} are outside the guest's memory")
            }
            CabiError::Misaligned { ptr, align } => write!(
                f,
                "pointer {ptr:#x} is not aligned to {align} bytes as its type requires"
            ),
            CabiError::InvalidUtf8 { ptr, len } => {
                write!(
                    f,
                    "the string of {len} bytes at {ptr:#x} is not valid utf-8"
                )
            }
            CabiError::BadDiscriminant { ty, value } => {
                write!(f, "discriminant {value} names no case of `{ty}`")
            }
            CabiError::InvalidChar(c) => write!(f, "{c:#x} is not a valid `char`"),
            CabiError::Mismatch { expected, found } => {
                write!(f, "value does not match type `{expected}`: found {found}")
            }
            CabiError::Arity { expected, found } => {
                write!(f, "expected {expected} values, got {found}")
            }
            CabiError::CoreType { expected, found } => {
                let name = |t: &Option<&'static str>| t.unwrap_or("nothing");
                write!(
                    f,
                    "core values do not match the signature: expected {}, found {}",
                    name(expected),
                    name(found)
                )
            }
            CabiError::RetPtr { needed: true } => {
                f.write_str("the results go to memory but no return pointer was given")
            }
            CabiError::RetPtr { needed: false } => {
                f.write_str("a return pointer was given for results that are returned directly")
            }
            CabiError::TooLarge { what, limit } => {
                write!(f, "too large: more than {limit} {what}")
            }
            CabiError::NoMemory => f.write_str("the capsule exports no linear memory `memory`"),
            CabiError::Unsupported(ty) => {
                write!(f, "type `{ty}` is not supported by the canonical ABI here")
            }
            CabiError::TooManyFlags(n) => {
                write!(f, "flags with {n} names: at most {MAX_FLAGS} are supported")
            }
            CabiError::TooDeep => write!(f, "type nested deeper than {MAX_DEPTH} levels"),
            CabiError::Realloc { align, size } => write!(
                f,
                "the guest's cabi_realloc failed to allocate {size} bytes aligned to {align}"
            ),
        }
    }
}
