//! `ariel:wasm-bindings/udp-api`: one UDP socket per capsule, on any network stack.
//!
//! The seam is [`UdpStack`] (bind a port) and [`UdpSocket`] (poll-based send and receive — the
//! shape of embassy-net's `UdpSocket::poll_send_to` / `poll_recv_from`, so an Ariel OS network
//! stack plugs in with a thin adapter; the native board implements it on `std::net`).
//!
//! For a capsule:
//! - `bind(port)` binds its socket; the error value if it is bound already or the stack refuses
//!   (e.g. the port is taken);
//! - `send(data, to)` sends one datagram, waiting without blocking the executor while the stack's
//!   buffers are full; the error value before `bind`, for a datagram over
//!   [`UdpSocket::max_datagram`] bytes, or if the stack refuses;
//! - `try-recv()` returns a waiting datagram, or `none` when none arrives within
//!   [`TRY_RECV_GRACE`] — the capsule waits for the stack's wakeup or the end of that grace
//!   period, never in a blocking call and never polling on a timer, so a capsule that polls in a
//!   loop neither spins the CPU nor delays a datagram; the error value before `bind`.

use alloc::boxed::Box;
use alloc::sync::Arc;
use core::net::{IpAddr, SocketAddr};
use core::task::{Context, Poll};

/// How long `try-recv` waits for a datagram before it returns `none`.
pub const TRY_RECV_GRACE: embassy_time::Duration = embassy_time::Duration::from_millis(5);

/// Why the network stack refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UdpError {
    /// The port is in use (bind).
    AddrInUse,
    /// The destination cannot be reached from here, or the address family is not supported.
    Unreachable,
    /// The datagram is larger than the socket can send.
    TooLarge,
    /// Anything else the stack reported.
    Other,
}

impl core::fmt::Display for UdpError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            UdpError::AddrInUse => "address in use",
            UdpError::Unreachable => "destination unreachable",
            UdpError::TooLarge => "datagram too large",
            UdpError::Other => "network error",
        })
    }
}

impl core::error::Error for UdpError {}

/// A received datagram's origin and the local address it arrived on (when the stack knows it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvMeta {
    /// Who sent it.
    pub from: SocketAddr,
    /// The local address it was received on.
    pub local: Option<IpAddr>,
}

/// A bound UDP socket, polled like embassy-net's.
pub trait UdpSocket: Send {
    /// Sends one datagram to `to`; `Pending` while the stack's send buffer is full, with `cx`'s
    /// waker registered to be woken when there is room.
    fn poll_send_to(
        &mut self,
        data: &[u8],
        to: SocketAddr,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), UdpError>>;
    /// Receives one datagram into `buf`; `Pending` when none is waiting, with `cx`'s waker
    /// registered to be woken when one arrives (as embassy-net's `poll_recv_from` does: the
    /// runtime relies on that wakeup and does not poll again by itself).
    fn poll_recv_from(
        &mut self,
        buf: &mut [u8],
        cx: &mut Context<'_>,
    ) -> Poll<Result<(usize, RecvMeta), UdpError>>;
    /// The largest datagram this socket sends or receives whole.
    fn max_datagram(&self) -> usize;
}

/// A network stack that gives capsules UDP sockets.
pub trait UdpStack: Send + Sync {
    /// Binds a socket to `port` on the device's addresses.
    fn bind(&self, port: u16) -> Result<Box<dyn UdpSocket>, UdpError>;
}

/// Per-capsule UDP state inside [`HostState`](super::HostState).
#[derive(Default)]
pub(crate) struct UdpState {
    pub(crate) stack: Option<Arc<dyn UdpStack>>,
    pub(crate) socket: Option<Box<dyn UdpSocket>>,
}
