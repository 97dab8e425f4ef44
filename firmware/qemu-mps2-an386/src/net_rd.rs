//! Registration with a CoAP Resource Directory (RFC 9176) for the network firmware: when QEMU's
//! semihosting command line names one (`serve.sh --rd PORT --ep NAME`: words `rd=IP:PORT
//! ep=NAME base=URI lt=SECONDS`), the device registers there from a second UDP socket with the
//! links of the capsules it runs, refreshes, and registers again when the RD forgets it —
//! trevm-coap's registrar ([`trevm_coap::rd`]), the same the native board runs.

use alloc::format;
use alloc::string::{String, ToString};

use embassy_net::{IpEndpoint, Ipv4Address};

/// The local UDP port the registration is sent from: not the server's (the registration names
/// the device's address in `base`).
pub(crate) const RD_LOCAL_PORT: u16 = 5684;

/// What the command line says about the RD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RdArgs {
    /// The RD's address, as the board reaches it.
    pub(crate) rd: IpEndpoint,
    /// The endpoint name to register.
    pub(crate) ep: String,
    /// The device's URI as clients reach it (`coap://127.0.0.1:PORT` through QEMU's hostfwd).
    pub(crate) base: String,
    /// Registration lifetime in seconds.
    pub(crate) lifetime: u32,
}

impl RdArgs {
    /// The RD options in `line`; `Ok(None)` without `rd=`; an error naming the word otherwise.
    pub(crate) fn parse(line: &str) -> Result<Option<RdArgs>, String> {
        let (mut rd, mut ep, mut base, mut lifetime) = (None, None, None, 600);
        for word in line.split_whitespace() {
            let Some((key, value)) = word.split_once('=') else {
                continue;
            };
            match key {
                "rd" => {
                    rd = Some(
                        endpoint(value).ok_or_else(|| format!("rd={value}: expected IPV4:PORT"))?,
                    )
                }
                "ep" => ep = Some(value.to_string()),
                "base" => base = Some(value.to_string()),
                "lt" => {
                    lifetime = value
                        .parse()
                        .ok()
                        .filter(|&s| s > 0)
                        .ok_or_else(|| format!("lt={value}: expected seconds"))?
                }
                _ => {}
            }
        }
        let Some(rd) = rd else { return Ok(None) };
        Ok(Some(RdArgs {
            rd,
            ep: ep.ok_or("rd= needs ep=NAME")?,
            base: base.ok_or("rd= needs base=coap://HOST:PORT")?,
            lifetime,
        }))
    }
}

/// `a.b.c.d:port`.
fn endpoint(text: &str) -> Option<IpEndpoint> {
    let (ip, port) = text.rsplit_once(':')?;
    let mut octets = [0u8; 4];
    let mut parts = ip.split('.');
    for o in &mut octets {
        *o = parts.next()?.parse().ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    let [a, b, c, d] = octets;
    Some(IpEndpoint::new(
        Ipv4Address::new(a, b, c, d).into(),
        port.parse().ok()?,
    ))
}

/// The registration socket's buffers, 2.3 KiB: the registrar has one request in flight, so two
/// datagrams each way suffice; the largest answer it takes is
/// [`MAX_RD_DATAGRAM`](trevm_coap::rd::driver::MAX_RD_DATAGRAM) bytes (a discovery answer), and
/// the largest request it sends is one 1024-byte Block1 block of links with its header.
type RdBuffers = crate::net_udp::Buffers<2, { trevm_coap::rd::driver::MAX_RD_DATAGRAM }, 2, 1152>;

static RD_BUFFERS: static_cell::ConstStaticCell<RdBuffers> =
    static_cell::ConstStaticCell::new(crate::net_udp::Buffers::new());

/// The registration socket on `stack` (once only).
pub(crate) fn socket(stack: embassy_net::Stack<'static>) -> Result<crate::net_udp::Udp, String> {
    let buffers = RD_BUFFERS
        .try_take()
        .ok_or("the RD socket's buffers are taken")?;
    crate::net_udp::Udp::bind_with(stack, RD_LOCAL_PORT, buffers)
}

/// Registers the device with the RD `args` name over `socket` with the links in `links`, for
/// ever (or until the socket fails: then why), logging each registration and failed attempt.
pub(crate) async fn register<T>(
    socket: &T,
    args: &RdArgs,
    links: &trevm_coap::rd::LinksWatch,
) -> String
where
    T: trevm_coap::server::Transport<Peer = IpEndpoint>,
    T::Error: core::fmt::Debug,
{
    use trevm_coap::rd::{Config, Event, Registrar};
    // Jitter and message IDs only: the cycle counter differs from boot to boot under QEMU's
    // user network timing, and nothing secret depends on it.
    let seed = crate::time_driver::cycles() as u32 ^ 0x5eed_0001;
    let config = Config::new(args.ep.clone(), args.lifetime, args.base.clone()).with_seed(seed);
    let mut registrar = match Registrar::new(config, String::new()) {
        Ok(r) => r,
        Err(e) => return format!("the RD configuration: {e}"),
    };
    let rd = args.rd;
    let ep = args.ep.as_str();
    let now = || embassy_time::Instant::now().as_millis();
    let sleep = |ms: u64| embassy_time::Timer::at(embassy_time::Instant::from_millis(ms));
    let error = trevm_coap::rd::run(socket, &rd, &mut registrar, links, now, sleep, |event| {
        crate::console::board(&match event {
            Event::Registered { location } => {
                format!("rd: registered with {rd} as {ep} at {location}")
            }
            Event::Failed {
                reason,
                retry_in_ms,
            } => format!(
                "rd: {rd} unreachable ({reason}), retrying in {} s",
                retry_in_ms.div_ceil(1000)
            ),
        })
    })
    .await;
    format!("the RD socket failed: {error:?}")
}
