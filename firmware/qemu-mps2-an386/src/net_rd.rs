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
                "rd" => rd = Some(endpoint(value).ok_or_else(|| format!("rd={value}: expected IPV4:PORT"))?),
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
    Some(IpEndpoint::new(Ipv4Address::new(a, b, c, d).into(), port.parse().ok()?))
}
