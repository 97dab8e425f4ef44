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
use alloc::vec;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use core::task::{Context, Poll};

use wasmtime::component::Resource;

use super::HostState;
use super::bindings::ariel::wasm_bindings::udp_api;
use udp_api::{Endpoint, IpAddr as WitIp, Ipv4Addr as WitV4, Ipv6Addr as WitV6, UdpMetadata};

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

/// Per-capsule UDP state inside [`HostState`].
#[derive(Default)]
pub(crate) struct UdpState {
    pub(crate) stack: Option<Arc<dyn UdpStack>>,
    pub(crate) socket: Option<Box<dyn UdpSocket>>,
}

fn to_wit(ip: IpAddr) -> WitIp {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            WitIp::V4(WitV4 { a, b, c, d })
        }
        IpAddr::V6(v6) => {
            let [a, b, c, d, e, f, g, h] = v6.segments();
            WitIp::V6(WitV6 {
                a,
                b,
                c,
                d,
                e,
                f,
                g,
                h,
            })
        }
    }
}

fn from_wit(ip: &WitIp) -> IpAddr {
    match *ip {
        WitIp::V4(WitV4 { a, b, c, d }) => IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
        WitIp::V6(WitV6 {
            a,
            b,
            c,
            d,
            e,
            f,
            g,
            h,
        }) => IpAddr::V6(Ipv6Addr::new(a, b, c, d, e, f, g, h)),
    }
}

impl udp_api::Host for HostState {}

impl udp_api::HostUdpSocket for HostState {
    fn bind(&mut self, port: u16) -> Result<(), ()> {
        let udp = &mut self.udp;
        if udp.socket.is_some() {
            return Err(());
        }
        let stack = udp.stack.as_ref().ok_or(())?;
        udp.socket = Some(stack.bind(port).map_err(drop)?);
        Ok(())
    }

    async fn send(&mut self, data: Vec<u8>, endpoint: UdpMetadata) -> Result<(), ()> {
        let socket = self.udp.socket.as_mut().ok_or(())?;
        if data.len() > socket.max_datagram() {
            return Err(());
        }
        let to = SocketAddr::new(from_wit(&endpoint.endpoint.addr), endpoint.endpoint.port);
        core::future::poll_fn(|cx| socket.poll_send_to(&data, to, cx))
            .await
            .map_err(drop)
    }

    async fn try_recv(&mut self) -> Result<Option<(Vec<u8>, UdpMetadata)>, ()> {
        let socket = self.udp.socket.as_mut().ok_or(())?;
        let mut buf = vec![0u8; socket.max_datagram()];
        // Wait for a datagram (the stack wakes us) or the end of the grace period, whichever
        // comes first; the executor runs other tasks meanwhile.
        let mut grace = embassy_time::Timer::after(TRY_RECV_GRACE);
        let polled = core::future::poll_fn(|cx| match socket.poll_recv_from(&mut buf, cx) {
            Poll::Ready(r) => Poll::Ready(Some(r)),
            Poll::Pending => core::pin::Pin::new(&mut grace).poll(cx).map(|()| None),
        })
        .await;
        match polled {
            Some(Ok((len, meta))) => {
                buf.truncate(len);
                let metadata = UdpMetadata {
                    endpoint: Endpoint {
                        addr: to_wit(meta.from.ip()),
                        port: meta.from.port(),
                    },
                    local_addr: meta.local.map(to_wit),
                };
                Ok(Some((buf, metadata)))
            }
            Some(Err(_)) => Err(()),
            None => Ok(None),
        }
    }

    fn drop(&mut self, _rep: Resource<udp_api::UdpSocket>) -> wasmtime::Result<()> {
        // `udp-socket` has only static functions: no instance is ever created, nothing to free.
        Ok(())
    }
}
