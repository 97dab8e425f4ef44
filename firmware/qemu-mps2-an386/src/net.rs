//! The CoAP device on a real network (feature `net`): QEMU's LAN9118 Ethernet model through
//! [`trevm_lan9118`], embassy-net (smoltcp) over it, and trevm-coap's server on a UDP socket
//! ([`crate::net_udp::Udp`]), serving the device of [`crate::net_device`]. `serve.sh` runs it for
//! host clients through QEMU's user
//! networking (`-nic user,model=lan9118,hostfwd=udp:127.0.0.1:PORT-:5683`).
//!
//! The interrupt: the LAN9118's line 13 ([`crate::net_vectors`]) calls the driver's handler,
//! which wakes the network task; nothing polls.

use alloc::format;
use alloc::string::{String, ToString};

use embassy_executor::Spawner;
use embassy_net::{Config, Ipv4Address, Ipv4Cidr, Runner, StackResources, StaticConfigV4};
use static_cell::StaticCell;
use trevm_lan9118::{Lan9118, Mmio};

use crate::console::board;

/// The device's IPv4 configuration: QEMU user networking's defaults (the guest is 10.0.2.15 in
/// 10.0.2.0/24, the gateway and host are 10.0.2.2). Static rather than DHCP: the address is
/// known in advance (the host reaches it through `hostfwd` anyway), the start is deterministic
/// (no lease to wait for or lose), and no DHCP client is linked. On a real network, a board
/// would use embassy-net's `dhcpv4` feature instead.
pub(crate) const IPV4: StaticIpv4 = StaticIpv4 {
    address: Ipv4Cidr::new(Ipv4Address::new(10, 0, 2, 15), 24),
    gateway: Ipv4Address::new(10, 0, 2, 2),
};

/// The parts of a static IPv4 configuration the device uses.
pub(crate) struct StaticIpv4 {
    /// The device's address and subnet.
    pub(crate) address: Ipv4Cidr,
    /// Where packets to other subnets go.
    pub(crate) gateway: Ipv4Address,
}

/// The CoAP port the device serves.
pub(crate) const COAP_PORT: u16 = 5683;

/// Sockets embassy-net has room for: the CoAP UDP socket and the Resource Directory
/// registration's (smoltcp needs one slot per socket; no DHCP or DNS socket here).
const SOCKETS: usize = 2;

/// Brings the network up and serves the CoAP device on it; returns only if that fails, with why.
pub(crate) async fn run(spawner: Spawner) -> String {
    match serve(spawner).await {
        Ok(never) => match never {},
        Err(e) => e,
    }
}

async fn serve(spawner: Spawner) -> Result<core::convert::Infallible, String> {
    // SAFETY: QEMU's mps2-an386 maps the LAN9118's 256-byte register window at MPS2_BASE
    // (hw/arm/mps2.c) as device memory; the driver and the interrupt handler are its only users.
    let regs = unsafe { Mmio::new(trevm_lan9118::MPS2_BASE) };
    let driver =
        Lan9118::new(regs, &crate::net_vectors::SHARED, None).map_err(|e| e.to_string())?;
    let mac = driver.mac_address();
    crate::net_vectors::enable_lan9118();

    let config = Config::ipv4_static(StaticConfigV4 {
        address: IPV4.address,
        gateway: Some(IPV4.gateway),
        dns_servers: Default::default(),
    });
    static RESOURCES: StaticCell<StackResources<SOCKETS>> = StaticCell::new();
    // smoltcp's seed (ephemeral ports, TCP sequence numbers): this board has no RNG, and this
    // device only answers on a fixed port, so a fixed seed costs nothing here.
    let seed = 0x7e5e_ed00_0000_0001;
    let (stack, runner) =
        embassy_net::new(driver, config, RESOURCES.init(StackResources::new()), seed);
    spawner
        .spawn(network(runner))
        .map_err(|_| "cannot spawn the network task".to_string())?;
    stack.wait_link_up().await;
    board(&format!(
        "net: LAN9118 up, MAC {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, {} via {}",
        mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], IPV4.address, IPV4.gateway
    ));

    let udp = crate::net_measure::Measured::new(crate::net_udp::Udp::bind(stack, COAP_PORT)?);
    let listening = format!("udp {}:{COAP_PORT}", IPV4.address.address());
    let mut line = [0u8; crate::host_file::MAX_COMMAND_LINE];
    let line = crate::host_file::command_line(&mut line).unwrap_or_default();
    let rd = match crate::net_rd::RdArgs::parse(line)? {
        Some(args) => {
            let socket = crate::net_measure::Measured::rd(crate::net_rd::socket(stack)?);
            Some((socket, args))
        }
        None => None,
    };
    let rd = rd.as_ref().map(|(socket, args)| (socket, args));
    Err(crate::net_device::run(&udp, &listening, rd).await)
}

/// embassy-net's runner: moves frames between the driver and smoltcp, woken by the driver's
/// interrupt and by the sockets.
#[embassy_executor::task]
async fn network(mut runner: Runner<'static, Lan9118<Mmio>>) -> ! {
    runner.run().await
}
