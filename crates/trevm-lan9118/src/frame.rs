//! Frame and FIFO bookkeeping: what an RX status word means, how many FIFO words a frame takes,
//! TX command words, and moving a frame between a buffer and the FIFO ports. Pure arithmetic plus
//! [`Regs`] accesses, so all of it is tested on the host.

use crate::map::{reg, rx_status, tx_cmd_a, tx_cmd_b};
use crate::regs::Regs;

/// Largest frame the driver passes either way, in bytes: an Ethernet header (14) and a 1500-byte
/// IP packet, without the FCS (which the chip adds on TX and the driver strips on RX).
pub const MTU: usize = 1514;
/// Smallest frame delivered: an Ethernet header. Anything shorter cannot be parsed by the stack.
pub const MIN_FRAME: usize = 14;
/// The frame check sequence the chip counts in an RX status's length and leaves in the FIFO.
pub const FCS: usize = 4;
/// Size of each of the driver's two frame buffers: [`MTU`] plus the FCS, rounded up to FIFO
/// words (1520), rounded up to a multiple of 64.
pub const BUFFER: usize = 1536;
// The largest delivered frame's FIFO words (FCS included) fit the buffer.
const _: () = assert!((MTU + FCS).div_ceil(4) * 4 <= BUFFER);

/// Why a received frame was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The chip flagged it (error status: CRC error, runt, too long, late collision).
    Error,
    /// It failed the chip's address filter (not for this station).
    Filtered,
    /// Longer than [`MTU`] (without its FCS).
    TooLong,
    /// Shorter than [`MIN_FRAME`] (without its FCS).
    TooShort,
}

/// What to do with the frame an RX status word describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxVerdict {
    /// Read `words` FIFO words; the first `len` bytes are the frame (the rest is its FCS).
    Deliver {
        /// The frame's length without the FCS.
        len: usize,
        /// FIFO words the frame occupies, FCS included.
        words: usize,
    },
    /// Read and discard `words` FIFO words.
    Drop {
        /// Why.
        reason: Refusal,
        /// FIFO words to discard.
        words: usize,
    },
    /// The status claims more data than the data FIFO holds: the FIFOs disagree and must be
    /// emptied (`RX_DUMP`) rather than trusted.
    Desync,
}

/// Judges an RX status word (§3.13.3), given the bytes the RX data FIFO holds (`RXDUSED`).
pub fn rx_verdict(status: u32, data_bytes: usize) -> RxVerdict {
    let wire = ((status >> rx_status::LENGTH_SHIFT) & rx_status::LENGTH_MASK) as usize;
    let words = wire.div_ceil(4);
    if words * 4 > data_bytes {
        return RxVerdict::Desync;
    }
    let len = wire.saturating_sub(FCS);
    let reason = if status & rx_status::ERROR != 0 {
        Refusal::Error
    } else if status & rx_status::FILTER_FAIL != 0 {
        Refusal::Filtered
    } else if wire < FCS + MIN_FRAME {
        Refusal::TooShort
    } else if len > MTU {
        Refusal::TooLong
    } else {
        return RxVerdict::Deliver { len, words };
    };
    RxVerdict::Drop { reason, words }
}

/// Reads `words` words from the RX data FIFO into `buf`, least significant byte first. Words
/// beyond `buf` are read and discarded, so the FIFO stays in step whatever `buf`'s size.
pub fn read_words(regs: &impl Regs, buf: &mut [u8], words: usize) {
    let mut chunks = buf.chunks_mut(4);
    for _ in 0..words {
        let word = regs.read(reg::RX_DATA_FIFO).to_le_bytes();
        if let Some(chunk) = chunks.next() {
            let n = chunk.len();
            chunk.copy_from_slice(&word[..n]);
        }
    }
}

/// Bytes of TX data FIFO a frame of `len` bytes takes: the two command words and its data in
/// whole words (§3.12.5).
pub fn tx_space(len: usize) -> usize {
    8 + len.div_ceil(4) * 4
}

/// TX command word A for a frame of `len` bytes in one buffer: first and last segment, no
/// offset, 4-byte end alignment, no interrupt on completion.
pub fn tx_command_a(len: usize) -> u32 {
    tx_cmd_a::FIRST_SEGMENT | tx_cmd_a::LAST_SEGMENT | (len as u32 & tx_cmd_a::BUFFER_SIZE_MASK)
}

/// TX command word B: `tag` and the frame's length; FCS and padding added by the chip.
pub fn tx_command_b(len: usize, tag: u16) -> u32 {
    (u32::from(tag) << tx_cmd_b::TAG_SHIFT) | (len as u32 & tx_cmd_b::LENGTH_MASK)
}

/// Writes `frame` (at most [`MTU`] bytes: the caller checks) to the TX data FIFO: command words
/// A and B, then its bytes in little-endian words, the last one padded with zeros.
pub fn write_frame(regs: &impl Regs, frame: &[u8], tag: u16) {
    regs.write(reg::TX_DATA_FIFO, tx_command_a(frame.len()));
    regs.write(reg::TX_DATA_FIFO, tx_command_b(frame.len(), tag));
    for chunk in frame.chunks(4) {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        regs.write(reg::TX_DATA_FIFO, u32::from_le_bytes(word));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(wire: usize) -> u32 {
        (wire as u32) << rx_status::LENGTH_SHIFT
    }

    #[test]
    fn a_good_frame_is_delivered_without_its_fcs() {
        // 60 bytes + FCS: 16 words.
        assert_eq!(
            rx_verdict(status(64), 64),
            RxVerdict::Deliver { len: 60, words: 16 }
        );
        // 61 bytes + FCS = 65: 17 words, the last one holding 1 byte of FCS.
        assert_eq!(
            rx_verdict(status(65), 68),
            RxVerdict::Deliver { len: 61, words: 17 }
        );
        // The largest: 1514 + 4 = 1518 → 380 words, 1520 bytes, within BUFFER.
        assert_eq!(
            rx_verdict(status(MTU + FCS), 2000),
            RxVerdict::Deliver {
                len: MTU,
                words: 380
            }
        );
    }

    #[test]
    fn an_error_status_is_dropped_with_its_words() {
        let s = status(64) | rx_status::ERROR;
        assert_eq!(
            rx_verdict(s, 64),
            RxVerdict::Drop {
                reason: Refusal::Error,
                words: 16
            }
        );
    }

    #[test]
    fn a_filtered_frame_is_dropped() {
        let s = status(64) | rx_status::FILTER_FAIL;
        assert_eq!(
            rx_verdict(s, 64),
            RxVerdict::Drop {
                reason: Refusal::Filtered,
                words: 16
            }
        );
    }

    #[test]
    fn an_oversize_frame_is_dropped() {
        assert_eq!(
            rx_verdict(status(MTU + FCS + 1), 4096),
            RxVerdict::Drop {
                reason: Refusal::TooLong,
                words: 380
            }
        );
        // The longest length the status can state.
        assert_eq!(
            rx_verdict(status(0x3FFF), 0x4000),
            RxVerdict::Drop {
                reason: Refusal::TooLong,
                words: 4096
            }
        );
    }

    #[test]
    fn a_short_frame_is_dropped() {
        assert_eq!(
            rx_verdict(status(FCS + MIN_FRAME - 1), 64),
            RxVerdict::Drop {
                reason: Refusal::TooShort,
                words: 5
            }
        );
        // No bytes at all, and fewer than the FCS.
        assert_eq!(
            rx_verdict(status(0), 0),
            RxVerdict::Drop {
                reason: Refusal::TooShort,
                words: 0
            }
        );
        assert_eq!(
            rx_verdict(status(3), 4),
            RxVerdict::Drop {
                reason: Refusal::TooShort,
                words: 1
            }
        );
    }

    #[test]
    fn a_status_claiming_more_than_the_fifo_holds_is_a_desync() {
        assert_eq!(rx_verdict(status(65), 64), RxVerdict::Desync);
        assert_eq!(
            rx_verdict(status(0x3FFF) | rx_status::ERROR, 8),
            RxVerdict::Desync
        );
    }

    #[test]
    fn tx_command_words() {
        assert_eq!(tx_command_a(60), 0x3000 | 60);
        assert_eq!(tx_command_a(MTU), 0x3000 | 1514);
        assert_eq!(tx_command_b(61, 0xBEEF), 0xBEEF_0000 | 61);
        assert_eq!(tx_space(60), 68);
        assert_eq!(tx_space(61), 72);
        assert_eq!(tx_space(MTU), 8 + 1516);
    }
}
