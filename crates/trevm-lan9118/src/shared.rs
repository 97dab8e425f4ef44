//! What the driver and its interrupt handler share: a waker per event (a frame arrived, TX
//! space freed, the link changed) and the interrupt logic.
//!
//! The protocol, for each source: the handler *masks* the source in `INT_EN`, acknowledges it in
//! `INT_STS` and wakes the task that waits for it. The task (in the driver's `receive`,
//! `transmit`, `link_state`) registers its waker, checks the FIFO or PHY itself, and only when
//! it must wait *arms* the source again ([`Shared::arm`]). A source that fires between the check
//! and the arming is still set in `INT_STS`, so arming raises the interrupt at once: no event is
//! lost, and the interrupt never fires for an event the task has not yet consumed.

use core::sync::atomic::{AtomicBool, Ordering};

use embassy_sync::waitqueue::AtomicWaker;

use crate::map::{int, reg};
use crate::regs::Regs;

/// Wakers and flags shared between the driver and [`Shared::on_interrupt`]; one per chip, in a
/// `static`.
pub struct Shared {
    rx: AtomicWaker,
    tx: AtomicWaker,
    link: AtomicWaker,
    /// Set by the handler when the PHY interrupt fired (and at start): the link state must be
    /// read again from the PHY.
    link_changed: AtomicBool,
}

impl Default for Shared {
    fn default() -> Self {
        Self::new()
    }
}

impl Shared {
    /// Nothing registered; the link to be read.
    pub const fn new() -> Self {
        Shared {
            rx: AtomicWaker::new(),
            tx: AtomicWaker::new(),
            link: AtomicWaker::new(),
            link_changed: AtomicBool::new(true),
        }
    }

    /// The chip's interrupt handler: call it from the interrupt vector the chip's IRQ line is
    /// wired to, with that chip's registers. Masks and acknowledges what fired and wakes the
    /// tasks waiting for it; touches only `INT_STS` and `INT_EN`.
    pub fn on_interrupt(&self, regs: &impl Regs) {
        let enabled = regs.read(reg::INT_EN);
        let fired = regs.read(reg::INT_STS) & enabled;
        regs.write(reg::INT_EN, enabled & !fired);
        regs.write(reg::INT_STS, fired);
        if fired & int::RSFL != 0 {
            self.rx.wake();
        }
        if fired & int::TDFA != 0 {
            self.tx.wake();
        }
        if fired & int::PHY != 0 {
            self.link_changed.store(true, Ordering::Release);
            self.link.wake();
        }
    }

    /// Enables `sources` in `INT_EN` (a read-modify-write, in a critical section so that the
    /// handler's own read-modify-write cannot interleave).
    pub(crate) fn arm(&self, regs: &impl Regs, sources: u32) {
        critical_section::with(|_| {
            let enabled = regs.read(reg::INT_EN);
            regs.write(reg::INT_EN, enabled | sources);
        });
    }

    /// Acknowledges `sources` in `INT_STS` (write one to clear).
    pub(crate) fn acknowledge(&self, regs: &impl Regs, sources: u32) {
        regs.write(reg::INT_STS, sources);
    }

    pub(crate) fn rx_waker(&self) -> &AtomicWaker {
        &self.rx
    }

    pub(crate) fn tx_waker(&self) -> &AtomicWaker {
        &self.tx
    }

    pub(crate) fn link_waker(&self) -> &AtomicWaker {
        &self.link
    }

    /// Whether the link must be read again; clears the flag.
    pub(crate) fn take_link_changed(&self) -> bool {
        self.link_changed.swap(false, Ordering::AcqRel)
    }
}
