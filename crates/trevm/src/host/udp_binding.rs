//! `udp-api` for [`HostState`]: the guest's calls on the [`UdpStack`](super::udp::UdpStack) seam
//! (see [`super::udp`]).

use alloc::vec;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use core::task::Poll;

use wasmtime::component::Resource;

use super::HostState;
use super::bindings::ariel::wasm_bindings::udp_api;
use super::udp::TRY_RECV_GRACE;
use udp_api::{Endpoint, IpAddr as WitIp, Ipv4Addr as WitV4, Ipv6Addr as WitV6, UdpMetadata};

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
