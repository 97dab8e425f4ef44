//! Wasmtime glue of `udp-api`: the generated `Host` calls the provider-neutral logic
//! (`super::super::udp_binding`), converting addresses to and from the generated types.

use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use wasmtime::component::Resource;

use super::super::HostState;
use super::bindings::ariel::wasm_bindings::udp_api;
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
        self.udp_bind(port)
    }

    async fn send(&mut self, data: Vec<u8>, endpoint: UdpMetadata) -> Result<(), ()> {
        let to = SocketAddr::new(from_wit(&endpoint.endpoint.addr), endpoint.endpoint.port);
        self.udp_send(&data, to).await
    }

    async fn try_recv(&mut self) -> Result<Option<(Vec<u8>, UdpMetadata)>, ()> {
        Ok(self.udp_try_recv().await?.map(|(data, meta)| {
            let metadata = UdpMetadata {
                endpoint: Endpoint {
                    addr: to_wit(meta.from.ip()),
                    port: meta.from.port(),
                },
                local_addr: meta.local.map(to_wit),
            };
            (data, metadata)
        }))
    }

    fn drop(&mut self, _rep: Resource<udp_api::UdpSocket>) -> wasmtime::Result<()> {
        // `udp-socket` has only static functions: no instance is ever created, nothing to free.
        Ok(())
    }
}
