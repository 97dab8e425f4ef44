//! [`FlashStore`]: opening a region, its geometry, and the `CapsuleStore` operations.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::ops::Range;

use embedded_storage::nor_flash::{MultiwriteNorFlash, NorFlash};
use sequential_storage::cache::Cache;
use sequential_storage::map::{MapConfig, MapConfigError, MapStorage};

use super::blocking::{Blocking, Map, block_on, flash_error};
use super::format::{Entry, ItemKey, MIN_CHUNK, RECORD_LEN, Record, chunk_key_len, commit_key_len};
use crate::{CapsuleStore, DEFAULT_MAX_VALUE, MAX_KEY_LEN, StoreError, check_len, crc32};

/// A [`CapsuleStore`] in a region of NOR flash (blocking `embedded-storage` traits).
///
/// Values are split into page-sized chunks stored with sequential-storage's map, and committed
/// by one small item written last; see the crate docs for the format, the power-loss argument,
/// and the costs. The flash must implement `MultiwriteNorFlash`. The store owns the flash; use
/// [`into_flash`](Self::into_flash) to get it back.
///
/// A value's keys, lengths and checksums are indexed in RAM at [`open`](Self::open) (a few dozen
/// bytes per key); values are read from flash on each `get`.
pub struct FlashStore<F: NorFlash> {
    pub(super) map: Map<F>,
    /// Scratch for sequential-storage: one item, at most a page.
    pub(super) buf: Vec<u8>,
    pub(super) index: BTreeMap<String, Entry>,
    pub(super) next_generation: u32,
    pub(super) max_value: usize,
    /// Bytes of the region usable for items (all pages but the spare one, minus page headers).
    pub(super) capacity: usize,
    /// A failed operation may have left garbage: scan before the next change.
    pub(super) needs_gc: bool,
}

impl<F: MultiwriteNorFlash> FlashStore<F> {
    /// Opens the store in `range` (flash offsets, page aligned, at least 2 pages) of `flash`,
    /// accepting values up to [`DEFAULT_MAX_VALUE`].
    ///
    /// An erased region is an empty store. Opening scans the region, finishes or undoes what a
    /// crash interrupted (erasing garbage items, which may write to flash) and indexes the keys.
    /// A region sequential-storage cannot repair is [`StoreError::Corrupt`]; [`format`](Self::format)
    /// erases it.
    pub fn open(flash: F, range: Range<u32>) -> Result<Self, StoreError> {
        Self::open_with(flash, range, DEFAULT_MAX_VALUE)
    }

    /// Like [`open`](Self::open), accepting values up to `max_value` bytes.
    pub fn open_with(flash: F, range: Range<u32>, max_value: usize) -> Result<Self, StoreError> {
        let mut store = Self::new(flash, range, max_value)?;
        store.scan()?;
        Ok(store)
    }

    /// Erases `range` of `flash` and opens an empty store there.
    pub fn format(flash: F, range: Range<u32>) -> Result<Self, StoreError> {
        let mut store = Self::new(flash, range, DEFAULT_MAX_VALUE)?;
        block_on(store.map.erase_all()).map_err(flash_error)?;
        store.scan()?;
        Ok(store)
    }

    /// Closes the store, returning the flash.
    pub fn into_flash(self) -> F {
        self.map.destroy().0.0
    }

    /// The largest value (in bytes) this region can hold under any key when otherwise empty,
    /// capped by `max_value`.
    pub fn largest_value(&self) -> usize {
        // The longest key leaves the least room per chunk; one page is spare, one holds the commit.
        let pages = self.pages();
        let chunk = self.chunk_len(&"x".repeat(MAX_KEY_LEN));
        (pages.saturating_sub(2) * chunk).min(self.max_value)
    }

    pub(super) fn new(flash: F, range: Range<u32>, max_value: usize) -> Result<Self, StoreError> {
        if range.start >= range.end {
            return Err(StoreError::Flash(format!("empty flash range {range:?}")));
        }
        if range.end as usize > flash.capacity() {
            return Err(StoreError::Flash(format!(
                "range {range:?} is beyond the flash ({} bytes)",
                flash.capacity()
            )));
        }
        let config = MapConfig::<Blocking<F>>::try_new(range.clone()).map_err(|e| {
            StoreError::Flash(String::from(match e {
                MapConfigError::StartRangeNotAtPageBoundary => "range start is not page aligned",
                MapConfigError::EndRangeNotAtPageBoundary => "range end is not page aligned",
                MapConfigError::RangeTooSmall => "range is smaller than 2 pages",
                MapConfigError::PagesTooSmall => "flash pages are too small",
                MapConfigError::WordSizeTooLarge => "flash word size is too large",
            }))
        })?;
        let pages = (range.end - range.start) as usize / F::ERASE_SIZE;
        let mut store = Self {
            map: MapStorage::new(Blocking(flash), config, Cache::new_uncached()),
            buf: vec![0; F::ERASE_SIZE],
            index: BTreeMap::new(),
            next_generation: 1,
            max_value,
            capacity: 0,
            needs_gc: false,
        };
        store.capacity = (pages - 1) * store.page_data_len();
        if store.chunk_len(&"x".repeat(MAX_KEY_LEN)) < MIN_CHUNK {
            return Err(StoreError::Flash(String::from("flash pages are too small")));
        }
        Ok(store)
    }

    pub(super) fn pages(&self) -> usize {
        let range = self.map.flash_range();
        (range.end - range.start) as usize / F::ERASE_SIZE
    }

    /// Sequential-storage's word: the larger of read and write size.
    pub(super) fn word() -> usize {
        F::READ_SIZE.max(F::WRITE_SIZE)
    }

    /// Bytes of a page available to items (the first and last word hold the page state).
    pub(super) fn page_data_len(&self) -> usize {
        F::ERASE_SIZE - 2 * Self::word()
    }

    /// The flash space an item with `data_len` bytes (key and value) takes.
    pub(super) fn item_footprint(data_len: usize) -> usize {
        Map::<F>::item_overhead_size() as usize + data_len.next_multiple_of(Self::word())
    }

    /// The chunk payload for `name` such that a chunk item fills a page exactly.
    pub(super) fn chunk_len(&self, name: &str) -> usize {
        (self.page_data_len())
            .saturating_sub(Map::<F>::item_overhead_size() as usize)
            .saturating_sub(chunk_key_len(name))
    }

    /// The flash space a value of `len` bytes under `name` takes, commit included.
    pub(super) fn value_footprint(&self, name: &str, len: usize) -> usize {
        let chunk = self.chunk_len(name);
        let full = len / chunk;
        let rest = len % chunk;
        let mut total = Self::item_footprint(commit_key_len(name) + RECORD_LEN);
        total += full * Self::item_footprint(chunk_key_len(name) + chunk);
        if rest > 0 {
            total += Self::item_footprint(chunk_key_len(name) + rest);
        }
        total
    }

    pub(super) fn store_item(&mut self, key: &ItemKey, value: &[u8]) -> Result<(), StoreError> {
        block_on(self.map.store_item(&mut self.buf, key, &value)).map_err(flash_error)
    }

    pub(super) fn remove_item(&mut self, key: &ItemKey) -> Result<(), StoreError> {
        block_on(self.map.remove_item(&mut self.buf, key)).map_err(flash_error)
    }

    /// Reads the current value of an item.
    pub(super) fn fetch_item(&mut self, key: &ItemKey) -> Result<Option<Vec<u8>>, StoreError> {
        block_on(self.map.fetch_item::<&[u8]>(&mut self.buf, key))
            .map(|found| found.map(<[u8]>::to_vec))
            .map_err(flash_error)
    }

    /// Indexes the committed names and erases every item no commit names.
    /// Whether a commit record describes a value this store could have written.
    pub(super) fn plausible(&self, record: &Record) -> bool {
        let len = record.len as usize;
        len <= self.max_value
            && len <= self.capacity
            && (record.chunks == 0) == (len == 0)
            && record.chunks as usize <= len
    }

    pub(super) fn take_generation(&mut self) -> Result<u32, StoreError> {
        let generation = self.next_generation;
        self.next_generation = generation
            .checked_add(1)
            .ok_or_else(|| StoreError::Flash(String::from("generation counter exhausted")))?;
        Ok(generation)
    }

    /// Erases the first `count` chunks of `name`'s `generation` (garbage). A failure only leaves
    /// garbage behind, which the next scan erases.
    pub(super) fn erase_chunks(&mut self, name: &str, generation: u32, count: u32) {
        for index in 0..count {
            let key = ItemKey::Chunk {
                name: String::from(name),
                generation,
                index,
            };
            if self.remove_item(&key).is_err() {
                self.needs_gc = true;
                return;
            }
        }
    }

    /// After an operation whose outcome is unknown, reads back the name's commit.
    pub(super) fn committed_generation(&mut self, name: &str) -> Result<Option<u32>, StoreError> {
        Ok(self
            .fetch_item(&ItemKey::Commit(String::from(name)))?
            .and_then(|bytes| Record::decode(&bytes))
            .map(|record| record.generation))
    }

    pub(super) fn gc_if_needed(&mut self) -> Result<(), StoreError> {
        if self.needs_gc {
            self.scan()?;
        }
        Ok(())
    }
}

impl<F: MultiwriteNorFlash> CapsuleStore for FlashStore<F> {
    fn get(&mut self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        crate::validate_key(key)?;
        self.gc_if_needed()?;
        let record = match self.index.get(key) {
            None => return Ok(None),
            Some(Entry::Corrupt) => {
                return Err(StoreError::Corrupt(format!("{key}: invalid commit record")));
            }
            Some(Entry::Present { record, .. }) => *record,
        };
        let len = record.len as usize; // bounded by `plausible`
        let mut value = Vec::with_capacity(len);
        for index in 0..record.chunks {
            let chunk = ItemKey::Chunk {
                name: String::from(key),
                generation: record.generation,
                index,
            };
            let Some(bytes) = self.fetch_item(&chunk)? else {
                return Err(StoreError::Corrupt(format!(
                    "{key}: chunk {index} of {} is missing",
                    record.chunks
                )));
            };
            if bytes.is_empty() || value.len() + bytes.len() > len {
                return Err(StoreError::Corrupt(format!(
                    "{key}: chunk {index} has a bad length"
                )));
            }
            value.extend_from_slice(&bytes);
        }
        if value.len() != len || crc32(&value) != record.crc {
            return Err(StoreError::Corrupt(format!(
                "{key}: CRC or length mismatch"
            )));
        }
        Ok(Some(value))
    }

    fn put(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        crate::validate_key(key)?;
        check_len(value.len(), self.max_value)?;
        let chunk = self.chunk_len(key);
        let chunks = value.len().div_ceil(chunk);
        // The chunks fill pages; the commit needs room on one more, and one page stays spare.
        if chunks + 2 > self.pages() {
            return Err(StoreError::TooLarge {
                len: value.len(),
                max: (self.pages().saturating_sub(2) * chunk).min(self.max_value),
            });
        }
        self.gc_if_needed()?;
        // Old and new value coexist until the commit: refuse early what cannot fit (optimistic,
        // as pages also waste their tails; sequential-storage has the last word).
        let footprint = self.value_footprint(key, value.len());
        let used: usize = self.index.values().map(Entry::footprint).sum();
        if used + footprint > self.capacity {
            return Err(StoreError::Full);
        }

        let generation = self.take_generation()?;
        let written = value
            .chunks(chunk)
            .enumerate()
            .try_for_each(|(index, part)| {
                let key = ItemKey::Chunk {
                    name: String::from(key),
                    generation,
                    index: index as u32,
                };
                self.store_item(&key, part)
                    .map_err(|e| (index as u32 + 1, e))
            });
        if let Err((attempted, err)) = written {
            self.erase_chunks(key, generation, attempted);
            return Err(err);
        }

        let record = Record {
            generation,
            len: value.len() as u32,
            crc: crc32(value),
            chunks: chunks as u32,
        };
        if let Err(err) = self.store_item(&ItemKey::Commit(String::from(key)), &record.encode()) {
            match self.committed_generation(key) {
                Ok(Some(g)) if g == generation => {} // it was written after all
                Ok(_) => {
                    self.erase_chunks(key, generation, chunks as u32);
                    return Err(err);
                }
                Err(_) => {
                    self.needs_gc = true;
                    return Err(err);
                }
            }
        }

        let old = self
            .index
            .insert(String::from(key), Entry::Present { record, footprint });
        match old {
            Some(Entry::Present { record: old, .. }) => {
                self.erase_chunks(key, old.generation, old.chunks);
            }
            Some(Entry::Corrupt) => self.needs_gc = true,
            None => {}
        }
        Ok(())
    }

    fn remove(&mut self, key: &str) -> Result<bool, StoreError> {
        crate::validate_key(key)?;
        self.gc_if_needed()?;
        let Some(&entry) = self.index.get(key) else {
            return Ok(false);
        };
        // Erasing the commit items (oldest first, the current one last) is the atomic step; the
        // chunks are garbage from then on. It needs no free space, so a full store can shrink.
        if let Err(err) = self.remove_item(&ItemKey::Commit(String::from(key))) {
            match self.committed_generation(key) {
                Ok(None) => {} // erased after all
                _ => {
                    self.needs_gc = true;
                    return Err(err);
                }
            }
        }
        self.index.remove(key);
        match entry {
            Entry::Present { record, .. } => {
                self.erase_chunks(key, record.generation, record.chunks);
            }
            Entry::Corrupt => self.needs_gc = true,
        }
        Ok(true)
    }

    fn keys(&mut self) -> Result<Vec<String>, StoreError> {
        self.gc_if_needed()?;
        Ok(self.index.keys().cloned().collect())
    }
}
