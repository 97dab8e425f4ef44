//! The guest side of a wasmi host call: its exported `memory` and `cabi_realloc`, found by the
//! names the canonical ABI gives them, with bounds- and alignment-checked access, and
//! [`GuestFault`], what a host call answers to a guest that passed something invalid.

use alloc::string::String;
use core::ops::Range;

use wasmi::{AsContext, AsContextMut, Caller, Extern, Func, Instance, Memory, StoreContext};
use wasmi::{StoreContextMut, TypedFunc};

/// The guest passed a host call something the canonical ABI does not allow (a pointer out of
/// bounds or misaligned, a string that is not UTF-8, a discriminant with no case), or lacks what
/// the call needs (`memory`, `cabi_realloc`). On Wasmtime the same guest traps while its
/// arguments are lifted or its results lowered; here the host function returns this error, which
/// the driver reports as a trap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GuestFault(pub(crate) String);

impl core::fmt::Display for GuestFault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl wasmi::errors::HostError for GuestFault {}

impl From<GuestFault> for wasmi::Error {
    fn from(fault: GuestFault) -> Self {
        wasmi::Error::host(fault)
    }
}

/// A refusal answers a wasmi host call with this error; the driver reports it as
/// [`Error::HostRefused`](crate::Error::HostRefused).
impl wasmi::errors::HostError for super::super::HostRefusal {}

impl From<super::super::HostRefusal> for wasmi::Error {
    fn from(refusal: super::super::HostRefusal) -> Self {
        wasmi::Error::host(refusal)
    }
}

/// `what: …`, as a [`GuestFault`].
pub(crate) fn fault(what: &str, why: &str) -> GuestFault {
    GuestFault(alloc::format!("{what}: {why}"))
}

/// Fuel lent to one `cabi_realloc` call the host makes. The allocator runs as a nested call,
/// which wasmi cannot suspend: should the fuel slice the driver gave end inside it, the call
/// would trap instead of yielding. So the host tops the fuel up by this much for the call, and
/// takes what the call burnt off the slice afterwards (down to zero: the driver refills at the
/// next check, and a slice overshoots by at most this). A guest allocator that burns more traps
/// with "out of fuel".
pub(crate) const REALLOC_FUEL: u64 = 1_000_000;

/// A guest's `memory` and, if it exports one, its `cabi_realloc`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GuestMem {
    memory: Memory,
    realloc: Option<Func>,
}

impl GuestMem {
    fn from_exports(
        what: &str,
        memory: Option<Extern>,
        realloc: Option<Extern>,
    ) -> Result<Self, GuestFault> {
        let memory = memory
            .and_then(Extern::into_memory)
            .ok_or_else(|| fault(what, "the capsule exports no `memory`"))?;
        Ok(GuestMem {
            memory,
            realloc: realloc.and_then(Extern::into_func),
        })
    }

    /// The memory and allocator of the instance a host function was called from.
    pub(crate) fn of_caller<T>(what: &str, caller: &Caller<'_, T>) -> Result<Self, GuestFault> {
        Self::from_exports(
            what,
            caller.get_export("memory"),
            caller.get_export("cabi_realloc"),
        )
    }

    /// The memory and allocator of `instance`.
    #[cfg_attr(not(any(feature = "udp", feature = "sensors")), allow(dead_code))]
    pub(crate) fn of_instance(
        what: &str,
        ctx: impl AsContext,
        instance: &Instance,
    ) -> Result<Self, GuestFault> {
        let ctx = ctx.as_context();
        Self::from_exports(
            what,
            instance.get_export(ctx, "memory"),
            instance.get_export(ctx, "cabi_realloc"),
        )
    }

    /// The memory.
    pub(crate) fn memory(&self) -> Memory {
        self.memory
    }

    /// `len` bytes at `ptr`, which must be aligned to `align` (a power of two).
    pub(crate) fn slice<'a, T: 'a>(
        &self,
        what: &str,
        ctx: impl Into<StoreContext<'a, T>>,
        ptr: u32,
        len: u32,
        align: u32,
    ) -> Result<&'a [u8], GuestFault> {
        let data = self.memory.data(ctx);
        Ok(&data[checked_range(what, data.len(), ptr, len, align)?])
    }

    /// `len` bytes at `ptr` to write, which must be aligned to `align` (a power of two).
    #[cfg_attr(not(any(feature = "udp", feature = "sensors")), allow(dead_code))]
    pub(crate) fn slice_mut<'a, T: 'a>(
        &self,
        what: &str,
        ctx: impl Into<StoreContextMut<'a, T>>,
        ptr: u32,
        len: u32,
        align: u32,
    ) -> Result<&'a mut [u8], GuestFault> {
        let data = self.memory.data_mut(ctx);
        let range = checked_range(what, data.len(), ptr, len, align)?;
        Ok(&mut data[range])
    }

    /// Allocates `size` bytes aligned to `align` in the guest by calling its
    /// `cabi_realloc(0, 0, align, size)`, as the canonical ABI lowers a list; the pointer is
    /// checked to be aligned and in bounds. The call runs on fuel lent for it
    /// ([`REALLOC_FUEL`]).
    pub(crate) fn realloc(
        &self,
        what: &str,
        mut ctx: impl AsContextMut,
        align: u32,
        size: u32,
    ) -> Result<u32, wasmi::Error> {
        let realloc: TypedFunc<(i32, i32, i32, i32), i32> = self
            .realloc
            .ok_or_else(|| fault(what, "the capsule exports no `cabi_realloc`"))?
            .typed(&ctx)
            .map_err(|_| fault(what, "the capsule's `cabi_realloc` has the wrong type"))?;
        let lent = match ctx.as_context().get_fuel() {
            Ok(left) => {
                ctx.as_context_mut()
                    .set_fuel(left.saturating_add(REALLOC_FUEL))?;
                Some(left)
            }
            Err(_) => None, // fuel metering is off
        };
        let called = realloc.call(&mut ctx, (0, 0, align as i32, size as i32));
        if let Some(left) = lent {
            let now = ctx.as_context().get_fuel()?;
            let burnt = left.saturating_add(REALLOC_FUEL).saturating_sub(now);
            ctx.as_context_mut().set_fuel(left.saturating_sub(burnt))?;
        }
        let ptr = called? as u32;
        let len = self.memory.data(&ctx).len();
        checked_range(what, len, ptr, size, align).map_err(|_| {
            fault(
                what,
                "`cabi_realloc` returned a pointer out of bounds or misaligned",
            )
        })?;
        Ok(ptr)
    }
}

/// `ptr..ptr + len` if it lies in a memory of `memory_len` bytes and `ptr` is aligned to `align`
/// (a power of two).
pub(crate) fn checked_range(
    what: &str,
    memory_len: usize,
    ptr: u32,
    len: u32,
    align: u32,
) -> Result<Range<usize>, GuestFault> {
    if !ptr.is_multiple_of(align) {
        return Err(fault(what, "pointer not aligned"));
    }
    let start = ptr as usize;
    let end = start
        .checked_add(len as usize)
        .filter(|end| *end <= memory_len)
        .ok_or_else(|| fault(what, "pointer out of bounds"))?;
    Ok(start..end)
}
