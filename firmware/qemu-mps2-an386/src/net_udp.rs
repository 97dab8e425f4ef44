//! trevm-coap's [`Transport`] over an embassy-net UDP socket.

use alloc::format;
use alloc::string::String;

use embassy_net::udp::{PacketMetadata, RecvError, SendError, UdpSocket};
use embassy_net::{IpEndpoint, Stack};
use static_cell::ConstStaticCell;
use trevm_coap::server::Transport;

/// A socket's buffers: `RXD` datagrams of `RX` bytes in all queued for the application, `TXD`
/// of `TX` bytes queued for sending. A datagram larger than the free space is dropped (its
/// sender retransmits). Each socket takes its own static set, once.
pub(crate) struct Buffers<const RXD: usize, const RX: usize, const TXD: usize, const TX: usize> {
    rx_meta: [PacketMetadata; RXD],
    rx: [u8; RX],
    tx_meta: [PacketMetadata; TXD],
    tx: [u8; TX],
}

impl<const RXD: usize, const RX: usize, const TXD: usize, const TX: usize>
    Buffers<RXD, RX, TXD, TX>
{
    /// Empty buffers, for a static.
    pub(crate) const fn new() -> Self {
        Buffers {
            rx_meta: [PacketMetadata::EMPTY; RXD],
            rx: [0; RX],
            tx_meta: [PacketMetadata::EMPTY; TXD],
            tx: [0; TX],
        }
    }
}

/// The CoAP server socket's buffers, 6 KiB and 12 metadata entries in all.
/// - 8 datagrams received: the client of one upload has one Block1 request in flight at a time,
///   so a few peers (or retransmissions) at once fit; more are dropped by smoltcp, and their
///   clients retransmit.
/// - 4096 bytes of them: three 1024-byte Block1 requests inside OSCORE (~1.2 KB each) and some
///   small ones.
/// - 4 answers queued for sending, `MAX_DATAGRAM` bytes: the server sends one at a time and
///   waits for room; one largest datagram it sends (well above a 1024-byte Block2 answer inside
///   OSCORE) fits.
pub(crate) type ServerBuffers = Buffers<8, 4096, 4, { trevm_coap::server::MAX_DATAGRAM }>;

static SERVER_BUFFERS: ConstStaticCell<ServerBuffers> = ConstStaticCell::new(Buffers::new());

/// A UDP socket of the device.
pub(crate) struct Udp {
    socket: UdpSocket<'static>,
}

impl Udp {
    /// The CoAP server's socket, bound to `port` on `stack`, with its static buffers (once only).
    pub(crate) fn bind(stack: Stack<'static>, port: u16) -> Result<Self, String> {
        let buffers = SERVER_BUFFERS
            .try_take()
            .ok_or("the UDP socket's buffers are taken")?;
        Self::bind_with(stack, port, buffers)
    }

    /// A socket bound to `port` on `stack` with `buffers`.
    pub(crate) fn bind_with<
        const RXD: usize,
        const RX: usize,
        const TXD: usize,
        const TX: usize,
    >(
        stack: Stack<'static>,
        port: u16,
        buffers: &'static mut Buffers<RXD, RX, TXD, TX>,
    ) -> Result<Self, String> {
        let mut socket = UdpSocket::new(
            stack,
            &mut buffers.rx_meta,
            &mut buffers.rx,
            &mut buffers.tx_meta,
            &mut buffers.tx,
        );
        socket
            .bind(port)
            .map_err(|e| format!("binding UDP port {port}: {e:?}"))?;
        Ok(Udp { socket })
    }
}

/// Why the socket failed.
#[derive(Debug)]
pub(crate) enum UdpError {
    /// Receiving: a datagram larger than the server's buffer (dropped; the loop goes on).
    Recv(RecvError),
    /// Sending (the server drops the answer; the peer retransmits).
    Send(SendError),
}

impl core::fmt::Display for UdpError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            UdpError::Recv(e) => write!(f, "receiving: {e:?}"),
            UdpError::Send(e) => write!(f, "sending: {e:?}"),
        }
    }
}

impl Transport for Udp {
    type Peer = IpEndpoint;
    type Error = UdpError;

    async fn recv_from(&self, buf: &mut [u8]) -> Result<(usize, IpEndpoint), UdpError> {
        let (len, meta) = self.socket.recv_from(buf).await.map_err(UdpError::Recv)?;
        Ok((len, meta.endpoint))
    }

    async fn send_to(&self, data: &[u8], peer: &IpEndpoint) -> Result<(), UdpError> {
        self.socket
            .send_to(data, *peer)
            .await
            .map_err(UdpError::Send)
    }

    fn is_transient(&self, error: &UdpError) -> bool {
        matches!(error, UdpError::Recv(RecvError::Truncated))
    }
}
