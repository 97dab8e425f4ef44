//! The interrupt vectors of the network firmware. QEMU's MPS2 boards have no peripheral access
//! crate, which is what normally provides cortex-m-rt's device vector table (`__INTERRUPTS`)
//! and its `device.x`. With cortex-m-rt's `device` feature (enabled by feature `net`), the table
//! is this module's: the 14 lines up to the LAN9118's (line 13 on mps2-an385/an386,
//! hw/arm/mps2.c), all but that one going to cortex-m-rt's `DefaultHandler`. build.rs writes
//! the `device.x` that cortex-m-rt's linker script includes.

use cortex_m::interrupt::InterruptNumber;
use cortex_m::peripheral::NVIC;
use trevm_lan9118::{MPS2_IRQ, Mmio, Shared};

/// What the LAN9118's interrupt handler and its driver (src/net.rs) share: the driver's wakers.
pub(crate) static SHARED: Shared = Shared::new();

unsafe extern "C" {
    /// cortex-m-rt's handler for interrupts nobody handles.
    fn DefaultHandler();
}

/// Device interrupt lines in the table: up to and including the LAN9118's.
const LINES: usize = MPS2_IRQ as usize + 1;

/// The device part of the vector table, placed by cortex-m-rt's linker script right after the
/// 16 exception vectors.
#[unsafe(link_section = ".vector_table.interrupts")]
#[unsafe(no_mangle)]
static __INTERRUPTS: [unsafe extern "C" fn(); LINES] = {
    let mut lines = [DefaultHandler as unsafe extern "C" fn(); LINES];
    lines[MPS2_IRQ as usize] = LAN9118;
    lines
};

/// The LAN9118's interrupt: the driver's handler masks and acknowledges what fired and wakes
/// the network task.
#[unsafe(no_mangle)]
extern "C" fn LAN9118() {
    // SAFETY: QEMU's mps2-an386 maps the LAN9118 at MPS2_BASE; the handler only touches
    // INT_STS/INT_EN, which the driver changes only inside critical sections.
    let regs = unsafe { Mmio::new(trevm_lan9118::MPS2_BASE) };
    SHARED.on_interrupt(&regs);
}

/// The LAN9118's NVIC line.
#[derive(Clone, Copy)]
struct Lan9118Line;

// SAFETY: `number` returns the LAN9118's line, a valid line of this board that has a vector in
// `__INTERRUPTS`.
unsafe impl InterruptNumber for Lan9118Line {
    fn number(self) -> u16 {
        MPS2_IRQ
    }
}

/// Unmasks the LAN9118's line in the NVIC (once the driver has configured the chip's IRQ pin;
/// anything latched before is cleared first).
pub(crate) fn enable_lan9118() {
    NVIC::unpend(Lan9118Line);
    // SAFETY: the handler it enables is `LAN9118` above, which needs no state beyond
    // `SHARED` (a static, ready before the driver existed); unmasking cannot break a
    // critical section because none is held here.
    unsafe { NVIC::unmask(Lan9118Line) }
}
