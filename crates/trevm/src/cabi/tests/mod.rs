//! The canonical ABI against a `Vec<u8>` memory with a bump allocator.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::{CabiError, GuestMemory};
use crate::value::ValType;

mod layout;
mod refusals;
mod roundtrip;

/// A guest memory: `bytes`, and a bump allocator from `next` that never frees.
struct VecMemory {
    bytes: Vec<u8>,
    next: u32,
    /// Every `(align, size)` asked of `realloc`.
    reallocs: Vec<(u32, u32)>,
    /// Hand out pointers one byte past alignment (a broken guest allocator).
    misalign: bool,
}

impl VecMemory {
    fn new(size: usize) -> Self {
        VecMemory {
            bytes: vec![0; size],
            // Pointer 0 is never handed out, as in a real guest.
            next: 16,
            reallocs: Vec::new(),
            misalign: false,
        }
    }

    fn range(&self, ptr: u32, len: usize) -> Result<core::ops::Range<usize>, CabiError> {
        let end = u64::from(ptr) + len as u64;
        if end > self.bytes.len() as u64 {
            return Err(CabiError::OutOfBounds {
                ptr,
                len: len as u64,
            });
        }
        Ok(ptr as usize..end as usize)
    }

    fn at(&self, ptr: u32, len: usize) -> &[u8] {
        &self.bytes[ptr as usize..ptr as usize + len]
    }
}

impl GuestMemory for VecMemory {
    fn read(&mut self, ptr: u32, out: &mut [u8]) -> Result<(), CabiError> {
        let r = self.range(ptr, out.len())?;
        out.copy_from_slice(&self.bytes[r]);
        Ok(())
    }

    fn write(&mut self, ptr: u32, data: &[u8]) -> Result<(), CabiError> {
        let r = self.range(ptr, data.len())?;
        self.bytes[r].copy_from_slice(data);
        Ok(())
    }

    fn realloc(&mut self, align: u32, size: u32) -> Result<u32, CabiError> {
        self.reallocs.push((align, size));
        let ptr = self.next.next_multiple_of(align) + u32::from(self.misalign);
        let end = u64::from(ptr) + u64::from(size);
        if end > self.bytes.len() as u64 {
            return Err(CabiError::Realloc { align, size });
        }
        self.next = end as u32;
        Ok(ptr)
    }
}

fn list(t: ValType) -> ValType {
    ValType::List(Box::new(t))
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| alloc::format!("n{i}")).collect()
}
