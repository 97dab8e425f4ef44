//! The driver proper: bringing the chip up, and embassy-net's [`Driver`] on top of the FIFO
//! bookkeeping ([`crate::frame`]) and the interrupt protocol ([`crate::shared`]).

use core::task::Context;

use embassy_net_driver::{Capabilities, Driver, HardwareAddress, LinkState};

use crate::counters::Counters;
use crate::frame::{self, BUFFER, MTU, Refusal, RxVerdict};
use crate::map::{
    self, fifo_int, hw_cfg, int, irq_cfg, mac, mac_cr, phy, pmt_ctrl, reg, rx_cfg, rx_fifo_inf,
    tx_cfg, tx_fifo_inf,
};
use crate::mii::{self, Timeout};
use crate::regs::Regs;
use crate::shared::Shared;

/// Most refused frames one `receive` call discards before it yields (waking itself), so that a
/// flood of bad frames cannot hold the executor.
pub const MAX_DROPS_PER_CALL: usize = 8;

/// TX FIFO space `transmit` waits for: the largest frame with its command words.
const TX_NEEDED: usize = 8 + BUFFER;

/// Why the chip could not be brought up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitError {
    /// `BYTE_TEST` did not read as a LAN9118's: no chip there, or the bus is misconfigured.
    NotFound {
        /// What `BYTE_TEST` read.
        byte_test: u32,
    },
    /// The soft reset did not finish.
    ResetTimeout,
    /// A MAC or PHY register access did not finish.
    Mii,
}

impl core::fmt::Display for InitError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            InitError::NotFound { byte_test } => write!(
                f,
                "no LAN9118: BYTE_TEST reads {byte_test:#010x}, not {:#010x}",
                map::BYTE_TEST_VALUE
            ),
            InitError::ResetTimeout => f.write_str("the LAN9118's soft reset did not finish"),
            InitError::Mii => f.write_str("a LAN9118 MAC/PHY register access did not finish"),
        }
    }
}

impl From<Timeout> for InitError {
    fn from(_: Timeout) -> Self {
        InitError::Mii
    }
}

/// A LAN9118 as an embassy-net [`Driver`].
///
/// Memory: two frame buffers of [`BUFFER`] bytes (one received frame waiting for the stack, one
/// frame the stack is building to send: smoltcp builds a reply while it still holds the request,
/// so both are needed at once), and a few words of state; the frames beyond those wait in the
/// chip's own FIFOs.
pub struct Lan9118<R: Regs> {
    regs: R,
    shared: &'static Shared,
    mac: [u8; 6],
    link: LinkState,
    tag: u16,
    counters: Counters,
    rx: [u8; BUFFER],
    tx: [u8; BUFFER],
}

impl<R: Regs> Lan9118<R> {
    /// Resets the chip and brings it up: MAC address `mac` (or, with `None`, the one the chip
    /// holds: what QEMU's `-nic …,mac=` or an EEPROM set), receiver and transmitter on, address
    /// filter on (own address and broadcast), auto-negotiation, and its interrupt line enabled
    /// (active high, push-pull) for frames and link changes. Enable the interrupt controller's
    /// line afterwards and call [`Shared::on_interrupt`] from it.
    pub fn new(regs: R, shared: &'static Shared, mac: Option<[u8; 6]>) -> Result<Self, InitError> {
        let byte_test = regs.read(reg::BYTE_TEST);
        if byte_test != map::BYTE_TEST_VALUE {
            return Err(InitError::NotFound { byte_test });
        }
        regs.write(reg::INT_EN, 0);
        regs.write(reg::HW_CFG, hw_cfg::SOFT_RESET);
        let ready = (0..mii::SPIN_LIMIT).any(|_| {
            regs.read(reg::HW_CFG) & hw_cfg::SOFT_RESET == 0
                && regs.read(reg::PMT_CTRL) & pmt_ctrl::READY != 0
        });
        if !ready {
            return Err(InitError::ResetTimeout);
        }
        // Line deasserted while nothing is enabled: active high, push-pull, not yet enabled.
        regs.write(reg::IRQ_CFG, irq_cfg::ACTIVE_HIGH | irq_cfg::PUSH_PULL);
        regs.write(reg::INT_EN, 0);
        regs.write(reg::INT_STS, int::ALL);

        if let Some(m) = mac {
            let low = u32::from_le_bytes([m[0], m[1], m[2], m[3]]);
            mii::mac_write(&regs, mac::ADDRL, low)?;
            mii::mac_write(&regs, mac::ADDRH, u32::from(m[4]) | (u32::from(m[5]) << 8))?;
        }
        let low = mii::mac_read(&regs, mac::ADDRL)?.to_le_bytes();
        let high = mii::mac_read(&regs, mac::ADDRH)?.to_le_bytes();
        let mac = [low[0], low[1], low[2], low[3], high[0], high[1]];

        mii::phy_write(
            &regs,
            phy::INTERRUPT_MASK,
            (phy::INT_ENERGY_ON | phy::INT_AUTONEG_COMPLETE | phy::INT_LINK_DOWN) as u16,
        )?;
        mii::phy_write(
            &regs,
            phy::BASIC_CONTROL,
            (phy::AUTONEG_ENABLE | phy::AUTONEG_RESTART) as u16,
        )?;
        // Duplex as negotiated at start (a later renegotiation keeps it).
        let common = u32::from(mii::phy_read(&regs, phy::ADVERTISEMENT)?)
            & u32::from(mii::phy_read(&regs, phy::PARTNER_ABILITY)?);
        let full = common & (phy::ABILITY_100_FULL | phy::ABILITY_10_FULL) != 0;

        // RSFL as soon as one status word waits; TDFA when a largest frame fits.
        let tx_level = TX_NEEDED.div_ceil(fifo_int::TX_AVAILABLE_UNIT) as u32;
        regs.write(reg::FIFO_INT, tx_level << fifo_int::TX_AVAILABLE_SHIFT);
        regs.write(reg::RX_CFG, 0);
        regs.write(reg::TX_CFG, tx_cfg::ON | tx_cfg::STATUS_ALLOW_OVERRUN);
        let duplex = if full { mac_cr::FULL_DUPLEX } else { 0 };
        mii::mac_write(
            &regs,
            mac::CR,
            mac_cr::RX_ENABLE | mac_cr::TX_ENABLE | duplex,
        )?;
        regs.write(
            reg::IRQ_CFG,
            irq_cfg::ENABLE | irq_cfg::ACTIVE_HIGH | irq_cfg::PUSH_PULL,
        );
        shared.arm(&regs, int::RSFL | int::PHY);
        Ok(Lan9118 {
            regs,
            shared,
            mac,
            link: LinkState::Down,
            tag: 0,
            counters: Counters::default(),
            rx: [0; BUFFER],
            tx: [0; BUFFER],
        })
    }

    /// The station's MAC address.
    pub fn mac_address(&self) -> [u8; 6] {
        self.mac
    }

    /// What the driver did with the frames it saw.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The wakers this driver registers, which its interrupt handler wakes.
    pub fn shared(&self) -> &'static Shared {
        self.shared
    }

    /// Whether the TX FIFO has room for a largest frame; if not, arms `TDFA` to be woken.
    fn tx_ready(&mut self, cx: &mut Context) -> bool {
        let free = |regs: &R| (regs.read(reg::TX_FIFO_INF) & tx_fifo_inf::DATA_FREE_MASK) as usize;
        if free(&self.regs) >= TX_NEEDED {
            return true;
        }
        self.shared.tx_waker().register(cx.waker());
        self.shared.acknowledge(&self.regs, int::TDFA);
        if free(&self.regs) >= TX_NEEDED {
            return true;
        }
        self.shared.arm(&self.regs, int::TDFA);
        false
    }

    /// Frames waiting in the RX status FIFO.
    fn rx_waiting(&self) -> u32 {
        (self.regs.read(reg::RX_FIFO_INF) >> rx_fifo_inf::STATUS_USED_SHIFT)
            & rx_fifo_inf::STATUS_USED_MASK
    }

    /// Reads the next acceptable frame into `self.rx` and returns its length, discarding
    /// refused ones; `None` (with `RSFL` armed, or a self-wake after [`MAX_DROPS_PER_CALL`]
    /// refusals) when there is none.
    fn next_frame(&mut self, cx: &mut Context) -> Option<usize> {
        for _ in 0..MAX_DROPS_PER_CALL {
            if self.rx_waiting() == 0 {
                self.shared.rx_waker().register(cx.waker());
                self.shared.acknowledge(&self.regs, int::RSFL);
                if self.rx_waiting() == 0 {
                    self.shared.arm(&self.regs, int::RSFL);
                    return None;
                }
            }
            // The data FIFO's level, read before the status is popped, covers that frame.
            let data = (self.regs.read(reg::RX_FIFO_INF) & rx_fifo_inf::DATA_USED_MASK) as usize;
            let status = self.regs.read(reg::RX_STATUS_FIFO);
            match frame::rx_verdict(status, data) {
                RxVerdict::Deliver { len, words } => {
                    frame::read_words(&self.regs, &mut self.rx, words);
                    self.counters.rx_frames = self.counters.rx_frames.wrapping_add(1);
                    return Some(len);
                }
                RxVerdict::Drop { reason, words } => {
                    frame::read_words(&self.regs, &mut [], words);
                    let counter = match reason {
                        Refusal::Error => &mut self.counters.rx_errors,
                        Refusal::Filtered => &mut self.counters.rx_filtered,
                        Refusal::TooLong => &mut self.counters.rx_too_long,
                        Refusal::TooShort => &mut self.counters.rx_too_short,
                    };
                    *counter = counter.wrapping_add(1);
                }
                RxVerdict::Desync => {
                    self.regs.write(reg::RX_CFG, rx_cfg::DUMP);
                    self.counters.rx_desyncs = self.counters.rx_desyncs.wrapping_add(1);
                }
            }
        }
        cx.waker().wake_by_ref();
        None
    }

    /// Reads the link from the PHY, acknowledging its interrupt first so that a change during
    /// the read raises it again.
    fn read_link(&mut self) -> Result<LinkState, Timeout> {
        self.shared.acknowledge(&self.regs, int::PHY);
        mii::phy_read(&self.regs, phy::INTERRUPT_SOURCE)?;
        // The link bit latches low: the first read reports a loss since the last read, the
        // second the link now.
        mii::phy_read(&self.regs, phy::BASIC_STATUS)?;
        let status = u32::from(mii::phy_read(&self.regs, phy::BASIC_STATUS)?);
        Ok(if status & phy::LINK_UP != 0 {
            LinkState::Up
        } else {
            LinkState::Down
        })
    }
}

impl<R: Regs> Driver for Lan9118<R> {
    type RxToken<'a>
        = RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a, R>
    where
        Self: 'a;

    fn receive(&mut self, cx: &mut Context) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        // A frame is only taken from the chip when its reply could be sent.
        if !self.tx_ready(cx) {
            return None;
        }
        let len = self.next_frame(cx)?;
        let rx = RxToken {
            frame: self.rx.get_mut(..len)?,
        };
        let tx = TxToken {
            regs: &self.regs,
            buf: &mut self.tx,
            tag: &mut self.tag,
            counters: &mut self.counters,
        };
        Some((rx, tx))
    }

    fn transmit(&mut self, cx: &mut Context) -> Option<Self::TxToken<'_>> {
        if !self.tx_ready(cx) {
            return None;
        }
        Some(TxToken {
            regs: &self.regs,
            buf: &mut self.tx,
            tag: &mut self.tag,
            counters: &mut self.counters,
        })
    }

    fn link_state(&mut self, cx: &mut Context) -> LinkState {
        self.shared.link_waker().register(cx.waker());
        if self.shared.take_link_changed() {
            self.link = self.read_link().unwrap_or_else(|_| {
                self.counters.mii_timeouts = self.counters.mii_timeouts.wrapping_add(1);
                LinkState::Down
            });
            self.shared.arm(&self.regs, int::PHY);
        }
        self.link
    }

    fn capabilities(&self) -> Capabilities {
        // No checksum offload: QEMU's model (and the LAN9118, unlike the LAN9220 the MPS2 has)
        // computes none, so the stack does them all (the default).
        let mut caps = Capabilities::default();
        caps.max_transmission_unit = MTU;
        caps
    }

    fn hardware_address(&self) -> HardwareAddress {
        HardwareAddress::Ethernet(self.mac)
    }
}

/// A received frame, already read from the chip into the driver's RX buffer.
pub struct RxToken<'a> {
    frame: &'a mut [u8],
}

impl embassy_net_driver::RxToken for RxToken<'_> {
    fn consume<T, F: FnOnce(&mut [u8]) -> T>(self, f: F) -> T {
        f(self.frame)
    }
}

/// Room in the TX FIFO for one frame (checked before the token was made).
pub struct TxToken<'a, R: Regs> {
    regs: &'a R,
    buf: &'a mut [u8; BUFFER],
    tag: &'a mut u16,
    counters: &'a mut Counters,
}

impl<R: Regs> embassy_net_driver::TxToken for TxToken<'_, R> {
    /// Lets `f` build the frame in the TX buffer, then writes it to the chip. A frame longer
    /// than the MTU (which the stack never builds: it is told the MTU) is built in a buffer cut
    /// to [`BUFFER`] bytes and not sent.
    fn consume<T, F: FnOnce(&mut [u8]) -> T>(self, len: usize, f: F) -> T {
        if len > MTU {
            self.counters.tx_too_long = self.counters.tx_too_long.wrapping_add(1);
            return f(&mut self.buf[..len.min(BUFFER)]);
        }
        let frame = &mut self.buf[..len];
        let result = f(frame);
        frame::write_frame(self.regs, frame, *self.tag);
        *self.tag = self.tag.wrapping_add(1);
        self.counters.tx_frames = self.counters.tx_frames.wrapping_add(1);
        result
    }
}
