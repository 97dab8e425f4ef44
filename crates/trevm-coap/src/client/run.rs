//! A blocking driver for [`Client`]: the caller supplies the datagram transport (a socket, a
//! server in the same process) and the clock; [`Client::run`] does the rest.

use alloc::vec;

use super::error::Error;
use super::machine::{Client, Step};
use super::request::Reply;

/// The largest datagram [`Client::run`] receives (longer ones are cut, and then ignored as
/// malformed): a 1024-byte block with its header, options and OSCORE's overhead.
pub const MAX_DATAGRAM: usize = 2048;

/// Datagrams to and from one server, and the time.
pub trait Transport {
    /// What goes wrong in sending or receiving.
    type Error;
    /// Sends one datagram.
    fn send(&mut self, datagram: &[u8]) -> Result<(), Self::Error>;
    /// Waits for one datagram until `until_ms` at the latest: its length in `buf`, or `None`
    /// when the time has come without one.
    fn receive(&mut self, buf: &mut [u8], until_ms: u64) -> Result<Option<usize>, Self::Error>;
    /// The time in milliseconds (from any fixed origin).
    fn now_ms(&mut self) -> u64;
}

/// Why [`Client::run`] failed.
#[derive(Debug)]
pub enum RunError<E> {
    /// The request failed.
    Client(Error),
    /// The transport failed.
    Transport(E),
}

impl<E: core::fmt::Display> core::fmt::Display for RunError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RunError::Client(e) => e.fmt(f),
            RunError::Transport(e) => e.fmt(f),
        }
    }
}

impl<E> From<Error> for RunError<E> {
    fn from(e: Error) -> Self {
        RunError::Client(e)
    }
}

impl Client {
    /// Waits on `transport` until `until_ms` for one datagram (`buf` holds it) and hands it to
    /// the client.
    pub(super) fn receive_one<T: Transport>(
        &mut self,
        transport: &mut T,
        buf: &mut [u8],
        until_ms: u64,
    ) -> Result<(), RunError<T::Error>> {
        let got = transport
            .receive(buf, until_ms)
            .map_err(RunError::Transport)?;
        if let Some(n) = got {
            let now = transport.now_ms();
            self.receive(&buf[..n.min(buf.len())], now);
        }
        Ok(())
    }

    /// Drives the request (or handshake) started last to its end over `transport`, telling
    /// `progress` how much of an upload is acknowledged.
    pub fn run<T: Transport>(
        &mut self,
        transport: &mut T,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Reply, RunError<T::Error>> {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        loop {
            let now = transport.now_ms();
            match self.poll(now) {
                Step::Send(datagram) => transport.send(datagram).map_err(RunError::Transport)?,
                Step::Progress { done, total } => progress(done, total),
                Step::Wait { until_ms } => self.receive_one(transport, &mut buf, until_ms)?,
                Step::Done(result) => return result.map_err(RunError::Client),
                Step::Idle => return Err(RunError::Client(Error::Idle)),
            }
        }
    }
}
