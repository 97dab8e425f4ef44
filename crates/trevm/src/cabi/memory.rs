//! The guest's linear memory as the canonical ABI uses it, and the budget of one lift.

use alloc::vec;
use alloc::vec::Vec;

use super::bounds::{MAX_LIFT_BYTES, MAX_LIFT_VALUES};
use super::error::CabiError;

/// A guest's linear memory and allocator, as the provider gives them.
pub(crate) trait GuestMemory {
    /// Copies `out.len()` bytes from `ptr`; [`CabiError::OutOfBounds`] unless all of them are
    /// inside the memory (even for an empty `out`: `ptr` must be at most the memory's size).
    fn read(&mut self, ptr: u32, out: &mut [u8]) -> Result<(), CabiError>;
    /// Copies `data` to `ptr`; [`CabiError::OutOfBounds`] unless all of it fits, as for
    /// [`read`](Self::read).
    fn write(&mut self, ptr: u32, data: &[u8]) -> Result<(), CabiError>;
    /// The guest's `cabi_realloc(0, 0, align, size)`: a fresh block, or [`CabiError::Realloc`].
    /// The block is checked (alignment here, bounds when written), not trusted.
    fn realloc(&mut self, align: u32, size: u32) -> Result<u32, CabiError>;
}

/// What one lift may copy out of guest memory: bytes (string bytes and list element areas) and
/// [`Val`](crate::value::Val)s, counted over the whole call. [`LiftBudget::DEFAULT`] is
/// [`MAX_LIFT_BYTES`] and [`MAX_LIFT_VALUES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LiftBudget {
    bytes: u32,
    values: u32,
    max_bytes: u32,
    max_values: u32,
}

impl LiftBudget {
    /// [`MAX_LIFT_BYTES`] bytes and [`MAX_LIFT_VALUES`] values.
    pub(crate) const DEFAULT: LiftBudget = LiftBudget::new(MAX_LIFT_BYTES, MAX_LIFT_VALUES);

    /// At most `bytes` bytes and `values` values.
    pub(crate) const fn new(bytes: u32, values: u32) -> Self {
        LiftBudget {
            bytes,
            values,
            max_bytes: bytes,
            max_values: values,
        }
    }

    /// Takes `n` values out of the budget.
    pub(super) fn values(&mut self, n: u64) -> Result<(), CabiError> {
        self.values = take(self.values, n).ok_or(self.too_many_values())?;
        Ok(())
    }

    /// Whether `n` more values would fit (takes nothing): checked before reserving room for
    /// `n` list elements.
    pub(super) fn has_values(&self, n: u64) -> Result<(), CabiError> {
        take(self.values, n).map(drop).ok_or(self.too_many_values())
    }

    fn too_many_values(&self) -> CabiError {
        CabiError::TooLarge {
            what: "values lifted in one call",
            limit: self.max_values.into(),
        }
    }

    fn bytes(&mut self, n: u64) -> Result<(), CabiError> {
        self.bytes = take(self.bytes, n).ok_or(CabiError::TooLarge {
            what: "bytes lifted in one call",
            limit: self.max_bytes.into(),
        })?;
        Ok(())
    }
}

fn take(left: u32, n: u64) -> Option<u32> {
    u64::from(left)
        .checked_sub(n)
        .and_then(|l| u32::try_from(l).ok())
}

/// [`CabiError::Misaligned`] unless `ptr` is a multiple of `align`.
pub(super) fn check_aligned(ptr: u32, align: u32) -> Result<(), CabiError> {
    if align == 0 || ptr.is_multiple_of(align) {
        Ok(())
    } else {
        Err(CabiError::Misaligned { ptr, align })
    }
}

/// The `len` bytes at `ptr` (aligned to `align`) copied out of the guest, charged to `budget`.
/// `len` may be any product of guest numbers: a range past 32 bits is out of bounds.
pub(super) fn read_range(
    mem: &mut dyn GuestMemory,
    budget: &mut LiftBudget,
    ptr: u32,
    len: u64,
    align: u32,
) -> Result<Vec<u8>, CabiError> {
    check_aligned(ptr, align)?;
    if u64::from(ptr) + len > 1 << 32 {
        return Err(CabiError::OutOfBounds { ptr, len });
    }
    budget.bytes(len)?;
    // Bounded by the budget just charged.
    let mut buf = vec![0; len as usize];
    mem.read(ptr, &mut buf)?;
    Ok(buf)
}

/// A fresh block of `size` bytes aligned to `align` from the guest's allocator, checked for
/// alignment. `size` is at most `limit` (the spec's bound for what is stored there) and 32 bits.
pub(super) fn alloc(
    mem: &mut dyn GuestMemory,
    align: u32,
    size: u64,
    what: &'static str,
    limit: u64,
) -> Result<u32, CabiError> {
    let size = u32::try_from(size)
        .ok()
        .filter(|&s| u64::from(s) <= limit)
        .ok_or(CabiError::TooLarge { what, limit })?;
    let ptr = mem.realloc(align, size)?;
    check_aligned(ptr, align)?;
    Ok(ptr)
}
