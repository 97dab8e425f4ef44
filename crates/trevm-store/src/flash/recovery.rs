//! What [`FlashStore::open`] does after a crash: finish an interrupted page erase, let
//! sequential-storage repair, erase every item no commit names, and rebuild the index.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use embedded_storage::nor_flash::MultiwriteNorFlash;

use super::blocking::{block_on, flash_error};
use super::format::{
    Entry, ItemKey, RECORD_LEN, REPAIR_PROBE, Record, chunk_key_len, commit_key_len,
};
use super::store::FlashStore;
use crate::StoreError;

impl<F: MultiwriteNorFlash> FlashStore<F> {
    /// Indexes the committed names and erases every item no commit names.
    pub(super) fn scan(&mut self) -> Result<(), StoreError> {
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
}
