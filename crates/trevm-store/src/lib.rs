//! Persistent, power-loss-safe storage for trevm capsules.
//!
//! A device keeps what was uploaded to it across restarts and power loss: sandbox capsules by
//! name (`"sandbox/hello"`), the persistent-slot capsule (`"persistent"`) and a small
//! anti-rollback record (`"ledger"`). [`CapsuleStore`] is the one interface; three backends
//! implement it:
//!
//! | backend | where | medium |
//! |---|---|---|
//! | [`FileStore`] (feature `std`) | native board, hosts | one file per key in a directory |
//! | [`FlashStore`] | `no_std` devices | a region of NOR flash (`embedded-storage` traits) |
//! | [`MemStore`] | tests of other crates | a `BTreeMap` in RAM (not persistent) |
//!
//! [`RamFlash`] is a NOR flash simulated in RAM (erased = `0xFF`, programming only clears bits),
//! for tests and for firmware without a real flash (QEMU).
//!
//! # The guarantee
//!
//! After a crash or power loss at any point during [`put`](CapsuleStore::put) or
//! [`remove`](CapsuleStore::remove), every key holds either its complete old value or its complete
//! new value — never a torn, mixed or missing one (for `remove`: still present and complete, or
//! gone). Keys not being written are never affected. Contents damaged by other means (bit rot, a
//! hand-edited file) are detected by a CRC-32 and reported as [`StoreError::Corrupt`]; nothing in
//! this crate panics or makes an allocation larger than `max_value` because of what it reads back.
//!
//! # Keys
//!
//! 1 to [`MAX_KEY_LEN`] bytes of `[A-Za-z0-9._/-]`, not starting or ending with `/`, without
//! `//` and without `..` (see [`validate_key`]). Keys are opaque names; `/` only groups them.
//!
//! # Synchronous on purpose
//!
//! The callers run in async executors (Embassy, Tokio), but the operations are blocking: on the
//! target MCUs, programming internal flash stalls the CPU (and the bus) anyway, and the file
//! backend's `fsync` has no async form in `std`. An async trait would also not be object-safe
//! without boxing, and callers want `Box<dyn CapsuleStore + Send>`. A `put` of a 100 KiB capsule
//! takes milliseconds on a host and up to a few seconds on an MCU; callers that must stay
//! responsive meanwhile can run it on a blocking thread (std) or a lower-priority executor.
//!
//! # File format ([`FileStore`])
//!
//! Key `sandbox/hello` is stored in `sandbox%2Fhello.capsule` in the store's directory: every byte
//! outside `[a-z0-9._-]` is written `%XX` (upper-case hex), so names are flat, injective and safe on
//! case-insensitive file systems (`A` is `%41`). The file is a 16-byte header — magic `TRVS`,
//! format version `1`, three zero bytes, the value length (u32 LE), the CRC-32 (IEEE) of the value
//! (u32 LE) — followed by the value.
//!
//! `put` writes header and value to a fresh temporary file `.<name>.<pid>.<n>.tmp` in the same
//! directory, `fsync`s it, `rename`s it over the target and `fsync`s the directory. POSIX `rename`
//! is atomic: a reader (or the next boot) sees the old file or the new one, and the new one only
//! after its contents are durable. `remove` is one `unlink` plus a directory `fsync`. Leftover
//! temporary files of a crashed `put` are deleted by [`FileStore::open`]; they never become
//! visible. The CRC only guards against damage after the fact.
//!
//! # Flash format ([`FlashStore`])
//!
//! The flash region is managed by [`sequential-storage`](https://docs.rs/sequential-storage)'s
//! map: a ring of erase pages to which items are appended, each item with a CRC-protected header
//! and a CRC-protected body; a newer item with the same key supersedes an older one; when a page
//! must be reused, its still-current items are first copied forward (the crate is power-fail safe
//! for these operations and repairs an interrupted page migration on the next operation). An item
//! must fit in one page, so a capsule is split into **chunks**, each filling one page:
//!
//! * chunk item, key `(name, generation, index)`: one slice of the value;
//! * commit item, key `name`: `{generation, length, CRC-32 of the whole value, chunk count}`.
//!
//! `put(name, v)` takes a fresh generation `g` (one counter for the whole store, above every
//! generation found in flash at `open`), writes all chunks of `v` under `g`, then writes the
//! commit item (`name → g`), then erases the chunks of the old generation. `remove(name)` erases
//! the commit items of `name`, then its chunks. `get` reads the commit item, the chunks it names,
//! and checks length and CRC.
//!
//! **Power-loss argument.** The commit item is the single point of decision.
//!
//! * `put`: sequential-storage stores an item atomically (a torn item fails its CRC and is
//!   ignored, so the previous item with that key stays current). Until the new commit is durable,
//!   the current commit names the old generation, whose chunks are untouched (old chunks are only
//!   erased after the commit); the new chunks are garbage. After it, the new chunks are complete
//!   (they were written first) and the old ones are garbage.
//! * `remove`: sequential-storage erases the items of a key from the oldest page to the newest,
//!   so the current commit item goes last: until then the name still has its complete value,
//!   afterwards it has none (an older commit item never becomes current again). Erasing needs no
//!   free space, so a full store can always shrink.
//! * [`FlashStore::open`] scans the region and erases every chunk that the current commit of its
//!   name does not name: garbage of a crashed operation never outlives the next boot, and erasing
//!   garbage cannot change any value. A crash during this clean-up leaves garbage for the next.
//!
//! The power-loss tests cut the power at every single flash operation of a workload of puts,
//! overwrites and removes (also during the recovery that follows) — before the operation, or
//! tearing it: a write that programs only its first words and part of the next, an erase that
//! clears only the first or only the second half of the page — and check that every key holds
//! its old or its new value, that acknowledged operations are durable, and that no space leaks.
//! Two gaps of sequential-storage 8.0.2 that these tests found are closed in [`FlashStore`]:
//! `fetch_all_items` does not repair a half-erased page (so `open` first lets an operation that
//! does repair run), and an erase interrupted after clearing the page's end but not its start
//! makes the page being recycled look like the page in use (so `open` finishes that erase first;
//! see `FlashStore::finish_interrupted_erase` in the source).
//!
//! **Why sequential-storage and not a hand-written log.** It is well kept (Tweede golf, used in
//! production, fuzzed with random power cuts, used by Ariel OS for its own storage), it levels wear
//! by using pages cyclically, and it needs only one spare page instead of the half of the region an
//! A/B scheme would reserve. What it does not do is values larger than a page and atomic
//! multi-item updates; the chunk + commit layer above is the part written here, small enough to
//! be tested exhaustively against power loss. Its API is async (over `embedded-storage-async`);
//! [`FlashStore`] adapts a blocking `NorFlash` to it and polls each future to completion (a
//! blocking flash never returns `Pending`).
//!
//! **Requirements and costs.** Erasing single items (the chunks of an old generation, a removed
//! commit) marks them by rewriting one word, so the flash must implement `MultiwriteNorFlash`
//! (nRF52/nRF53 internal flash does, through embassy-nrf's `Nvmc`, as does [`RamFlash`]; flash
//! with ECC-protected words, e.g. STM32H7/L4, does not). Each chunk costs a page, of which the page
//! markers, the item header and the chunk key take about 1% (4 KiB pages); one page stays spare.
//! A 1 MiB region with 4 KiB pages holds about 990 KiB of values, but replacing a value needs room
//! for the old and the new one until the commit. When the ring wraps, the live items of the page
//! being reused are copied forward, so a nearly full region wears faster: keep it about twice
//! the live data. Erasing an item scans the region, so `put` and `remove` cost O(old chunks ×
//! region) flash reads; `open` scans the region twice.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// `FileStore` is only there with `std`; the crate docs still mention it.
#![cfg_attr(not(feature = "std"), allow(rustdoc::broken_intra_doc_links))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

#[cfg(feature = "std")]
mod file;
mod flash;
mod ram_flash;

#[cfg(feature = "std")]
pub use file::FileStore;
pub use flash::FlashStore;
pub use ram_flash::{RamFlash, RamFlashError};

/// The longest key, in bytes.
pub const MAX_KEY_LEN: usize = 64;

/// The default limit on a value's size: 256 KiB, the largest capsule a device accepts.
pub const DEFAULT_MAX_VALUE: usize = 256 * 1024;

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// A file system operation failed ([`FileStore`]); the message names the file.
    Io(String),
    /// There is not enough free space for the value; existing values are unchanged.
    Full,
    /// The value is larger than this store will ever hold.
    TooLarge {
        /// The value's length in bytes.
        len: usize,
        /// The largest value this store accepts.
        max: usize,
    },
    /// Stored data failed its checks (CRC, length, format); the message says what and where.
    Corrupt(String),
    /// The key is not a valid key (see [`validate_key`]); the message says why.
    BadKey(&'static str),
    /// The flash driver reported an error, or the flash region is unusable.
    Flash(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Io(msg) => write!(f, "storage I/O error: {msg}"),
            StoreError::Full => f.write_str("storage is full"),
            StoreError::TooLarge { len, max } => {
                write!(f, "value of {len} bytes is too large (at most {max} bytes)")
            }
            StoreError::Corrupt(what) => write!(f, "stored data is corrupt: {what}"),
            StoreError::BadKey(why) => write!(f, "invalid key: {why}"),
            StoreError::Flash(what) => write!(f, "flash error: {what}"),
        }
    }
}

impl core::error::Error for StoreError {}

/// Checks that `key` is a valid store key.
///
/// A key is 1 to [`MAX_KEY_LEN`] bytes of `[A-Za-z0-9._/-]`; it does not start or end with `/`,
/// and contains neither `//` nor `..`. Every backend checks keys with this function.
pub fn validate_key(key: &str) -> Result<(), StoreError> {
    if key.is_empty() {
        return Err(StoreError::BadKey("empty"));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(StoreError::BadKey("longer than 64 bytes"));
    }
    if !key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-'))
    {
        return Err(StoreError::BadKey("only A-Z a-z 0-9 . _ / - are allowed"));
    }
    if key.starts_with('/') || key.ends_with('/') {
        return Err(StoreError::BadKey("starts or ends with '/'"));
    }
    if key.contains("//") {
        return Err(StoreError::BadKey("contains '//'"));
    }
    if key.contains("..") {
        return Err(StoreError::BadKey("contains '..'"));
    }
    Ok(())
}

/// A persistent map from keys (see [`validate_key`]) to byte values (capsules, records).
///
/// Every operation is blocking (see the crate docs for why) and the trait is object-safe:
/// `Box<dyn CapsuleStore + Send>` works. `put` and `remove` are atomic with respect to power
/// loss: afterwards the key holds the old or the new value, never a torn one.
pub trait CapsuleStore {
    /// Returns the value stored under `key`, or `None` if there is none.
    ///
    /// A value that fails its integrity checks is [`StoreError::Corrupt`], never returned.
    fn get(&mut self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Stores `value` under `key`, atomically replacing any previous value.
    ///
    /// On error the key holds the previous value (always so for [`StoreError::Full`],
    /// [`StoreError::TooLarge`] and [`StoreError::BadKey`]) or, if the error came after the point
    /// of commit (e.g. a failed directory `fsync`), the new one — never a mix of both.
    fn put(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError>;

    /// Removes `key`; returns whether it existed.
    fn remove(&mut self, key: &str) -> Result<bool, StoreError>;

    /// Returns all keys, sorted by byte order, including keys whose value `get` reports as
    /// corrupt (so that they can be replaced or removed).
    fn keys(&mut self) -> Result<Vec<String>, StoreError>;
}

impl<T: CapsuleStore + ?Sized> CapsuleStore for &mut T {
    fn get(&mut self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get(key)
    }
    fn put(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        (**self).put(key, value)
    }
    fn remove(&mut self, key: &str) -> Result<bool, StoreError> {
        (**self).remove(key)
    }
    fn keys(&mut self) -> Result<Vec<String>, StoreError> {
        (**self).keys()
    }
}

impl<T: CapsuleStore + ?Sized> CapsuleStore for Box<T> {
    fn get(&mut self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get(key)
    }
    fn put(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        (**self).put(key, value)
    }
    fn remove(&mut self, key: &str) -> Result<bool, StoreError> {
        (**self).remove(key)
    }
    fn keys(&mut self) -> Result<Vec<String>, StoreError> {
        (**self).keys()
    }
}

/// A store in RAM (a `BTreeMap`), for tests of code that uses a [`CapsuleStore`].
///
/// Not persistent. It checks keys and `max_value` like the other backends.
#[derive(Debug, Clone)]
pub struct MemStore {
    map: BTreeMap<String, Vec<u8>>,
    max_value: usize,
}

impl Default for MemStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemStore {
    /// An empty store accepting values up to [`DEFAULT_MAX_VALUE`].
    pub fn new() -> Self {
        Self::with_max_value(DEFAULT_MAX_VALUE)
    }

    /// An empty store accepting values up to `max_value` bytes.
    pub fn with_max_value(max_value: usize) -> Self {
        Self {
            map: BTreeMap::new(),
            max_value,
        }
    }
}

impl CapsuleStore for MemStore {
    fn get(&mut self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        validate_key(key)?;
        Ok(self.map.get(key).cloned())
    }

    fn put(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        validate_key(key)?;
        check_len(value.len(), self.max_value)?;
        self.map.insert(String::from(key), value.to_vec());
        Ok(())
    }

    fn remove(&mut self, key: &str) -> Result<bool, StoreError> {
        validate_key(key)?;
        Ok(self.map.remove(key).is_some())
    }

    fn keys(&mut self) -> Result<Vec<String>, StoreError> {
        Ok(self.map.keys().cloned().collect())
    }
}

/// `TooLarge` unless `len <= max`.
fn check_len(len: usize, max: usize) -> Result<(), StoreError> {
    if len > max {
        Err(StoreError::TooLarge { len, max })
    } else {
        Ok(())
    }
}

/// CRC-32 (IEEE 802.3, as zlib: CRC-32/ISO-HDLC), as used by both persistent formats.
fn crc32(data: &[u8]) -> u32 {
    static CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    CRC32.checksum(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_validated() {
        for good in [
            "a",
            "ledger",
            "persistent",
            "sandbox/hello",
            "a.b_c-D/9",
            "x.tmp",
        ] {
            assert_eq!(validate_key(good), Ok(()), "{good}");
        }
        let long = "a".repeat(65);
        for bad in [
            "", "/a", "a/", "a//b", "..", "a/../b", "a..b", "a b", "é", "a\\b", "a\0", "%41", &long,
        ] {
            assert!(
                matches!(validate_key(bad), Err(StoreError::BadKey(_))),
                "{bad:?}"
            );
        }
        assert_eq!(validate_key(&"a".repeat(64)), Ok(()));
    }

    #[test]
    fn errors_display() {
        let msg = alloc::format!("{}", StoreError::TooLarge { len: 5, max: 4 });
        assert_eq!(msg, "value of 5 bytes is too large (at most 4 bytes)");
        let msg = alloc::format!("{}", StoreError::Corrupt("x.capsule: bad CRC".into()));
        assert!(msg.contains("x.capsule"));
    }

    #[test]
    fn mem_store_basics() {
        let mut s = MemStore::with_max_value(8);
        assert_eq!(s.get("a"), Ok(None));
        s.put("b", b"1").unwrap();
        s.put("a", b"2").unwrap();
        s.put("a", b"3").unwrap();
        assert_eq!(s.get("a"), Ok(Some(b"3".to_vec())));
        assert_eq!(s.keys().unwrap(), ["a", "b"]);
        assert_eq!(s.remove("a"), Ok(true));
        assert_eq!(s.remove("a"), Ok(false));
        assert_eq!(
            s.put("c", &[0; 9]),
            Err(StoreError::TooLarge { len: 9, max: 8 })
        );
        assert!(matches!(s.put("/x", b""), Err(StoreError::BadKey(_))));
        let mut boxed: Box<dyn CapsuleStore + Send> = Box::new(s);
        assert_eq!(boxed.keys().unwrap(), ["b"]);
    }
}
