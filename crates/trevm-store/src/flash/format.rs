//! The items [`FlashStore`](super::FlashStore) keeps in sequential-storage's map: their keys
//! (commit, chunk, or someone else's) and the commit record, and what the index knows of a name.

use alloc::string::String;
use alloc::vec::Vec;

use sequential_storage::map::{Key, SerializationError};

use crate::MAX_KEY_LEN;

/// First byte of a commit item's key.
pub(super) const TAG_COMMIT: u8 = 0xC7;
/// First byte of a chunk item's key.
pub(super) const TAG_CHUNK: u8 = 0xC8;
/// First byte of a commit item's value: the record format version.
pub(super) const RECORD_VERSION: u8 = 1;
/// Length of an encoded commit record: version, generation, length, CRC, chunk count.
pub(super) const RECORD_LEN: usize = 1 + 4 + 4 + 4 + 4;
/// A key that matches no item of ours (a foreign key equals only an item whose whole data is
/// the same; such a one-byte item would be garbage anyway).
pub(super) const REPAIR_PROBE: &[u8] = &[0];
/// The smallest chunk payload (with the longest key) a page must hold.
pub(super) const MIN_CHUNK: usize = 64;

/// Serialized length of a commit item's key.
pub(super) fn commit_key_len(name: &str) -> usize {
    2 + name.len()
}

/// Serialized length of a chunk item's key.
pub(super) fn chunk_key_len(name: &str) -> usize {
    2 + name.len() + 4 + 4
}

/// The key of an item in the sequential-storage map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum ItemKey {
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
pub(super) fn parse_key(buffer: &[u8]) -> Option<(ItemKey, usize)> {
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
pub(super) struct Record {
    pub(super) generation: u32,
    pub(super) len: u32,
    pub(super) crc: u32,
    pub(super) chunks: u32,
}

impl Record {
    pub(super) fn encode(&self) -> [u8; RECORD_LEN] {
        let mut out = [0; RECORD_LEN];
        out[0] = RECORD_VERSION;
        out[1..5].copy_from_slice(&self.generation.to_le_bytes());
        out[5..9].copy_from_slice(&self.len.to_le_bytes());
        out[9..13].copy_from_slice(&self.crc.to_le_bytes());
        out[13..17].copy_from_slice(&self.chunks.to_le_bytes());
        out
    }

    pub(super) fn decode(bytes: &[u8]) -> Option<Self> {
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
pub(super) enum Entry {
    /// A value, with the flash space its items take (commit and chunks, for the `Full` check).
    Present { record: Record, footprint: usize },
    /// A commit item that does not parse or exceeds `max_value`: `get` reports it.
    Corrupt,
}

impl Entry {
    pub(super) fn footprint(&self) -> usize {
        match self {
            Entry::Present { footprint, .. } => *footprint,
            Entry::Corrupt => 0,
        }
    }
}
