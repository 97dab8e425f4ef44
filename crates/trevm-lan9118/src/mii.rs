//! The indirect registers: the MAC's (through `MAC_CSR_CMD` / `MAC_CSR_DATA`, §5.3) and the
//! PHY's (through the MAC's `MII_ACC` / `MII_DATA`, §5.4).
//!
//! Each access is a handshake with the chip: start it, then read its busy bit until the chip
//! clears it. That takes the chip a few bus cycles for a MAC register and an MII frame (~26 µs at
//! 2.5 MHz MDC) for a PHY register; QEMU completes both at once. It is not waiting for an event,
//! so it is bounded ([`SPIN_LIMIT`] reads) rather than interrupt-driven, and only happens at
//! start and when the PHY interrupt says the link changed.

use crate::map::{mac, mac_csr_cmd, mii_acc, reg};
use crate::regs::Regs;

/// Most reads of a busy bit before an access is declared failed: about 1 ms at ~100 ns a
/// register read, far beyond the ~26 µs of an MII frame (64 bits at 2.5 MHz).
pub const SPIN_LIMIT: u32 = 10_000;

/// The chip did not finish an indirect access within [`SPIN_LIMIT`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeout;

fn wait_csr(regs: &impl Regs) -> Result<(), Timeout> {
    for _ in 0..SPIN_LIMIT {
        if regs.read(reg::MAC_CSR_CMD) & mac_csr_cmd::BUSY == 0 {
            return Ok(());
        }
    }
    Err(Timeout)
}

/// Reads MAC register `index` ([`crate::map::mac`]).
pub fn mac_read(regs: &impl Regs, index: u32) -> Result<u32, Timeout> {
    wait_csr(regs)?;
    regs.write(
        reg::MAC_CSR_CMD,
        mac_csr_cmd::BUSY | mac_csr_cmd::READ | (index & mac_csr_cmd::ADDRESS_MASK),
    );
    wait_csr(regs)?;
    Ok(regs.read(reg::MAC_CSR_DATA))
}

/// Writes `value` to MAC register `index`.
pub fn mac_write(regs: &impl Regs, index: u32, value: u32) -> Result<(), Timeout> {
    wait_csr(regs)?;
    regs.write(reg::MAC_CSR_DATA, value);
    regs.write(
        reg::MAC_CSR_CMD,
        mac_csr_cmd::BUSY | (index & mac_csr_cmd::ADDRESS_MASK),
    );
    wait_csr(regs)
}

fn wait_mii(regs: &impl Regs) -> Result<(), Timeout> {
    for _ in 0..SPIN_LIMIT {
        if mac_read(regs, mac::MII_ACC)? & mii_acc::BUSY == 0 {
            return Ok(());
        }
    }
    Err(Timeout)
}

fn mii_command(index: u32) -> u32 {
    mii_acc::PHY_ADDRESS | ((index & 0x1F) << mii_acc::REGISTER_SHIFT) | mii_acc::BUSY
}

/// Reads PHY register `index` ([`crate::map::phy`]).
pub fn phy_read(regs: &impl Regs, index: u32) -> Result<u16, Timeout> {
    wait_mii(regs)?;
    mac_write(regs, mac::MII_ACC, mii_command(index))?;
    wait_mii(regs)?;
    Ok((mac_read(regs, mac::MII_DATA)? & 0xFFFF) as u16)
}

/// Writes `value` to PHY register `index`.
pub fn phy_write(regs: &impl Regs, index: u32, value: u16) -> Result<(), Timeout> {
    wait_mii(regs)?;
    mac_write(regs, mac::MII_DATA, u32::from(value))?;
    mac_write(regs, mac::MII_ACC, mii_command(index) | mii_acc::WRITE)?;
    wait_mii(regs)
}
