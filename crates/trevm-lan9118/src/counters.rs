//! What the driver did with the frames it saw: observable (e.g. printed by a firmware's status
//! page), and what the host tests check every refusal against.

/// Frame counts since the driver started (each wraps at `u32::MAX`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Frames handed to the stack.
    pub rx_frames: u32,
    /// Frames the chip flagged with an error status, dropped.
    pub rx_errors: u32,
    /// Frames that failed the chip's address filter, dropped.
    pub rx_filtered: u32,
    /// Frames longer than the MTU, dropped.
    pub rx_too_long: u32,
    /// Frames shorter than an Ethernet header, dropped.
    pub rx_too_short: u32,
    /// Times the RX FIFOs disagreed (a status claiming more data than there was) and were
    /// emptied.
    pub rx_desyncs: u32,
    /// Frames written to the TX FIFO.
    pub tx_frames: u32,
    /// Frames the stack built longer than the MTU, not sent.
    pub tx_too_long: u32,
    /// PHY accesses that timed out (the link is then reported down).
    pub mii_timeouts: u32,
}
