//! Scalar conversions the spec prescribes: canonical NaNs and `char` validation.

use super::error::CabiError;

/// `x`, or the canonical NaN (`0x7fc00000`) if `x` is any NaN: the spec's deterministic
/// `canonicalize_nan32`, applied both ways so no NaN payload crosses the boundary.
pub(super) fn canon_f32(x: f32) -> f32 {
    if x.is_nan() {
        f32::from_bits(0x7fc0_0000)
    } else {
        x
    }
}

/// `x`, or the canonical NaN (`0x7ff8000000000000`) if `x` is any NaN.
pub(super) fn canon_f64(x: f64) -> f64 {
    if x.is_nan() {
        f64::from_bits(0x7ff8_0000_0000_0000)
    } else {
        x
    }
}

/// The `char` with scalar value `c`; [`CabiError::InvalidChar`] for surrogates and values past
/// `0x10FFFF`.
pub(super) fn char_from(c: u32) -> Result<char, CabiError> {
    char::from_u32(c).ok_or(CabiError::InvalidChar(c))
}

/// The `count` bytes at `at` of `b` as a little-endian unsigned number (`count` ≤ 8).
pub(super) fn le(b: &[u8], at: u32, count: u32) -> u64 {
    let at = at as usize;
    b[at..at + count as usize]
        .iter()
        .rev()
        .fold(0, |n, &byte| (n << 8) | u64::from(byte))
}

/// Writes the low `count` bytes of `n` little-endian at `at` of `b`.
pub(super) fn put_le(b: &mut [u8], at: u32, count: u32, n: u64) {
    let at = at as usize;
    b[at..at + count as usize].copy_from_slice(&n.to_le_bytes()[..count as usize]);
}
