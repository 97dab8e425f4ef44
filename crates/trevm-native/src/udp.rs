//! UDP for capsules on the native board: real `std::net` sockets, non-blocking, woken by the OS
//! when a datagram arrives (`async-io`'s reactor: epoll/kqueue), as embassy-net wakes on a device.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::task::{Context, Poll};

use trevm::host::udp::{RecvMeta, UdpError, UdpSocket, UdpStack};

/// The largest datagram a capsule sends or receives: a 1500-byte Ethernet frame minus the IPv4 and
/// UDP headers.
pub const MAX_DATAGRAM: usize = 1472;

/// The native board's network stack: binds capsule sockets on `[::]`, dual-stack, so IPv4 and
/// IPv6 peers both reach them (falling back to `0.0.0.0` where IPv6 is unavailable).
#[derive(Debug, Clone)]
pub struct NativeUdp {
    addr: IpAddr,
}

impl Default for NativeUdp {
    fn default() -> Self {
        NativeUdp {
            addr: IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        }
    }
}

impl NativeUdp {
    /// Binds capsule sockets on `addr` instead (e.g. `127.0.0.1` to stay on loopback).
    pub fn on(addr: IpAddr) -> Self {
        NativeUdp { addr }
    }
}

fn map_err(e: std::io::Error) -> UdpError {
    use std::io::ErrorKind::*;
    match e.kind() {
        AddrInUse => UdpError::AddrInUse,
        AddrNotAvailable | NetworkUnreachable | HostUnreachable | ConnectionRefused
        | InvalidInput => UdpError::Unreachable,
        _ if e.raw_os_error() == Some(90) => UdpError::TooLarge, // EMSGSIZE
        _ => UdpError::Other,
    }
}

impl UdpStack for NativeUdp {
    fn bind(&self, port: u16) -> Result<Box<dyn UdpSocket>, UdpError> {
        let socket = match std::net::UdpSocket::bind(SocketAddr::new(self.addr, port)) {
            // No IPv6 on this machine: serve IPv4 only.
            Err(e) if self.addr.is_ipv6() && e.kind() != std::io::ErrorKind::AddrInUse => {
                std::net::UdpSocket::bind(SocketAddr::new(IpAddr::from([0, 0, 0, 0]), port))
            }
            other => other,
        }
        .map_err(map_err)?;
        let v6 = socket.local_addr().map(|a| a.is_ipv6()).unwrap_or(false);
        // Non-blocking, and registered with the reactor for readiness.
        let socket = async_io::Async::new(socket).map_err(map_err)?;
        Ok(Box::new(NativeSocket { socket, v6 }))
    }
}

struct NativeSocket {
    socket: async_io::Async<std::net::UdpSocket>,
    v6: bool,
}

/// IPv4 peers of a dual-stack socket appear as `::ffff:a.b.c.d`: show them as IPv4.
fn unmap(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), v6.port()),
            None => addr,
        },
        v4 => v4,
    }
}

impl UdpSocket for NativeSocket {
    fn poll_send_to(
        &mut self,
        data: &[u8],
        to: SocketAddr,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), UdpError>> {
        let to = match to {
            // A dual-stack socket reaches IPv4 peers through mapped addresses.
            SocketAddr::V4(v4) if self.v6 => {
                SocketAddr::new(IpAddr::V6(v4.ip().to_ipv6_mapped()), v4.port())
            }
            other => other,
        };
        loop {
            match self.socket.get_ref().send_to(data, to) {
                Ok(_) => return Poll::Ready(Ok(())),
                // Send buffer full: the reactor wakes us when there is room.
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    match self.socket.poll_writable(cx) {
                        Poll::Ready(Ok(())) => continue,
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(map_err(e))),
                        Poll::Pending => return Poll::Pending,
                    }
                }
                Err(e) => return Poll::Ready(Err(map_err(e))),
            }
        }
    }

    fn poll_recv_from(
        &mut self,
        buf: &mut [u8],
        cx: &mut Context<'_>,
    ) -> Poll<Result<(usize, RecvMeta), UdpError>> {
        loop {
            match self.socket.get_ref().recv_from(buf) {
                Ok((len, from)) => {
                    let meta = RecvMeta {
                        from: unmap(from),
                        local: None,
                    };
                    return Poll::Ready(Ok((len, meta)));
                }
                // Nothing waiting: the reactor wakes us when a datagram arrives. (Readable
                // already means the readiness was stale: read again.)
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    match self.socket.poll_readable(cx) {
                        Poll::Ready(Ok(())) => continue,
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(map_err(e))),
                        Poll::Pending => return Poll::Pending,
                    }
                }
                Err(e) => return Poll::Ready(Err(map_err(e))),
            }
        }
    }

    fn max_datagram(&self) -> usize {
        MAX_DATAGRAM
    }
}
