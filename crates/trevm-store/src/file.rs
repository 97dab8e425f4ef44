//! [`FileStore`]: one file per key, replaced by atomic rename.
//!
//! The format and the power-loss argument are in the crate docs.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::string::String;
use std::sync::atomic::{AtomicU64, Ordering};
use std::vec::Vec;
use std::{format, process};

use crate::{CapsuleStore, DEFAULT_MAX_VALUE, StoreError, check_len, crc32, validate_key};

const MAGIC: [u8; 4] = *b"TRVS";
const VERSION: u8 = 1;
const HEADER_LEN: usize = 16;
const EXTENSION: &str = ".capsule";
const TEMP_EXTENSION: &str = ".tmp";

/// Makes temporary file names unique within the process (the pid makes them unique across).
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A [`CapsuleStore`] in a directory: one file per key (feature `std`).
///
/// `put` writes a temporary file, `fsync`s it, renames it over the key's file and `fsync`s the
/// directory, so a crash leaves the old or the new file; see the crate docs for the file names
/// and format. One `FileStore` should own a directory at a time: [`open`](Self::open) deletes
/// temporary files, including those of another store writing there.
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
    max_value: usize,
}

impl FileStore {
    /// Opens the store in `dir`, creating it (mode 0700 on Unix) if needed, and deletes temporary
    /// files left by an interrupted `put`. Values up to [`DEFAULT_MAX_VALUE`] are accepted.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(dir, DEFAULT_MAX_VALUE)
    }

    /// Like [`open`](Self::open), accepting values up to `max_value` bytes.
    pub fn open_with(dir: &Path, max_value: usize) -> Result<Self, StoreError> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(|e| io_error(dir, e))?;

        let store = Self {
            dir: dir.to_path_buf(),
            max_value,
        };
        let mut removed = false;
        for entry in fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
            let entry = entry.map_err(|e| io_error(dir, e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with('.') && name.ends_with(TEMP_EXTENSION) {
                let path = entry.path();
                match fs::remove_file(&path) {
                    Ok(()) => removed = true,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_error(&path, e)),
                }
            }
        }
        if removed {
            store.sync_dir()?;
        }
        Ok(store)
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file holding `key` (whether or not it exists).
    pub fn path_of(&self, key: &str) -> Result<PathBuf, StoreError> {
        validate_key(key)?;
        Ok(self.dir.join(file_name(key)))
    }

    /// Makes the directory's entries (renames, unlinks) durable.
    fn sync_dir(&self) -> Result<(), StoreError> {
        #[cfg(unix)]
        File::open(&self.dir)
            .and_then(|dir| dir.sync_all())
            .map_err(|e| io_error(&self.dir, e))?;
        Ok(())
    }

    /// Writes `contents` to a new temporary file, durably, and renames it to `target`.
    fn replace(&self, target: &Path, stem: &str, contents: &[u8]) -> Result<(), StoreError> {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = self
            .dir
            .join(format!(".{stem}.{}.{n}{TEMP_EXTENSION}", process::id()));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let result = options.open(&temp).and_then(|mut file| {
            file.write_all(contents)?;
            file.sync_all()
        });
        let result = result
            .and_then(|()| fs::rename(&temp, target))
            .map_err(|e| io_error(&temp, e));
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result?;
        self.sync_dir()
    }
}

impl CapsuleStore for FileStore {
    fn get(&mut self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path_of(key)?;
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(&path, e)),
        };
        let name = file_name(key);
        let corrupt = |what: &str| StoreError::Corrupt(format!("{name}: {what}"));
        // Never read (or allocate) more than the largest valid file, whatever the file says.
        let limit = (HEADER_LEN + self.max_value) as u64;
        let size = file.metadata().map_err(|e| io_error(&path, e))?.len();
        if size > limit {
            return Err(corrupt("larger than the largest value"));
        }
        let mut bytes = Vec::with_capacity(size as usize);
        file.take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| io_error(&path, e))?;
        if bytes.len() < HEADER_LEN {
            return Err(corrupt("shorter than its header"));
        }
        let (header, value) = bytes.split_at(HEADER_LEN);
        if header[..4] != MAGIC {
            return Err(corrupt("not a trevm-store file (bad magic)"));
        }
        if header[4] != VERSION {
            return Err(corrupt("unknown format version"));
        }
        let word = |at: usize| {
            u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
        };
        if word(8) as usize != value.len() || value.len() > self.max_value {
            return Err(corrupt("length mismatch (truncated or extended)"));
        }
        if word(12) != crc32(value) {
            return Err(corrupt("CRC mismatch"));
        }
        let value = value.to_vec();
        Ok(Some(value))
    }

    fn put(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let target = self.path_of(key)?;
        check_len(value.len(), self.max_value)?;
        let len = u32::try_from(value.len()).map_err(|_| StoreError::TooLarge {
            len: value.len(),
            max: u32::MAX as usize,
        })?;
        let mut contents = Vec::with_capacity(HEADER_LEN + value.len());
        contents.extend_from_slice(&MAGIC);
        contents.extend_from_slice(&[VERSION, 0, 0, 0]);
        contents.extend_from_slice(&len.to_le_bytes());
        contents.extend_from_slice(&crc32(value).to_le_bytes());
        contents.extend_from_slice(value);
        self.replace(&target, &encode_key(key), &contents)
    }

    fn remove(&mut self, key: &str) -> Result<bool, StoreError> {
        let path = self.path_of(key)?;
        match fs::remove_file(&path) {
            Ok(()) => {
                self.sync_dir()?;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_error(&path, e)),
        }
    }

    fn keys(&mut self) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(|e| io_error(&self.dir, e))? {
            let entry = entry.map_err(|e| io_error(&self.dir, e))?;
            if let Some(key) = entry.file_name().to_str().and_then(decode_file_name) {
                keys.push(key);
            }
        }
        keys.sort();
        Ok(keys)
    }
}

fn io_error(path: &Path, err: io::Error) -> StoreError {
    StoreError::Io(format!("{}: {err}", path.display()))
}

/// `key` with every byte outside `[a-z0-9._-]` (and a leading `.`) written as `%XX`.
fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for (i, b) in key.bytes().enumerate() {
        let plain = b.is_ascii_lowercase()
            || b.is_ascii_digit()
            || matches!(b, b'_' | b'-')
            || (b == b'.' && i > 0);
        if plain {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The file name of a (valid) key.
fn file_name(key: &str) -> String {
    let mut name = encode_key(key);
    name.push_str(EXTENSION);
    name
}

/// The key stored in a file called `name`, if `name` is exactly the file name of a valid key.
fn decode_file_name(name: &str) -> Option<String> {
    let stem = name.strip_suffix(EXTENSION)?;
    let mut bytes = Vec::with_capacity(stem.len());
    let mut rest = stem.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            let hex = core::str::from_utf8(tail.get(..2)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    let key = String::from_utf8(bytes).ok()?;
    (validate_key(&key).is_ok() && encode_key(&key) == stem).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_flat_injective_and_canonical() {
        assert_eq!(file_name("sandbox/hello"), "sandbox%2Fhello.capsule");
        assert_eq!(file_name("Ledger"), "%4Cedger.capsule");
        assert_eq!(file_name(".x.y"), "%2Ex.y.capsule");
        for key in ["sandbox/hello", "Ledger", ".x.y", "a-b_c.d/E9", "x.tmp"] {
            assert_eq!(decode_file_name(&file_name(key)).as_deref(), Some(key));
        }
        // Not produced by `file_name`: ignored.
        for name in [
            "sandbox%2fhello.capsule",
            "A.capsule",
            "%2.capsule",
            "x.capsul",
            "%2F.capsule",
            ".x.capsule",
        ] {
            assert_eq!(decode_file_name(name), None, "{name}");
        }
    }
}
