//! A fake LAN9118 register file for the host tests: FIFOs as queues, write-one-to-clear
//! interrupt status, the MAC CSR and MII handshakes completing at once, a PHY register file.

extern crate std;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::vec::Vec;

use crate::map::{hw_cfg, irq_cfg, mac, mac_csr_cmd, mii_acc, reg, rx_cfg};
use crate::regs::Regs;

pub struct State {
    pub byte_test: u32,
    pub reset_stuck: bool,
    pub irq_cfg: u32,
    pub int_sts: u32,
    pub int_en: u32,
    pub fifo_int: u32,
    pub rx_cfg: u32,
    pub tx_cfg: u32,
    pub rx_status: VecDeque<u32>,
    pub rx_data: VecDeque<u32>,
    pub rx_underflows: u32,
    pub rx_dumps: u32,
    pub tx_fifo: Vec<u32>,
    pub tx_free: u32,
    pub mac: [u32; 16],
    pub mac_cmd: u32,
    pub mac_data: u32,
    pub phy: [u16; 32],
    pub phy_reads: u32,
}

pub struct Fake(pub RefCell<State>);

/// PRMS: promiscuous, what the chip resets MAC_CR to.
const PRMS: u32 = 1 << 18;

impl Fake {
    pub fn new() -> Self {
        let mut mac_regs = [0; 16];
        mac_regs[mac::CR as usize] = PRMS;
        // 52:54:00:12:34:56, QEMU's default.
        mac_regs[mac::ADDRL as usize] = 0x1200_5452;
        mac_regs[mac::ADDRH as usize] = 0x5634;
        let mut phy = [0; 32];
        phy[1] = 0x782d; // link up, auto-negotiation complete
        phy[4] = 0x01e1;
        phy[5] = 0x0f71;
        Fake(RefCell::new(State {
            byte_test: crate::map::BYTE_TEST_VALUE,
            reset_stuck: false,
            irq_cfg: 0,
            int_sts: 0,
            int_en: 0,
            fifo_int: 0,
            rx_cfg: 0,
            tx_cfg: 0,
            rx_status: VecDeque::new(),
            rx_data: VecDeque::new(),
            rx_underflows: 0,
            rx_dumps: 0,
            tx_fifo: Vec::new(),
            tx_free: 4608,
            mac: mac_regs,
            mac_cmd: 0,
            mac_data: 0,
            phy,
            phy_reads: 0,
        }))
    }

    pub fn state(&self) -> std::cell::RefMut<'_, State> {
        self.0.borrow_mut()
    }

    /// A received frame as the chip stores it: the status word (length with the FCS), then the
    /// bytes and a 4-byte FCS in little-endian words.
    pub fn push_frame(&self, bytes: &[u8]) {
        let mut with_fcs = bytes.to_vec();
        with_fcs.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        self.push_raw((with_fcs.len() as u32) << 16, &with_fcs);
    }

    /// A status word and the data bytes (padded to words) behind it.
    pub fn push_raw(&self, status: u32, data: &[u8]) {
        let mut s = self.state();
        s.rx_status.push_back(status);
        for chunk in data.chunks(4) {
            let mut word = [0u8; 4];
            word[..chunk.len()].copy_from_slice(chunk);
            s.rx_data.push_back(u32::from_le_bytes(word));
        }
    }

    /// Whether the IRQ line is asserted (active high, as the driver configures it).
    pub fn line(&self) -> bool {
        let s = self.0.borrow();
        s.irq_cfg & irq_cfg::ENABLE != 0 && s.int_sts & s.int_en != 0
    }
}

impl State {
    fn phy_read(&mut self, index: usize) -> u16 {
        self.phy_reads += 1;
        let value = self.phy[index];
        if index == 29 {
            self.phy[29] = 0;
        }
        value
    }

    fn mac_write(&mut self, index: usize, value: u32) {
        if index == mac::MII_ACC as usize {
            let phy_reg = ((value >> mii_acc::REGISTER_SHIFT) & 0x1f) as usize;
            if value & mii_acc::WRITE != 0 {
                self.phy[phy_reg] = self.mac[mac::MII_DATA as usize] as u16;
            } else {
                self.mac[mac::MII_DATA as usize] = u32::from(self.phy_read(phy_reg));
            }
            self.mac[index] = value & !mii_acc::BUSY;
        } else {
            self.mac[index] = value;
        }
    }
}

impl Regs for Fake {
    fn read(&self, offset: usize) -> u32 {
        let mut s = self.state();
        match offset {
            0x00..0x20 => s.rx_data.pop_front().unwrap_or_else(|| {
                s.rx_underflows += 1;
                0
            }),
            reg::RX_STATUS_FIFO => s.rx_status.pop_front().unwrap_or(0),
            reg::RX_FIFO_INF => ((s.rx_status.len() as u32) << 16) | (s.rx_data.len() as u32 * 4),
            reg::TX_FIFO_INF => s.tx_free,
            reg::BYTE_TEST => s.byte_test,
            reg::IRQ_CFG => s.irq_cfg,
            reg::INT_STS => s.int_sts,
            reg::INT_EN => s.int_en,
            reg::FIFO_INT => s.fifo_int,
            reg::RX_CFG => s.rx_cfg,
            reg::TX_CFG => s.tx_cfg,
            reg::HW_CFG => u32::from(s.reset_stuck) * hw_cfg::SOFT_RESET,
            reg::PMT_CTRL => 1,
            reg::MAC_CSR_CMD => s.mac_cmd,
            reg::MAC_CSR_DATA => s.mac_data,
            _ => panic!("read of an unexpected register {offset:#x}"),
        }
    }

    fn write(&self, offset: usize, value: u32) {
        let mut s = self.state();
        match offset {
            0x20..0x40 => s.tx_fifo.push(value),
            reg::IRQ_CFG => s.irq_cfg = value,
            reg::INT_STS => s.int_sts &= !value,
            reg::INT_EN => s.int_en = value,
            reg::FIFO_INT => s.fifo_int = value,
            reg::RX_CFG => {
                if value & rx_cfg::DUMP != 0 {
                    s.rx_status.clear();
                    s.rx_data.clear();
                    s.rx_dumps += 1;
                }
                s.rx_cfg = value & !rx_cfg::DUMP;
            }
            reg::TX_CFG => s.tx_cfg = value,
            reg::HW_CFG => {
                if value & hw_cfg::SOFT_RESET != 0 {
                    s.int_en = 0;
                    s.int_sts = 0;
                    s.mac[mac::CR as usize] = PRMS;
                }
            }
            reg::MAC_CSR_CMD => {
                let index = (value & mac_csr_cmd::ADDRESS_MASK) as usize;
                if value & mac_csr_cmd::BUSY != 0 {
                    if value & mac_csr_cmd::READ != 0 {
                        s.mac_data = s.mac[index];
                    } else {
                        let data = s.mac_data;
                        s.mac_write(index, data);
                    }
                }
                s.mac_cmd = value & !mac_csr_cmd::BUSY;
            }
            reg::MAC_CSR_DATA => s.mac_data = value,
            _ => panic!("write of an unexpected register {offset:#x}"),
        }
    }
}
