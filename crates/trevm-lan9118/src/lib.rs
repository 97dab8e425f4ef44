//! An [embassy-net](https://docs.rs/embassy-net) driver for the SMSC LAN9118 10/100 Ethernet
//! controller, as QEMU's `mps2-an385`/`mps2-an386` boards model it (`-nic user,model=lan9118`;
//! registers at `0x4020_0000`, interrupt line 13 of the NVIC).
//!
//! - [`Lan9118`] implements `embassy-net-driver`'s [`Driver`](embassy_net_driver::Driver):
//!   frames move through the chip's FIFOs by programmed I/O, one RX and one TX buffer of
//!   [`BUFFER`] bytes.
//! - It is interrupt-driven: the firmware calls [`Shared::on_interrupt`] from the chip's
//!   interrupt vector; that masks and acknowledges what fired and wakes the waiting task, which
//!   re-arms the interrupt when it has to wait again. Nothing polls on a timer.
//! - Register access goes through [`Regs`]; [`Mmio`] is the real one (the crate's only
//!   `unsafe`), and the host tests use a fake register file.
//! - Received frames the chip flagged, that fail its address filter, or that are shorter than an
//!   Ethernet header or longer than [`MTU`] are dropped and counted ([`Counters`]); a status
//!   word that claims more data than the FIFO holds empties the FIFOs. No FIFO content can make
//!   the driver panic or read out of its buffers.
//!
//! The register map, with its datasheet references, is [`map`].
#![no_std]
#![warn(missing_docs)]

mod counters;
mod driver;
pub mod frame;
pub mod map;
mod mii;
mod regs;
mod shared;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

pub use counters::Counters;
pub use driver::{InitError, Lan9118, MAX_DROPS_PER_CALL, RxToken, TxToken};
pub use frame::{BUFFER, MTU};
pub use regs::{Mmio, Regs};
pub use shared::Shared;

/// Where QEMU's MPS2 boards (AN385, AN386, AN500) map the LAN9118's registers.
pub const MPS2_BASE: usize = 0x4020_0000;
/// The NVIC interrupt line of the LAN9118 on QEMU's MPS2 AN385/AN386/AN500 boards (47 on AN511).
pub const MPS2_IRQ: u16 = 13;
