//! The guest as the canonical ABI sees it: its exported linear memory `memory`, and its
//! `cabi_realloc` for the host to allocate in it.

use wasmi::{Instance, Memory, Store, TypedFunc};

use crate::cabi::{CabiError, GuestMemory};
use crate::host::HostView;

/// `cabi_realloc(old_ptr, old_size, align, new_size) -> ptr`.
type Realloc = TypedFunc<(i32, i32, i32, i32), i32>;

/// The handles the canonical ABI needs, looked up once per instance: its exported `memory` and
/// `cabi_realloc`, if it has them.
#[derive(Debug, Clone, Copy)]
pub(super) struct Handles {
    memory: Option<Memory>,
    realloc: Option<Realloc>,
}

impl Handles {
    pub(super) fn of<T>(store: &Store<T>, instance: &Instance) -> Self {
        Handles {
            memory: instance.get_memory(store, "memory"),
            realloc: instance
                .get_typed_func::<(i32, i32, i32, i32), i32>(store, "cabi_realloc")
                .ok(),
        }
    }
}

/// A capsule's memory and allocator, for the duration of one lowering or lifting.
pub(super) struct Guest<'s, T: HostView> {
    store: &'s mut Store<T>,
    memory: Option<Memory>,
    realloc: Option<Realloc>,
}

impl<'s, T: HostView> Guest<'s, T> {
    pub(super) fn new(store: &'s mut Store<T>, handles: Handles) -> Self {
        Guest {
            store,
            memory: handles.memory,
            realloc: handles.realloc,
        }
    }

    fn bytes(&self) -> Result<&[u8], CabiError> {
        let memory = self.memory.ok_or(CabiError::NoMemory)?;
        Ok(memory.data(&*self.store))
    }
}

/// `ptr..ptr+len` inside a memory of `size` bytes, or why not.
pub(super) fn span(
    ptr: u32,
    len: usize,
    size: usize,
) -> Result<core::ops::Range<usize>, CabiError> {
    let start = ptr as usize;
    match start.checked_add(len) {
        Some(end) if end <= size => Ok(start..end),
        _ => Err(CabiError::OutOfBounds {
            ptr,
            len: len as u64,
        }),
    }
}

impl<T: HostView> GuestMemory for Guest<'_, T> {
    fn read(&mut self, ptr: u32, out: &mut [u8]) -> Result<(), CabiError> {
        let bytes = self.bytes()?;
        let range = span(ptr, out.len(), bytes.len())?;
        out.copy_from_slice(&bytes[range]);
        Ok(())
    }

    fn write(&mut self, ptr: u32, data: &[u8]) -> Result<(), CabiError> {
        let memory = self.memory.ok_or(CabiError::NoMemory)?;
        let bytes = memory.data_mut(&mut *self.store);
        let range = span(ptr, data.len(), bytes.len())?;
        bytes[range].copy_from_slice(data);
        Ok(())
    }

    fn realloc(&mut self, align: u32, size: u32) -> Result<u32, CabiError> {
        let failed = CabiError::Realloc { align, size };
        let realloc = self.realloc.ok_or(failed.clone())?;
        // A trap in the allocator (or its running out of fuel) is the capsule's failure to
        // allocate: the call that needed the memory fails.
        let ptr = realloc
            .call(&mut *self.store, (0, 0, align as i32, size as i32))
            .map_err(|_| failed)?;
        Ok(ptr as u32)
    }
}
