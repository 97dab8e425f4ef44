//! Test helpers: a flash that loses power after a given number of operations.
#![allow(dead_code)]

use embedded_storage::nor_flash::{
    ErrorType, MultiwriteNorFlash, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};
use trevm_store::{RamFlash, RamFlashError};

/// What the interrupted operation leaves behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// Power is lost just before the operation: it has no effect.
    Clean,
    /// Power is lost during the operation: a write programs its first words and part of the
    /// next one; an erase clears only the first half of the range.
    Torn,
    /// Like `Torn`, but an erase clears only the second half of the range.
    TornTail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutError {
    PowerLost,
    Flash(RamFlashError),
}

impl NorFlashError for CutError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            CutError::PowerLost => NorFlashErrorKind::Other,
            CutError::Flash(e) => e.kind(),
        }
    }
}

/// A [`RamFlash`] that counts writes and erases and loses power at operation `cut_at`
/// (0-based): that operation and every later one (reads included) fail with `PowerLost`.
pub struct CutFlash<const E: usize> {
    pub flash: RamFlash<E>,
    pub ops: u64,
    pub cut_at: Option<u64>,
    pub cut: Cut,
    pub dead: bool,
}

impl<const E: usize> CutFlash<E> {
    pub fn new(flash: RamFlash<E>, cut_at: Option<u64>, cut: Cut) -> Self {
        Self {
            flash,
            ops: 0,
            cut_at,
            cut,
            dead: false,
        }
    }

    /// Counts an operation; `true` if power is lost now.
    fn cut_now(&mut self) -> bool {
        if self.dead {
            return true;
        }
        if self.cut_at == Some(self.ops) {
            self.dead = true;
            return true;
        }
        self.ops += 1;
        false
    }
}

impl<const E: usize> ErrorType for CutFlash<E> {
    type Error = CutError;
}

impl<const E: usize> ReadNorFlash for CutFlash<E> {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), CutError> {
        if self.dead {
            return Err(CutError::PowerLost);
        }
        self.flash.read(offset, bytes).map_err(CutError::Flash)
    }

    fn capacity(&self) -> usize {
        self.flash.capacity()
    }
}

impl<const E: usize> NorFlash for CutFlash<E> {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = E;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), CutError> {
        let was_dead = self.dead;
        if self.cut_now() {
            if !was_dead && self.cut != Cut::Clean && from < to {
                // Half of the range (rounded to words) is erased, the rest keeps its old bytes.
                let (from, to) = (from as usize, to as usize);
                let mid = from + ((to - from) / 2) / 4 * 4;
                let bytes = self.flash.bytes_mut();
                if to <= bytes.len() {
                    let half = if self.cut == Cut::Torn {
                        from..mid
                    } else {
                        mid..to
                    };
                    bytes[half].fill(0xFF);
                }
            }
            return Err(CutError::PowerLost);
        }
        self.flash.erase(from, to).map_err(CutError::Flash)
    }

    fn write(&mut self, offset: u32, data: &[u8]) -> Result<(), CutError> {
        let was_dead = self.dead;
        if self.cut_now() {
            if !was_dead && self.cut != Cut::Clean && !data.is_empty() {
                // The first half of the words are programmed; the next word only partly (NOR
                // programming only clears bits, so the result is between old and new).
                let words = data.len() / 4;
                let done = words / 2 * 4;
                let start = offset as usize;
                let bytes = self.flash.bytes_mut();
                if start + data.len() <= bytes.len() {
                    for i in 0..done {
                        bytes[start + i] &= data[i];
                    }
                    for i in done..(done + 4).min(data.len()) {
                        // Program the low nibble's cleared bits only.
                        bytes[start + i] &= data[i] | 0xF0;
                    }
                }
            }
            return Err(CutError::PowerLost);
        }
        self.flash.write(offset, data).map_err(CutError::Flash)
    }
}

impl<const E: usize> MultiwriteNorFlash for CutFlash<E> {}

/// A deterministic value: `len` bytes derived from `seed` (different seeds differ everywhere).
pub fn value(seed: u32, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(0x9E37_79B9);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}
