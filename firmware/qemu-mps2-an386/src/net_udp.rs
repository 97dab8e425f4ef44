//! trevm-coap's [`Transport`] over an embassy-net UDP socket.

use alloc::format;
use alloc::string::String;

use embassy_net::udp::{PacketMetadata, RecvError, SendError, UdpSocket};
use embassy_net::{IpEndpoint, Stack};
use static_cell::ConstStaticCell;
use trevm_coap::server::Transport;

/// Datagrams the socket queues for the server: the client of one upload has one Block1 request
/// in flight at a time, so a few peers (or retransmissions) at once fit; more are dropped by
/// smoltcp, and their clients retransmit.
const RX_DATAGRAMS: usize = 8;
/// Bytes of queued datagrams: three 1024-byte Block1 requests inside OSCORE (~1.2 KB each) and
/// some small ones. A datagram larger than the free space is dropped.
const RX_BYTES: usize = 4096;
/// Answers queued for sending: the server sends one at a time and waits for room.
const TX_DATAGRAMS: usize = 4;
/// Bytes of queued answers: one largest datagram the server sends (`MAX_DATAGRAM`, well above a
/// 1024-byte Block2 answer inside OSCORE) fits.
const TX_BYTES: usize = trevm_coap::server::MAX_DATAGRAM;

/// The socket's buffers: 6 KiB and 12 metadata entries, in one static (taken once).
struct Buffers {
    rx_meta: [PacketMetadata; RX_DATAGRAMS],
    rx: [u8; RX_BYTES],
    tx_meta: [PacketMetadata; TX_DATAGRAMS],
    tx: [u8; TX_BYTES],
}

static BUFFERS: ConstStaticCell<Buffers> = ConstStaticCell::new(Buffers {
    rx_meta: [PacketMetadata::EMPTY; RX_DATAGRAMS],
    rx: [0; RX_BYTES],
    tx_meta: [PacketMetadata::EMPTY; TX_DATAGRAMS],
    tx: [0; TX_BYTES],
});

/// The device's CoAP socket.
pub(crate) struct Udp {
    socket: UdpSocket<'static>,
}

impl Udp {
    /// A socket bound to `port` on `stack`, with the static buffers (once only).
    pub(crate) fn bind(stack: Stack<'static>, port: u16) -> Result<Self, String> {
        let buffers = BUFFERS
            .try_take()
            .ok_or("the UDP socket's buffers are taken")?;
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
