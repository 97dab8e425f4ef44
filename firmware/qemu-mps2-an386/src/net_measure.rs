//! What each exchange costs the device, for docs/footprint.md (`net-report.py`): a
//! [`Transport`] that counts the instructions between a datagram arriving and the answer
//! leaving (the server's socket), or the next receive starting (the Resource Directory
//! registration's socket: handling the RD's answer and sending what follows) — under `qemu-system-arm -icount shift=0`, SysTick cycles are instructions
//! ([`crate::measure::INSTRUCTIONS_PER_CYCLE`]) — and prints them with the heap's state. Only
//! when QEMU is given `-semihosting-config …,arg=firmware,arg=measure`; otherwise the socket is used as it is.

use core::cell::Cell;

use trevm_coap::server::Transport;

use crate::console::board;
use crate::measure::{HEAP, INSTRUCTIONS_PER_CYCLE};
use crate::time_driver::cycles;

/// `inner`, measured when `on`.
pub(crate) struct Measured<T> {
    inner: T,
    on: bool,
    /// The registration's socket (measured to the next receive), not the server's (to the send).
    rd: bool,
    /// SysTick cycles when the last datagram arrived, its length, and the bytes sent since.
    received: Cell<(u64, usize, usize)>,
}

impl<T> Measured<T> {
    /// The server's socket `inner`, measured when the firmware's semihosting command line says
    /// `measure`.
    pub(crate) fn new(inner: T) -> Self {
        Self::with_mode(inner, false)
    }

    /// The Resource Directory registration's socket `inner`, measured likewise.
    pub(crate) fn rd(inner: T) -> Self {
        Self::with_mode(inner, true)
    }

    fn with_mode(inner: T, rd: bool) -> Self {
        let mut buf = [0u8; crate::host_file::MAX_COMMAND_LINE];
        let on = crate::host_file::command_line(&mut buf)
            .is_some_and(|line| line.split_whitespace().any(|w| w == "measure"));
        if on && !rd {
            board("measure: each exchange's instructions are printed (semihosting arg measure)");
        }
        Measured {
            inner,
            on,
            rd,
            received: Cell::new((0, 0, 0)),
        }
    }
}

impl<T: Transport> Transport for Measured<T> {
    type Peer = T::Peer;
    type Error = T::Error;

    async fn recv_from(&self, buf: &mut [u8]) -> Result<(usize, T::Peer), T::Error> {
        let (at, len, sent) = self.received.get();
        if self.on && self.rd && len > 0 {
            let instructions = (cycles() - at) * INSTRUCTIONS_PER_CYCLE;
            board(&alloc::format!(
                "measure: rd answer {len} B in, {sent} B out: {instructions} instructions; heap \
                 in use {} B, peak {} B",
                HEAP.used(),
                HEAP.peak(),
            ));
            // What is sent later (a refresh, after a timer) is not this answer's work.
            self.received.set((0, 0, 0));
        }
        let received = self.inner.recv_from(buf).await?;
        self.received.set((cycles(), received.0, 0));
        Ok(received)
    }

    async fn send_to(&self, data: &[u8], peer: &T::Peer) -> Result<(), T::Error> {
        if self.on && self.rd {
            let (at, len, sent) = self.received.get();
            self.received.set((at, len, sent + data.len()));
        } else if self.on {
            let (at, len, _) = self.received.get();
            let instructions = (cycles() - at) * INSTRUCTIONS_PER_CYCLE;
            board(&alloc::format!(
                "measure: exchange {len} B in, {} B out: {instructions} instructions; heap in use \
                 {} B, peak {} B; main stack high-water {} B",
                data.len(),
                HEAP.used(),
                HEAP.peak(),
                crate::measure::stack_high_water()
            ));
        }
        self.inner.send_to(data, peer).await
    }

    fn is_transient(&self, error: &T::Error) -> bool {
        self.inner.is_transient(error)
    }
}
