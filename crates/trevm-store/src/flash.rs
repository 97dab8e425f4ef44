//! [`FlashStore`]: chunked values with a commit item, on sequential-storage's map.
//!
//! The format and the power-loss argument are in the crate docs.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::future::Future;
use core::ops::Range;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use embedded_storage::nor_flash::{ErrorType, MultiwriteNorFlash, NorFlash, ReadNorFlash};
use embedded_storage_async::nor_flash as async_nor;
use sequential_storage::Error as SsError;
use sequential_storage::cache::{Cache, Uncached};
use sequential_storage::map::{Key, MapConfig, MapConfigError, MapStorage, SerializationError};

use crate::{CapsuleStore, DEFAULT_MAX_VALUE, MAX_KEY_LEN, StoreError, check_len, crc32};

/// First byte of a commit item's key.
const TAG_COMMIT: u8 = 0xC7;
/// First byte of a chunk item's key.
const TAG_CHUNK: u8 = 0xC8;
/// First byte of a commit item's value: the record format version.
const RECORD_VERSION: u8 = 1;
/// Length of an encoded commit record: version, generation, length, CRC, chunk count.
const RECORD_LEN: usize = 1 + 4 + 4 + 4 + 4;
/// A key that matches no item of ours (a foreign key equals only an item whose whole data is
/// the same; such a one-byte item would be garbage anyway).
const REPAIR_PROBE: &[u8] = &[0];
/// The smallest chunk payload (with the longest key) a page must hold.
const MIN_CHUNK: usize = 64;

/// Serialized length of a commit item's key.
fn commit_key_len(name: &str) -> usize {
    2 + name.len()
}

/// Serialized length of a chunk item's key.
fn chunk_key_len(name: &str) -> usize {
    2 + name.len() + 4 + 4
}

/// The key of an item in the sequential-storage map.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ItemKey {
    /// `name → {generation, length, CRC, chunks}`.
    Commit(String),
    /// One slice of the value of `name` written in `generation`.
    Chunk {
        name: String,
        generation: u32,
        index: u32,
    },
    /// An item this crate did not write (or cannot parse); erased by the next scan. Holds the
    /// whole item, so that it compares equal to itself when erased.
    Foreign(Vec<u8>),
}

impl Key for ItemKey {
    fn serialize_into(&self, buffer: &mut [u8]) -> Result<usize, SerializationError> {
        let mut out = Vec::new();
        match self {
            ItemKey::Commit(name) => {
                out.extend_from_slice(&[TAG_COMMIT, name.len() as u8]);
                out.extend_from_slice(name.as_bytes());
            }
            ItemKey::Chunk {
                name,
                generation,
                index,
            } => {
                out.extend_from_slice(&[TAG_CHUNK, name.len() as u8]);
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(&generation.to_le_bytes());
                out.extend_from_slice(&index.to_le_bytes());
            }
            ItemKey::Foreign(bytes) => out.extend_from_slice(bytes),
        }
        buffer
            .get_mut(..out.len())
            .ok_or(SerializationError::BufferTooSmall)?
            .copy_from_slice(&out);
        Ok(out.len())
    }

    fn deserialize_from(buffer: &[u8]) -> Result<(Self, usize), SerializationError> {
        Ok(parse_key(buffer).unwrap_or_else(|| (ItemKey::Foreign(buffer.to_vec()), buffer.len())))
    }
}

/// Parses one of our keys; `None` for anything else.
fn parse_key(buffer: &[u8]) -> Option<(ItemKey, usize)> {
    let (&tag, rest) = buffer.split_first()?;
    let (&len, rest) = rest.split_first()?;
    let len = usize::from(len);
    if len > MAX_KEY_LEN {
        return None;
    }
    let name = core::str::from_utf8(rest.get(..len)?).ok()?;
    crate::validate_key(name).ok()?;
    let name = String::from(name);
    match tag {
        TAG_COMMIT => Some((ItemKey::Commit(name), 2 + len)),
        TAG_CHUNK => {
            let generation = u32::from_le_bytes(rest.get(len..len + 4)?.try_into().ok()?);
            let index = u32::from_le_bytes(rest.get(len + 4..len + 8)?.try_into().ok()?);
            Some((
                ItemKey::Chunk {
                    name,
                    generation,
                    index,
                },
                2 + len + 8,
            ))
        }
        _ => None,
    }
}

/// A commit record: which generation of chunks holds a name's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Record {
    generation: u32,
    len: u32,
    crc: u32,
    chunks: u32,
}

impl Record {
    fn encode(&self) -> [u8; RECORD_LEN] {
        let mut out = [0; RECORD_LEN];
        out[0] = RECORD_VERSION;
        out[1..5].copy_from_slice(&self.generation.to_le_bytes());
        out[5..9].copy_from_slice(&self.len.to_le_bytes());
        out[9..13].copy_from_slice(&self.crc.to_le_bytes());
        out[13..17].copy_from_slice(&self.chunks.to_le_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != RECORD_LEN || bytes[0] != RECORD_VERSION {
            return None;
        }
        let word = |at: usize| {
            bytes
                .get(at..at + 4)?
                .try_into()
                .ok()
                .map(u32::from_le_bytes)
        };
        Some(Self {
            generation: word(1)?,
            len: word(5)?,
            crc: word(9)?,
            chunks: word(13)?,
        })
    }
}

/// What the index knows about a committed name.
#[derive(Clone, Copy, Debug)]
enum Entry {
    /// A value, with the flash space its items take (commit and chunks, for the `Full` check).
    Present { record: Record, footprint: usize },
    /// A commit item that does not parse or exceeds `max_value`: `get` reports it.
    Corrupt,
}

impl Entry {
    fn footprint(&self) -> usize {
        match self {
            Entry::Present { footprint, .. } => *footprint,
            Entry::Corrupt => 0,
        }
    }
}

/// Adapts a blocking `embedded-storage` flash to the async traits sequential-storage uses.
struct Blocking<F>(F);

impl<F: ErrorType> ErrorType for Blocking<F> {
    type Error = F::Error;
}

impl<F: ReadNorFlash> async_nor::ReadNorFlash for Blocking<F> {
    const READ_SIZE: usize = F::READ_SIZE;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        self.0.read(offset, bytes)
    }

    fn capacity(&self) -> usize {
        self.0.capacity()
    }
}

impl<F: NorFlash> async_nor::NorFlash for Blocking<F> {
    const WRITE_SIZE: usize = F::WRITE_SIZE;
    const ERASE_SIZE: usize = F::ERASE_SIZE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        self.0.erase(from, to)
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        self.0.write(offset, bytes)
    }
}

impl<F: MultiwriteNorFlash> async_nor::MultiwriteNorFlash for Blocking<F> {}

/// Runs a future to completion by polling it. The futures here only await `Blocking` flash
/// operations, which complete on the first poll, so this never actually spins.
fn block_on<T>(future: impl Future<Output = T>) -> T {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
}

type Map<F> = MapStorage<ItemKey, Blocking<F>, Cache<Uncached, Uncached, Uncached, ItemKey>>;

fn flash_error<E: core::fmt::Debug>(err: SsError<E>) -> StoreError {
    match err {
        SsError::Storage { value, .. } => StoreError::Flash(format!("{value:?}")),
        SsError::FullStorage => StoreError::Full,
        SsError::Corrupted { .. } => {
            StoreError::Corrupt(String::from("flash region in an unrecoverable state"))
        }
        other => StoreError::Flash(format!("{other:?}")),
    }
}

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
    map: Map<F>,
    /// Scratch for sequential-storage: one item, at most a page.
    buf: Vec<u8>,
    index: BTreeMap<String, Entry>,
    next_generation: u32,
    max_value: usize,
    /// Bytes of the region usable for items (all pages but the spare one, minus page headers).
    capacity: usize,
    /// A failed operation may have left garbage: scan before the next change.
    needs_gc: bool,
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

    fn new(flash: F, range: Range<u32>, max_value: usize) -> Result<Self, StoreError> {
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

    fn pages(&self) -> usize {
        let range = self.map.flash_range();
        (range.end - range.start) as usize / F::ERASE_SIZE
    }

    /// Sequential-storage's word: the larger of read and write size.
    fn word() -> usize {
        F::READ_SIZE.max(F::WRITE_SIZE)
    }

    /// Bytes of a page available to items (the first and last word hold the page state).
    fn page_data_len(&self) -> usize {
        F::ERASE_SIZE - 2 * Self::word()
    }

    /// The flash space an item with `data_len` bytes (key and value) takes.
    fn item_footprint(data_len: usize) -> usize {
        Map::<F>::item_overhead_size() as usize + data_len.next_multiple_of(Self::word())
    }

    /// The chunk payload for `name` such that a chunk item fills a page exactly.
    fn chunk_len(&self, name: &str) -> usize {
        (self.page_data_len())
            .saturating_sub(Map::<F>::item_overhead_size() as usize)
            .saturating_sub(chunk_key_len(name))
    }

    /// The flash space a value of `len` bytes under `name` takes, commit included.
    fn value_footprint(&self, name: &str, len: usize) -> usize {
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

    fn store_item(&mut self, key: &ItemKey, value: &[u8]) -> Result<(), StoreError> {
        block_on(self.map.store_item(&mut self.buf, key, &value)).map_err(flash_error)
    }

    fn remove_item(&mut self, key: &ItemKey) -> Result<(), StoreError> {
        block_on(self.map.remove_item(&mut self.buf, key)).map_err(flash_error)
    }

    /// Reads the current value of an item.
    fn fetch_item(&mut self, key: &ItemKey) -> Result<Option<Vec<u8>>, StoreError> {
        block_on(self.map.fetch_item::<&[u8]>(&mut self.buf, key))
            .map(|found| found.map(<[u8]>::to_vec))
            .map_err(flash_error)
    }

    /// Indexes the committed names and erases every item no commit names.
    fn scan(&mut self) -> Result<(), StoreError> {
        self.finish_interrupted_erase()?;
        // Let sequential-storage repair what a power cut left (a half-erased page, an
        // interrupted page migration) before iterating: `fetch_all_items` (8.0.2) returns
        // `Corrupted` without repairing when a page state is damaged, whereas `remove_item`
        // checks every page and repairs. The probe key matches no item.
        self.remove_item(&ItemKey::Foreign(REPAIR_PROBE.to_vec()))?;
        let mut names = BTreeSet::new();
        let mut chunks: BTreeMap<(String, u32, u32), usize> = BTreeMap::new();
        let mut foreign = BTreeSet::new();
        let mut max_generation = 0u32;
        {
            let mut items =
                block_on(self.map.fetch_all_items(&mut self.buf)).map_err(flash_error)?;
            while let Some((key, value)) =
                block_on(items.next::<&[u8]>(&mut self.buf)).map_err(flash_error)?
            {
                match key {
                    ItemKey::Commit(name) => {
                        if let Some(record) = Record::decode(value) {
                            max_generation = max_generation.max(record.generation);
                        }
                        names.insert(name);
                    }
                    ItemKey::Chunk {
                        name,
                        generation,
                        index,
                    } => {
                        max_generation = max_generation.max(generation);
                        let footprint = Self::item_footprint(chunk_key_len(&name) + value.len());
                        chunks.insert((name, generation, index), footprint);
                    }
                    ItemKey::Foreign(bytes) => {
                        foreign.insert(bytes);
                    }
                }
            }
        }

        // The newest commit item of each name decides (the iteration also returns older ones).
        let mut index = BTreeMap::new();
        for name in names {
            let Some(bytes) = self.fetch_item(&ItemKey::Commit(name.clone()))? else {
                continue;
            };
            let entry = match Record::decode(&bytes) {
                Some(record) if self.plausible(&record) => {
                    max_generation = max_generation.max(record.generation);
                    Entry::Present {
                        record,
                        footprint: Self::item_footprint(commit_key_len(&name) + RECORD_LEN),
                    }
                }
                _ => Entry::Corrupt,
            };
            index.insert(name, entry);
        }

        for ((name, generation, chunk), footprint) in chunks {
            match index.get_mut(&name) {
                Some(Entry::Present {
                    record,
                    footprint: total,
                }) if record.generation == generation && chunk < record.chunks => {
                    *total += footprint;
                }
                // A corrupt commit may still name these chunks; they go when the key is replaced.
                Some(Entry::Corrupt) => {}
                _ => self.remove_item(&ItemKey::Chunk {
                    name,
                    generation,
                    index: chunk,
                })?,
            }
        }
        for bytes in foreign {
            self.remove_item(&ItemKey::Foreign(bytes))?;
        }

        self.index = index;
        self.next_generation = max_generation
            .checked_add(1)
            .ok_or_else(|| StoreError::Flash(String::from("generation counter exhausted")))?;
        self.needs_gc = false;
        Ok(())
    }

    /// Completes a page erase that power loss interrupted after clearing the page's end but not
    /// its start.
    ///
    /// sequential-storage marks a page "partially open" (start word programmed) and "closed"
    /// (end word too), and copes with an erase interrupted front to back (start cleared, end
    /// still programmed: it re-erases). NOR erase order is undefined, though, and an erase that
    /// cleared the end first makes the page being recycled look partially open next to the real
    /// partially open page; 8.0.2 may then take the wrong one as the newest and hide items.
    /// The only page erased while another page is partially open is the one right after it,
    /// once its items have been copied into it (`migrate_items`), so the second of two adjacent
    /// partially open pages is that page and erasing it finishes the operation. This reads the
    /// markers the way sequential-storage 8 does (`get_page_state`).
    fn finish_interrupted_erase(&mut self) -> Result<(), StoreError> {
        let range = self.map.flash_range();
        let pages = self.pages();
        let flash = &mut self.map.flash().0;
        let mut marked = |address: u32| -> Result<bool, StoreError> {
            let mut word = [0u8; 32];
            let word = word
                .get_mut(..F::READ_SIZE)
                .ok_or_else(|| StoreError::Flash(String::from("flash read size too large")))?;
            flash
                .read(address, word)
                .map_err(|e| StoreError::Flash(format!("{e:?}")))?;
            Ok(word.iter().map(|b| b.count_zeros()).sum::<u32>() >= 4)
        };
        let mut partially_open = Vec::new();
        for page in 0..pages {
            let start = range.start + (page * F::ERASE_SIZE) as u32;
            let end = start + (F::ERASE_SIZE - F::READ_SIZE) as u32;
            if marked(start)? && !marked(end)? {
                partially_open.push(page);
            }
        }
        let torn = match partially_open[..] {
            [a, b] if b == a + 1 => b,
            [0, b] if b == pages - 1 => 0,
            _ => return Ok(()),
        };
        let start = range.start + (torn * F::ERASE_SIZE) as u32;
        flash
            .erase(start, start + F::ERASE_SIZE as u32)
            .map_err(|e| StoreError::Flash(format!("{e:?}")))
    }

    /// Whether a commit record describes a value this store could have written.
    fn plausible(&self, record: &Record) -> bool {
        let len = record.len as usize;
        len <= self.max_value
            && len <= self.capacity
            && (record.chunks == 0) == (len == 0)
            && record.chunks as usize <= len
    }

    fn take_generation(&mut self) -> Result<u32, StoreError> {
        let generation = self.next_generation;
        self.next_generation = generation
            .checked_add(1)
            .ok_or_else(|| StoreError::Flash(String::from("generation counter exhausted")))?;
        Ok(generation)
    }

    /// Erases the first `count` chunks of `name`'s `generation` (garbage). A failure only leaves
    /// garbage behind, which the next scan erases.
    fn erase_chunks(&mut self, name: &str, generation: u32, count: u32) {
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
    fn committed_generation(&mut self, name: &str) -> Result<Option<u32>, StoreError> {
        Ok(self
            .fetch_item(&ItemKey::Commit(String::from(name)))?
            .and_then(|bytes| Record::decode(&bytes))
            .map(|record| record.generation))
    }

    fn gc_if_needed(&mut self) -> Result<(), StoreError> {
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
