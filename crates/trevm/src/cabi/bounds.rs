//! The bounds of the canonical ABI: the spec's flattening limits and this crate's guards against
//! hostile guests and absurd types.

/// At most this many core parameters; more are passed in memory behind one `i32` pointer.
pub(crate) const MAX_FLAT_PARAMS: usize = 16;
/// At most this many core results; more are passed in memory behind one `i32` pointer.
pub(crate) const MAX_FLAT_RESULTS: usize = 1;
/// Deepest nesting of a type (a `list<list<u8>>` is 2 deep): bounds the recursion of every
/// function of this module.
pub(crate) const MAX_DEPTH: u32 = 32;
/// Most names a `flags` type may have (one 32-bit word of bits).
pub(crate) const MAX_FLAGS: usize = 32;
/// Most bytes one lift copies out of guest memory (string bytes plus list element areas).
pub(crate) const MAX_LIFT_BYTES: u32 = 1 << 20;
/// Most [`Val`](crate::value::Val)s one lift creates (each element of a `list<u8>` is one).
pub(crate) const MAX_LIFT_VALUES: u32 = 1 << 16;
