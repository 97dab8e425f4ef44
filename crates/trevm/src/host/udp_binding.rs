//! `udp-api` for [`HostState`]: the guest's calls on the [`UdpStack`](super::udp::UdpStack) seam
//! (see [`super::udp`]), whichever VM runs the capsule.

use alloc::vec;
use alloc::vec::Vec;
use core::net::SocketAddr;
use core::task::Poll;

use super::HostState;
use super::udp::{RecvMeta, TRY_RECV_GRACE};

impl HostState {
    /// `udp-socket.bind`: `Err` if the capsule's socket is bound already, there is no stack, or
    /// the stack refuses.
    pub(crate) fn udp_bind(&mut self, port: u16) -> Result<(), ()> {
        let udp = &mut self.udp;
        if udp.socket.is_some() {
            return Err(());
        }
        let stack = udp.stack.as_ref().ok_or(())?;
        udp.socket = Some(stack.bind(port).map_err(drop)?);
        Ok(())
    }

    /// Whether `udp-socket.send` of `len` bytes can be attempted: `Err` (the call's error value)
    /// before `bind` or for a datagram over the socket's [`max_datagram`](super::UdpSocket::max_datagram).
    pub(crate) fn udp_send_check(&self, len: usize) -> Result<(), ()> {
        let socket = self.udp.socket.as_ref().ok_or(())?;
        if len > socket.max_datagram() {
            return Err(());
        }
        Ok(())
    }

    /// `udp-socket.send`: sends `data` to `to`, waiting without blocking the executor while the
    /// stack's buffers are full.
    pub(crate) async fn udp_send(&mut self, data: &[u8], to: SocketAddr) -> Result<(), ()> {
        self.udp_send_check(data.len())?;
        let socket = self.udp.socket.as_mut().ok_or(())?;
        core::future::poll_fn(|cx| socket.poll_send_to(data, to, cx))
            .await
            .map_err(drop)
    }

    /// `udp-socket.try-recv`: a waiting datagram (at most the socket's `max_datagram` bytes),
    /// or `None` when none arrives within [`TRY_RECV_GRACE`]; `Err` before `bind` or if the
    /// stack fails.
    pub(crate) async fn udp_try_recv(&mut self) -> Result<Option<(Vec<u8>, RecvMeta)>, ()> {
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
                Ok(Some((buf, meta)))
            }
            Some(Err(_)) => Err(()),
            None => Ok(None),
        }
    }
}
