//! Access to the chip's registers, behind a trait so that everything above it (the FIFO and
//! frame bookkeeping, the MAC/PHY handshakes, the interrupt logic) runs on the host against a
//! fake register file. [`Mmio`] is the real access and the crate's only `unsafe`.

/// The chip's direct registers: 32-bit reads and writes at byte offsets from its base
/// ([`crate::map::reg`]). Reads may have effects (popping a FIFO), hence `&self` methods that
/// are not pure.
pub trait Regs {
    /// Reads the 32-bit register at byte offset `offset`.
    fn read(&self, offset: usize) -> u32;
    /// Writes `value` to the 32-bit register at byte offset `offset`.
    fn write(&self, offset: usize, value: u32);
}

impl<R: Regs + ?Sized> Regs for &R {
    fn read(&self, offset: usize) -> u32 {
        R::read(self, offset)
    }
    fn write(&self, offset: usize, value: u32) {
        R::write(self, offset, value)
    }
}

/// The chip's 256-byte register window in the address space, accessed with volatile 32-bit
/// loads and stores.
#[derive(Debug, Clone, Copy)]
pub struct Mmio {
    base: usize,
}

/// Size of the register window (QEMU maps 0x100 bytes; every offset in
/// [`crate::map::reg`] is below it).
pub const WINDOW: usize = 0x100;

impl Mmio {
    /// The registers of the chip mapped at `base` (0x4020_0000 on the MPS2 boards).
    ///
    /// # Safety
    /// `base` must be the 4-byte aligned address of a LAN9118's register window, mapped as
    /// device memory for as long as the value (and its copies) lives; nothing else may use that
    /// window in a way that conflicts with this driver (several `Mmio` for the same chip are
    /// fine: the driver and its interrupt handler each hold one).
    pub const unsafe fn new(base: usize) -> Self {
        Mmio { base }
    }

    /// The address of `offset`, which must be in the window and aligned: offsets come from
    /// [`crate::map::reg`] only, so a violation is a bug in this crate, caught here in debug
    /// builds and by the `min` in release builds (the access then goes to the last register).
    fn address(&self, offset: usize) -> usize {
        debug_assert!(offset < WINDOW && offset.is_multiple_of(4));
        self.base + (offset.min(WINDOW - 4) & !3)
    }
}

impl Regs for Mmio {
    fn read(&self, offset: usize) -> u32 {
        // SAFETY: `Mmio::new`'s contract: `base` is the chip's mapped, aligned register window;
        // `address` keeps the access inside it and 4-byte aligned. A volatile load of device
        // memory creates no Rust reference.
        unsafe { core::ptr::read_volatile(self.address(offset) as *const u32) }
    }

    fn write(&self, offset: usize, value: u32) {
        // SAFETY: as in `read`; a volatile store to the chip's register window.
        unsafe { core::ptr::write_volatile(self.address(offset) as *mut u32, value) }
    }
}
