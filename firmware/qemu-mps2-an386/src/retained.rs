//! RAM that keeps its contents across a system reset, as the device's "flash": the QEMU board has
//! no writable flash model, but QEMU restores only the image's loaded sections on a reset
//! (`SYSRESETREQ`), so a `NOLOAD` region (cortex-m-rt's `.uninit`) keeps what was written
//! before. On a real board this module is the HAL's NOR flash driver instead (e.g.
//! embassy-nrf's `Nvmc`), with the same `embedded-storage` traits.
//!
//! It behaves like NOR flash, so `trevm-store`'s power-loss reasoning holds: erasing sets a
//! 4 KiB page to `0xFF`, programming can only clear bits (`old & new`).

#[cfg(not(feature = "net"))]
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, Ordering};

use embedded_storage::nor_flash::{
    ErrorType, MultiwriteNorFlash, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

/// Size of the retained-RAM region: room for a few sandbox capsules (a Pulley32 capsule is
/// 10–30 KiB).
#[cfg(not(feature = "net"))]
pub const SIZE: usize = 128 * 1024;
const PAGE: usize = 4096;

#[cfg(not(feature = "net"))]
/// What the previous boot left: [`RESTARTED`] when it reset the board to show the restart.
#[unsafe(link_section = ".uninit.trevm_boot")]
static mut BOOT: MaybeUninit<u32> = MaybeUninit::uninit();
#[cfg(not(feature = "net"))]
#[unsafe(link_section = ".uninit.trevm_store")]
static mut REGION: MaybeUninit<[u8; SIZE]> = MaybeUninit::uninit();
static TAKEN: AtomicBool = AtomicBool::new(false);

#[cfg(not(feature = "net"))]
/// The value of the boot word after the firmware reset the board itself.
pub const RESTARTED: u32 = 0x5245_424f; // "REBO"

#[cfg(not(feature = "net"))]
/// The boot word the previous run left (anything, after a power-on).
pub fn boot_word() -> u32 {
    // SAFETY: `BOOT` is a 4-byte aligned static only this module touches, on one core; a
    // volatile read of retained RAM, whatever it holds (QEMU powers RAM on as zeros).
    unsafe { core::ptr::read_volatile(core::ptr::addr_of!(BOOT).cast::<u32>()) }
}

#[cfg(not(feature = "net"))]
/// Sets the boot word for the next run.
pub fn set_boot_word(word: u32) {
    // SAFETY: as in `boot_word`; a volatile write of the same word.
    unsafe { core::ptr::write_volatile(core::ptr::addr_of_mut!(BOOT).cast::<u32>(), word) }
}

/// The retained region as a NOR flash; `None` after the first call (one owner).
#[cfg(not(feature = "net"))]
pub fn take() -> Option<RetainedFlash> {
    if TAKEN.swap(true, Ordering::AcqRel) {
        return None;
    }
    Some(RetainedFlash {
        base: core::ptr::addr_of_mut!(REGION).cast::<u8>(),
        size: SIZE,
    })
}

/// The network firmware's flash partition (memory-net.x's `STORE`: the code memory above the
/// firmware image, as the capsule store would sit in an nRF52840's internal flash), kept in the
/// host file `name` too, so that it outlives QEMU: read from it at boot when it has the
/// partition's size, else the partition is erased and the file made. `None` after the first
/// call (one owner).
#[cfg(feature = "net")]
pub fn take_partition(name: &core::ffi::CStr) -> Option<RetainedFlash> {
    unsafe extern "C" {
        static mut __trevm_store_start: u8;
        static __trevm_store_end: u8;
    }
    if TAKEN.swap(true, Ordering::AcqRel) {
        return None;
    }
    let base = core::ptr::addr_of_mut!(__trevm_store_start);
    let size = (core::ptr::addr_of!(__trevm_store_end) as usize).saturating_sub(base as usize);
    let mirror = crate::host_file::HostFile::open_or_create(name);
    // SAFETY: memory-net.x reserves `__trevm_store_start..__trevm_store_end` for the store: no
    // section is placed there, and only this value (taken once) touches it; it is RAM in QEMU's
    // code memory, so it may be written like this.
    let region = unsafe { core::slice::from_raw_parts_mut(base, size) };
    let restored = match &mirror {
        Some(file) if file.len() == Some(size) => file.read_at(0, region),
        _ => false,
    };
    if !restored {
        region.fill(0xff);
        if let Some(file) = &mirror {
            file.write_at(0, region);
        }
    }
    Some(RetainedFlash { base, size, mirror })
}

/// Where the network firmware's flash partition starts (memory-net.x's `STORE`).
#[cfg(feature = "net")]
pub fn partition_start() -> usize {
    unsafe extern "C" {
        static __trevm_store_start: u8;
    }
    core::ptr::addr_of!(__trevm_store_start) as usize
}

/// The retained region; every access is a volatile byte access through `base`.
pub struct RetainedFlash {
    base: *mut u8,
    /// Bytes from `base`.
    size: usize,
    /// A host file every erase and write is copied into (see [`take_partition`]).
    #[cfg(feature = "net")]
    mirror: Option<crate::host_file::HostFile>,
}

impl RetainedFlash {
    /// Copies `start..start + len` of the region into the host file, if there is one.
    #[cfg(not(feature = "net"))]
    fn mirror(&self, _start: usize, _len: usize) {}

    /// Copies `start..start + len` of the region into the host file, if there is one.
    #[cfg(feature = "net")]
    fn mirror(&self, start: usize, len: usize) {
        if let Some(file) = &self.mirror {
            // SAFETY: `start..start + len` was checked to lie inside the region, which only this
            // value accesses; no `&mut` to it is alive while this shared view exists.
            let bytes = unsafe { core::slice::from_raw_parts(self.base.add(start), len) };
            file.write_at(start, bytes);
        }
    }
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

fn check(offset: u32, len: usize, align: usize, size: usize) -> Result<usize, RetainedFlashError> {
    let start = offset as usize;
    if !start.is_multiple_of(align) || !len.is_multiple_of(align) {
        return Err(RetainedFlashError(NorFlashErrorKind::NotAligned));
    }
    match start.checked_add(len) {
        Some(end) if end <= size => Ok(start),
        _ => Err(RetainedFlashError(NorFlashErrorKind::OutOfBounds)),
    }
}

impl ReadNorFlash for RetainedFlash {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        let start = check(offset, bytes.len(), 1, self.size)?;
        for (i, b) in bytes.iter_mut().enumerate() {
            // SAFETY: `start + i < size` (checked), so inside the region, which only this value
            // (taken once) accesses; a volatile read of retained RAM.
            *b = unsafe { core::ptr::read_volatile(self.base.add(start + i)) };
        }
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.size
    }
}

impl NorFlash for RetainedFlash {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = PAGE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        let len = (to as usize).saturating_sub(from as usize);
        let start = check(from, len, PAGE, self.size)?;
        for i in start..start + len {
            // SAFETY: `i < size` (checked), inside the region, owned by this value.
            unsafe { core::ptr::write_volatile(self.base.add(i), 0xff) };
        }
        self.mirror(start, len);
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        let start = check(offset, bytes.len(), Self::WRITE_SIZE, self.size)?;
        for (i, b) in bytes.iter().enumerate() {
            // SAFETY: `start + i < size` (checked), inside the region, owned by this value.
            // Programming NOR flash only clears bits.
            unsafe {
                let p = self.base.add(start + i);
                core::ptr::write_volatile(p, core::ptr::read_volatile(p) & b);
            }
        }
        self.mirror(start, bytes.len());
        Ok(())
    }
}

// Programming clears bits only, so a word may be written again (to clear more of its bits).
impl MultiwriteNorFlash for RetainedFlash {}
