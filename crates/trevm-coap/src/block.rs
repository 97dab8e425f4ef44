//! Block1/Block2 option values (RFC 7959 §2.2).

/// A Block1 or Block2 option: block number, more flag, block size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockOpt {
    /// Block number.
    pub num: u32,
    /// More blocks follow.
    pub more: bool,
    /// Size exponent: the block size is `2^(szx + 4)` bytes, 16 to 1024.
    pub szx: u8,
}

impl BlockOpt {
    /// Decodes an option value; `None` for SZX 7 (BERT, not for UDP) or a number beyond 20 bits.
    pub fn from_uint(v: u32) -> Option<BlockOpt> {
        let szx = (v & 7) as u8;
        (szx != 7 && v >> 4 < 1 << 20).then_some(BlockOpt {
            num: v >> 4,
            more: v & 8 != 0,
            szx,
        })
    }

    /// The option value.
    pub fn to_uint(self) -> u32 {
        self.num << 4 | u32::from(self.more) << 3 | u32::from(self.szx)
    }

    /// The block size in bytes.
    pub fn size(self) -> usize {
        16 << self.szx
    }

    /// Where this block starts in the whole body.
    pub fn offset(self) -> usize {
        self.num as usize * self.size()
    }

    /// The largest SZX whose size is at most `bytes` (for clamping a client's block size).
    pub fn szx_for(bytes: usize) -> u8 {
        (0..=6u8).rev().find(|s| 16usize << s <= bytes).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode() {
        let b = BlockOpt {
            num: 300,
            more: true,
            szx: 2,
        };
        assert_eq!(BlockOpt::from_uint(b.to_uint()), Some(b));
        assert_eq!(b.size(), 64);
        assert_eq!(b.offset(), 300 * 64);
        assert_eq!(BlockOpt::from_uint(7), None);
        assert_eq!(BlockOpt::szx_for(1024), 6);
        assert_eq!(BlockOpt::szx_for(100), 2);
    }
}
