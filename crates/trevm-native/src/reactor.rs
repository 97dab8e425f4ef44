//! [`Reactor`]: a `std::net` UDP socket registered with async-io's reactor, as the CoAP
//! server's and the RD registration's [`Transport`]: the task sleeps until the OS says a
//! datagram arrived.

use std::net::{SocketAddr, UdpSocket};

use trevm_coap::server::Transport;

/// A `std::net` socket registered with async-io's reactor.
pub(crate) struct Reactor(async_io::Async<UdpSocket>);

impl Reactor {
    /// `socket`, made non-blocking and registered.
    pub(crate) fn new(socket: UdpSocket) -> std::io::Result<Reactor> {
        async_io::Async::new(socket).map(Reactor)
    }
}

impl Transport for Reactor {
    type Peer = SocketAddr;
    type Error = std::io::Error;

    async fn recv_from(&self, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
        self.0.recv_from(buf).await
    }

    async fn send_to(&self, data: &[u8], peer: &SocketAddr) -> std::io::Result<()> {
        self.0.send_to(data, *peer).await.map(drop)
    }

    fn is_transient(&self, e: &std::io::Error) -> bool {
        // ICMP port unreachable from an earlier datagram surfaces here on Linux.
        e.kind() == std::io::ErrorKind::ConnectionRefused
    }
}
