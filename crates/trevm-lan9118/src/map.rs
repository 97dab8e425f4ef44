//! The LAN9118's register map: every register and bit this driver uses, and nothing else.
//!
//! References are to the SMSC LAN9118 datasheet (revision 1.5): chapter 5 ("Register
//! Description": §5.3 system control and status registers, byte offsets from the chip's base;
//! §5.4 MAC control and status registers, reached indirectly through `MAC_CSR_CMD` /
//! `MAC_CSR_DATA`; §5.5 PHY registers, reached through the MAC's `MII_ACC` / `MII_DATA`), §3.12.2
//! (TX command words A and B) and §3.13.3 (RX status word). QEMU models a subset of the chip
//! (`hw/net/lan9118.c`); everything named here is in that subset, and the notes say where the
//! model differs from the chip.

/// Direct registers (datasheet §5.3 and its memory map): byte offsets from the chip's base.
pub mod reg {
    /// RX data FIFO port (0x00; 0x04–0x1C alias it): one 32-bit word of a received
    /// frame per read, least significant byte first.
    pub const RX_DATA_FIFO: usize = 0x00;
    /// TX data FIFO port (0x20; 0x24–0x3C alias it): command words A and B, then the frame's words.
    pub const TX_DATA_FIFO: usize = 0x20;
    /// RX status FIFO port (0x40): one status word per received frame
    /// ([`super::rx_status`]); reading pops it.
    pub const RX_STATUS_FIFO: usize = 0x40;
    /// Interrupt configuration (§5.3, 0x54): the IRQ pin's enable, polarity and buffer type.
    pub const IRQ_CFG: usize = 0x54;
    /// Interrupt status (§5.3, 0x58): one bit per source ([`super::int`]); write 1 to clear.
    pub const INT_STS: usize = 0x58;
    /// Interrupt enable (§5.3, 0x5C): which [`super::int`] sources drive the IRQ pin.
    pub const INT_EN: usize = 0x5C;
    /// Byte order test (§5.3, 0x64): reads [`super::BYTE_TEST_VALUE`] when the bus works.
    pub const BYTE_TEST: usize = 0x64;
    /// FIFO level interrupts (§5.3, 0x68): the levels that raise `RSFL` and `TDFA`.
    pub const FIFO_INT: usize = 0x68;
    /// Receive configuration (§5.3, 0x6C).
    pub const RX_CFG: usize = 0x6C;
    /// Transmit configuration (§5.3, 0x70).
    pub const TX_CFG: usize = 0x70;
    /// Hardware configuration (§5.3, 0x74): soft reset.
    pub const HW_CFG: usize = 0x74;
    /// RX FIFO information (§5.3, 0x7C): used space of the RX status and data FIFOs.
    pub const RX_FIFO_INF: usize = 0x7C;
    /// TX FIFO information (§5.3, 0x80): free space of the TX data FIFO.
    pub const TX_FIFO_INF: usize = 0x80;
    /// Power management control (§5.3, 0x84): whether the chip is ready after a reset.
    pub const PMT_CTRL: usize = 0x84;
    /// MAC CSR command (§5.3, 0xA4): starts an access to a MAC register ([`super::mac`]).
    pub const MAC_CSR_CMD: usize = 0xA4;
    /// MAC CSR data (§5.3, 0xA8): the value read or to write.
    pub const MAC_CSR_DATA: usize = 0xA8;
}

/// What [`reg::BYTE_TEST`] reads on a working 32-bit bus in the right byte order.
pub const BYTE_TEST_VALUE: u32 = 0x8765_4321;

/// `IRQ_CFG` bits (§5.3).
pub mod irq_cfg {
    /// IRQ_EN: the IRQ pin follows `INT_STS & INT_EN`.
    pub const ENABLE: u32 = 1 << 8;
    /// IRQ_POL: active high. QEMU drives the line active low unless both this and
    /// [`PUSH_PULL`] are set, so the driver always sets both.
    pub const ACTIVE_HIGH: u32 = 1 << 4;
    /// IRQ_TYPE: push-pull output (not open drain).
    pub const PUSH_PULL: u32 = 1 << 0;
}

/// `INT_STS` / `INT_EN` bits (§5.3) the driver uses.
pub mod int {
    /// RSFL: the RX status FIFO holds more words than `FIFO_INT`'s RX status level (a frame).
    pub const RSFL: u32 = 1 << 3;
    /// TDFA: the TX data FIFO has more free space than `FIFO_INT`'s TX data available level.
    /// (QEMU's model never raises it: it sends a frame as soon as it is written, so its TX FIFO
    /// never stays full.)
    pub const TDFA: u32 = 1 << 9;
    /// PHY_INT: the PHY's interrupt source (§5.5) has an enabled bit set.
    pub const PHY: u32 = 1 << 18;
    /// Every bit the driver enables, for clearing at start.
    pub const ALL: u32 = 0xFFFF_FFFF;
}

/// `FIFO_INT` fields (§5.3).
pub mod fifo_int {
    /// TX data available level, bits 31:24, in 64-byte units.
    pub const TX_AVAILABLE_SHIFT: u32 = 24;
    /// The unit of the TX data available level, in bytes.
    pub const TX_AVAILABLE_UNIT: usize = 64;
    /// RX status level, bits 7:0: `RSFL` is raised when more status words than this are
    /// waiting (0: any frame).
    pub const RX_STATUS_LEVEL_MASK: u32 = 0xFF;
}

/// `RX_CFG` bits (§5.3).
pub mod rx_cfg {
    /// RX_DUMP: empties both RX FIFOs (the driver's recovery when they disagree).
    pub const DUMP: u32 = 1 << 15;
}

/// `TX_CFG` bits (§5.3).
pub mod tx_cfg {
    /// TX_ON: the transmitter takes frames from the TX data FIFO.
    pub const ON: u32 = 1 << 1;
    /// TXSAO: the TX status FIFO may overrun. The driver never reads TX statuses (a sent frame
    /// is the stack's business), so it lets them be overwritten instead of stalling.
    pub const STATUS_ALLOW_OVERRUN: u32 = 1 << 2;
}

/// `HW_CFG` bits (§5.3).
pub mod hw_cfg {
    /// SRST: soft reset; reads 1 until the reset is over.
    pub const SOFT_RESET: u32 = 1 << 0;
}

/// `PMT_CTRL` bits (§5.3).
pub mod pmt_ctrl {
    /// READY: the chip is out of reset and its registers may be used.
    pub const READY: u32 = 1 << 0;
}

/// `RX_FIFO_INF` fields (§5.3).
pub mod rx_fifo_inf {
    /// RXSUSED, bits 23:16: status words waiting (one per frame).
    pub const STATUS_USED_SHIFT: u32 = 16;
    /// Mask of RXSUSED after the shift.
    pub const STATUS_USED_MASK: u32 = 0xFF;
    /// RXDUSED, bits 15:0: bytes waiting in the RX data FIFO.
    pub const DATA_USED_MASK: u32 = 0xFFFF;
}

/// `TX_FIFO_INF` fields (§5.3).
pub mod tx_fifo_inf {
    /// TDFREE, bits 15:0: free bytes in the TX data FIFO.
    pub const DATA_FREE_MASK: u32 = 0xFFFF;
}

/// `MAC_CSR_CMD` bits (§5.3).
pub mod mac_csr_cmd {
    /// CSR busy: set to start an access; the chip clears it when the access is done.
    pub const BUSY: u32 = 1 << 31;
    /// R/nW: the access is a read.
    pub const READ: u32 = 1 << 30;
    /// CSR address, bits 7:0: the MAC register's index ([`super::mac`]).
    pub const ADDRESS_MASK: u32 = 0xFF;
}

/// MAC registers (§5.4), by index, through `MAC_CSR_CMD` / `MAC_CSR_DATA`.
pub mod mac {
    /// MAC_CR: MAC control (§5.4).
    pub const CR: u32 = 1;
    /// ADDRH: MAC address bytes 4 and 5 in bits 15:0 (§5.4).
    pub const ADDRH: u32 = 2;
    /// ADDRL: MAC address bytes 0 to 3, byte 0 least significant (§5.4).
    pub const ADDRL: u32 = 3;
    /// MII_ACC: starts a PHY register access (§5.4).
    pub const MII_ACC: u32 = 6;
    /// MII_DATA: the PHY register value read or to write, bits 15:0 (§5.4).
    pub const MII_DATA: u32 = 7;
}

/// `MAC_CR` bits (§5.4) the driver sets. Left clear: PRMS (promiscuous; QEMU's reset value),
/// BCAST (which *disables* broadcast reception: ARP needs broadcasts), MCPAS (all multicast).
pub mod mac_cr {
    /// RXEN: receiver enabled.
    pub const RX_ENABLE: u32 = 1 << 2;
    /// TXEN: transmitter enabled.
    pub const TX_ENABLE: u32 = 1 << 3;
    /// FDPX: full duplex.
    pub const FULL_DUPLEX: u32 = 1 << 20;
}

/// `MII_ACC` fields (§5.4).
pub mod mii_acc {
    /// PHY address, bits 15:11: the internal PHY is address 1.
    pub const PHY_ADDRESS: u32 = 1 << 11;
    /// MII register index, bits 10:6.
    pub const REGISTER_SHIFT: u32 = 6;
    /// MIIWnR: the access is a write.
    pub const WRITE: u32 = 1 << 1;
    /// MIIBZY: set to start; the MAC clears it when the PHY access is done.
    pub const BUSY: u32 = 1 << 0;
}

/// PHY registers (§5.5), by MII index, and their bits.
pub mod phy {
    /// Basic control (§5.5).
    pub const BASIC_CONTROL: u32 = 0;
    /// Basic control: auto-negotiation enabled.
    pub const AUTONEG_ENABLE: u32 = 1 << 12;
    /// Basic control: restart auto-negotiation.
    pub const AUTONEG_RESTART: u32 = 1 << 9;
    /// Basic status (§5.5).
    pub const BASIC_STATUS: u32 = 1;
    /// Basic status: link up.
    pub const LINK_UP: u32 = 1 << 2;
    /// Auto-negotiation advertisement (§5.5).
    pub const ADVERTISEMENT: u32 = 4;
    /// Auto-negotiation link partner ability (§5.5).
    pub const PARTNER_ABILITY: u32 = 5;
    /// Advertisement / partner ability: 100BASE-TX full duplex.
    pub const ABILITY_100_FULL: u32 = 1 << 8;
    /// Advertisement / partner ability: 10BASE-T full duplex.
    pub const ABILITY_10_FULL: u32 = 1 << 6;
    /// Interrupt source (§5.5): reading clears it.
    pub const INTERRUPT_SOURCE: u32 = 29;
    /// Interrupt mask (§5.5).
    pub const INTERRUPT_MASK: u32 = 30;
    /// Interrupt source / mask: energy detected (INT7).
    pub const INT_ENERGY_ON: u32 = 1 << 7;
    /// Interrupt source / mask: auto-negotiation complete (INT6).
    pub const INT_AUTONEG_COMPLETE: u32 = 1 << 6;
    /// Interrupt source / mask: link down (INT4).
    pub const INT_LINK_DOWN: u32 = 1 << 4;
}

/// The RX status word (§3.13.3), one per received frame.
pub mod rx_status {
    /// Filtering fail: the frame is not for this station.
    pub const FILTER_FAIL: u32 = 1 << 30;
    /// Packet length, bits 29:16, in bytes, *including* the 4-byte FCS.
    pub const LENGTH_SHIFT: u32 = 16;
    /// Mask of the packet length after the shift.
    pub const LENGTH_MASK: u32 = 0x3FFF;
    /// Error status (ES): the OR of runt frame, frame too long, late collision and CRC error.
    pub const ERROR: u32 = 1 << 15;
}

/// TX command word A (§3.12.2).
pub mod tx_cmd_a {
    /// First segment of the frame.
    pub const FIRST_SEGMENT: u32 = 1 << 13;
    /// Last segment of the frame.
    pub const LAST_SEGMENT: u32 = 1 << 12;
    /// Buffer size, bits 10:0, in bytes (buffer end alignment 0: 4 bytes; data start offset 0).
    pub const BUFFER_SIZE_MASK: u32 = 0x7FF;
}

/// TX command word B (§3.12.2).
pub mod tx_cmd_b {
    /// Packet tag, bits 31:16: echoed in the TX status (the driver counts frames in it).
    pub const TAG_SHIFT: u32 = 16;
    /// Packet length, bits 10:0, in bytes. (Bits 13/12, which would disable the FCS and the
    /// padding of short frames, stay clear: the chip adds both.)
    pub const LENGTH_MASK: u32 = 0x7FF;
}
