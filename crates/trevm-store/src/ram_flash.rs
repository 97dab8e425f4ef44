//! A NOR flash simulated in RAM.

use alloc::vec;
use alloc::vec::Vec;
use embedded_storage::nor_flash::{
    ErrorType, MultiwriteNorFlash, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

/// A NOR flash in RAM, for tests and for firmware without a usable flash (e.g. QEMU).
///
/// It behaves like real NOR flash: erased bytes read `0xFF`, erasing works on whole
/// `ERASE_SIZE` pages, writes are `WRITE_SIZE` (4) byte aligned, and programming can only clear
/// bits — a write that would turn a 0 bit into 1 without an erase fails with
/// [`RamFlashError::NotErased`] and changes nothing. Writing a word again with only 1→0 changes
/// is allowed (as on nRF52 flash), so it implements `MultiwriteNorFlash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RamFlash<const ERASE_SIZE: usize = 4096> {
    mem: Vec<u8>,
    writes: u64,
    erases: u64,
}

/// Why a [`RamFlash`] operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RamFlashError {
    /// The range is outside the flash.
    OutOfBounds,
    /// The offset or length is not a multiple of the write or erase size.
    NotAligned,
    /// The write would set a bit from 0 to 1 without an erase.
    NotErased,
}

impl NorFlashError for RamFlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            RamFlashError::OutOfBounds => NorFlashErrorKind::OutOfBounds,
            RamFlashError::NotAligned => NorFlashErrorKind::NotAligned,
            RamFlashError::NotErased => NorFlashErrorKind::Other,
        }
    }
}

impl RamFlash {
    /// An erased flash of `len` bytes with 4 KiB pages, rounded up to whole pages. (For another
    /// page size: `RamFlash::<512>::erased(len)`.)
    pub fn new(len: usize) -> Self {
        Self::erased(len)
    }

    /// A flash with 4 KiB pages holding `bytes` (e.g. a snapshot taken with
    /// [`bytes`](Self::bytes)), padded with erased bytes to whole pages.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self::from_image(bytes)
    }
}

impl<const ERASE_SIZE: usize> RamFlash<ERASE_SIZE> {
    /// An erased flash of `len` bytes, rounded up to whole pages.
    pub fn erased(len: usize) -> Self {
        Self::from_image(vec![0xFF; len])
    }

    /// A flash holding `bytes`, padded with erased bytes to whole pages.
    pub fn from_image(mut bytes: Vec<u8>) -> Self {
        let len = bytes.len().div_ceil(ERASE_SIZE.max(1)) * ERASE_SIZE;
        bytes.resize(len, 0xFF);
        Self {
            mem: bytes,
            writes: 0,
            erases: 0,
        }
    }

    /// The flash contents.
    pub fn bytes(&self) -> &[u8] {
        &self.mem
    }

    /// The flash contents, mutably (to simulate damage in tests).
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.mem
    }

    /// Consumes the flash, returning its contents.
    pub fn into_bytes(self) -> Vec<u8> {
        self.mem
    }

    /// How many successful `write` calls were made (since creation).
    pub fn write_count(&self) -> u64 {
        self.writes
    }

    /// How many pages were erased (since creation): a measure of wear.
    pub fn erased_pages(&self) -> u64 {
        self.erases
    }

    fn range(&self, offset: u32, len: usize) -> Result<core::ops::Range<usize>, RamFlashError> {
        let start = offset as usize;
        let end = start.checked_add(len).ok_or(RamFlashError::OutOfBounds)?;
        if end > self.mem.len() {
            return Err(RamFlashError::OutOfBounds);
        }
        Ok(start..end)
    }
}

impl<const ERASE_SIZE: usize> ErrorType for RamFlash<ERASE_SIZE> {
    type Error = RamFlashError;
}

impl<const ERASE_SIZE: usize> ReadNorFlash for RamFlash<ERASE_SIZE> {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        let range = self.range(offset, bytes.len())?;
        bytes.copy_from_slice(&self.mem[range]);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.mem.len()
    }
}

impl<const ERASE_SIZE: usize> NorFlash for RamFlash<ERASE_SIZE> {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = ERASE_SIZE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        if from > to {
            return Err(RamFlashError::OutOfBounds);
        }
        if ERASE_SIZE == 0
            || !(from as usize).is_multiple_of(ERASE_SIZE)
            || !(to as usize).is_multiple_of(ERASE_SIZE)
        {
            return Err(RamFlashError::NotAligned);
        }
        let range = self.range(from, (to - from) as usize)?;
        self.erases += (range.len() / ERASE_SIZE) as u64;
        self.mem[range].fill(0xFF);
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        if !(offset as usize).is_multiple_of(Self::WRITE_SIZE)
            || !bytes.len().is_multiple_of(Self::WRITE_SIZE)
        {
            return Err(RamFlashError::NotAligned);
        }
        let range = self.range(offset, bytes.len())?;
        let target = &mut self.mem[range];
        if target.iter().zip(bytes).any(|(old, new)| new & !old != 0) {
            return Err(RamFlashError::NotErased);
        }
        target.copy_from_slice(bytes);
        self.writes += 1;
        Ok(())
    }
}

impl<const ERASE_SIZE: usize> MultiwriteNorFlash for RamFlash<ERASE_SIZE> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_nor() {
        let mut f = RamFlash::<256>::erased(300);
        assert_eq!(f.capacity(), 512);
        assert!(f.bytes().iter().all(|&b| b == 0xFF));
        f.write(4, &[0x0F, 0xF0, 0x00, 0xFF]).unwrap();
        // Clearing more bits is fine; setting one is not, and leaves the word unchanged.
        f.write(4, &[0x0E, 0xF0, 0x00, 0xFF]).unwrap();
        assert_eq!(f.write(4, &[0x1E, 0, 0, 0]), Err(RamFlashError::NotErased));
        let mut buf = [0; 4];
        f.read(4, &mut buf).unwrap();
        assert_eq!(buf, [0x0E, 0xF0, 0x00, 0xFF]);
        assert_eq!(f.write(2, &[0; 4]), Err(RamFlashError::NotAligned));
        assert_eq!(f.write(4, &[0; 3]), Err(RamFlashError::NotAligned));
        assert_eq!(f.write(512, &[0; 4]), Err(RamFlashError::OutOfBounds));
        assert_eq!(f.read(510, &mut buf), Err(RamFlashError::OutOfBounds));
        assert_eq!(f.erase(0, 100), Err(RamFlashError::NotAligned));
        assert_eq!(f.erase(256, 0), Err(RamFlashError::OutOfBounds));
        assert_eq!(f.erase(0, 768), Err(RamFlashError::OutOfBounds));
        f.erase(0, 256).unwrap();
        assert_eq!(f.erased_pages(), 1);
        f.read(4, &mut buf).unwrap();
        assert_eq!(buf, [0xFF; 4]);
        assert_eq!(f.write_count(), 2);
    }
}
