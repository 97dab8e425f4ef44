//! RAM that keeps its contents across a system reset, as the device's "flash": the QEMU board has
//! no writable flash model, but QEMU restores only the image's loaded sections on a reset
//! (`SYSRESETREQ`), so a `NOLOAD` region (cortex-m-rt's `.uninit`) keeps what was written
//! before. On a real board this module is the HAL's NOR flash driver instead (e.g.
//! embassy-nrf's `Nvmc`), with the same `embedded-storage` traits.
//!
//! It behaves like NOR flash, so `trevm-store`'s power-loss reasoning holds: erasing sets a
//! 4 KiB page to `0xFF`, programming can only clear bits (`old & new`).

use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, Ordering};

use embedded_storage::nor_flash::{
    ErrorType, MultiwriteNorFlash, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

/// Size of the region: room for a few sandbox capsules (a Pulley32 capsule is 10–30 KiB). The
/// network variant (256 KiB of RAM in all) keeps 64 KiB, until the store moves to flash.
pub const SIZE: usize = if cfg!(feature = "net") {
    64 * 1024
} else {
    128 * 1024
};
const PAGE: usize = 4096;

/// What the previous boot left: [`RESTARTED`] when it reset the board to show the restart.
#[unsafe(link_section = ".uninit.trevm_boot")]
static mut BOOT: MaybeUninit<u32> = MaybeUninit::uninit();
#[unsafe(link_section = ".uninit.trevm_store")]
static mut REGION: MaybeUninit<[u8; SIZE]> = MaybeUninit::uninit();
static TAKEN: AtomicBool = AtomicBool::new(false);

/// The value of the boot word after the firmware reset the board itself.
pub const RESTARTED: u32 = 0x5245_424f; // "REBO"

/// The boot word the previous run left (anything, after a power-on).
pub fn boot_word() -> u32 {
    // SAFETY: `BOOT` is a 4-byte aligned static only this module touches, on one core; a
    // volatile read of retained RAM, whatever it holds (QEMU powers RAM on as zeros).
    unsafe { core::ptr::read_volatile(core::ptr::addr_of!(BOOT).cast::<u32>()) }
}

/// Sets the boot word for the next run.
pub fn set_boot_word(word: u32) {
    // SAFETY: as in `boot_word`; a volatile write of the same word.
    unsafe { core::ptr::write_volatile(core::ptr::addr_of_mut!(BOOT).cast::<u32>(), word) }
}

/// The retained region as a NOR flash; `None` after the first call (one owner).
pub fn take() -> Option<RetainedFlash> {
    if TAKEN.swap(true, Ordering::AcqRel) {
        return None;
    }
    Some(RetainedFlash {
        base: core::ptr::addr_of_mut!(REGION).cast::<u8>(),
    })
}

/// The retained region; every access is a volatile byte access through `base`.
pub struct RetainedFlash {
    base: *mut u8,
}

/// An access outside the region or not aligned as NOR flash wants.
#[derive(Debug, Clone, Copy)]
pub struct RetainedFlashError(NorFlashErrorKind);

impl NorFlashError for RetainedFlashError {
    fn kind(&self) -> NorFlashErrorKind {
        self.0
    }
}

impl ErrorType for RetainedFlash {
    type Error = RetainedFlashError;
}

fn check(offset: u32, len: usize, align: usize) -> Result<usize, RetainedFlashError> {
    let start = offset as usize;
    if !start.is_multiple_of(align) || !len.is_multiple_of(align) {
        return Err(RetainedFlashError(NorFlashErrorKind::NotAligned));
    }
    match start.checked_add(len) {
        Some(end) if end <= SIZE => Ok(start),
        _ => Err(RetainedFlashError(NorFlashErrorKind::OutOfBounds)),
    }
}

impl ReadNorFlash for RetainedFlash {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        let start = check(offset, bytes.len(), 1)?;
        for (i, b) in bytes.iter_mut().enumerate() {
            // SAFETY: `start + i < SIZE` (checked), so inside `REGION`, which only this value
            // (taken once) accesses; a volatile read of retained RAM.
            *b = unsafe { core::ptr::read_volatile(self.base.add(start + i)) };
        }
        Ok(())
    }

    fn capacity(&self) -> usize {
        SIZE
    }
}

impl NorFlash for RetainedFlash {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = PAGE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        let len = (to as usize).saturating_sub(from as usize);
        let start = check(from, len, PAGE)?;
        for i in start..start + len {
            // SAFETY: `i < SIZE` (checked), inside `REGION`, owned by this value.
            unsafe { core::ptr::write_volatile(self.base.add(i), 0xff) };
        }
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        let start = check(offset, bytes.len(), Self::WRITE_SIZE)?;
        for (i, b) in bytes.iter().enumerate() {
            // SAFETY: `start + i < SIZE` (checked), inside `REGION`, owned by this value.
            // Programming NOR flash only clears bits.
            unsafe {
                let p = self.base.add(start + i);
                core::ptr::write_volatile(p, core::ptr::read_volatile(p) & b);
            }
        }
        Ok(())
    }
}

// Programming clears bits only, so a word may be written again (to clear more of its bits).
impl MultiwriteNorFlash for RetainedFlash {}
