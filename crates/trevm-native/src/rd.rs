//! Registering the native board's CoAP device with a Resource Directory ([`RdConfig`]), on a
//! UDP socket of its own beside the server's: [`trevm_coap::rd::run`] with the device's links
//! from a [`LinksWatch`] that [`trevm_slots::Announced`] keeps current.
//!
//! Logs one line per (re)registration, `rd: registered with <rd> as <ep> at <location>`, and
//! one per failed attempt, `rd: <rd> unreachable (<why>), retrying in <N> s`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};

use trevm_coap::rd::{self, Config, Event, LinksWatch, Registrar};

use crate::reactor::Reactor;

/// Where and as what a device registers (RFC 9176 full registration; see
/// [`trevm_coap::rd`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdConfig {
    /// The RD's address.
    pub addr: SocketAddr,
    /// The RD as the log lines name it (`coap://127.0.0.1:5690`).
    pub uri: String,
    /// The registration resource's path (`/resourcedirectory/`); `None`: discovered with
    /// `GET /.well-known/core?rt=core.rd`.
    pub path: Option<String>,
    /// The endpoint name (`ep`).
    pub endpoint: String,
    /// The device's address as the RD gives it out (`base`, `coap://host:port`).
    pub base: String,
    /// The registration's lifetime in seconds (`lt`; refreshed at 3/4 of it).
    pub lifetime_s: u32,
}

impl RdConfig {
    /// From command-line values: the RD as `coap://HOST[:PORT][/PATH]` (port 5683 by default;
    /// with a path, it is the registration resource and nothing is discovered), the endpoint
    /// name, the address the device listens on, its base (default `coap://<listen>`, refused
    /// when `listen` is unspecified, `0.0.0.0` or `[::]`, which the RD could not give out)
    /// and the lifetime in seconds.
    pub fn parse(
        rd: &str,
        endpoint: &str,
        listen: SocketAddr,
        base: Option<&str>,
        lifetime_s: u32,
    ) -> Result<RdConfig, String> {
        let crate::uri::CoapUri {
            authority,
            addr,
            path,
        } = crate::uri::CoapUri::resolve(rd).map_err(|e| format!("--rd {rd}: {e}"))?;
        let base = match base {
            Some(base) => base.to_string(),
            None if listen.ip().is_unspecified() => {
                return Err(format!(
                    "--rd: the device listens on {listen}, an address the RD cannot give out; \
                     say where clients reach it with --rd-base coap://HOST:PORT"
                ));
            }
            None => format!("coap://{listen}"),
        };
        let config = RdConfig {
            addr,
            uri: format!("coap://{authority}"),
            path: (path.len() > 1).then(|| path.to_string()),
            endpoint: endpoint.to_string(),
            base,
            lifetime_s,
        };
        config.registrar()?;
        Ok(config)
    }

    /// From the environment, for programs whose arguments are taken (the examples):
    /// `TREVM_RD=coap://HOST[:PORT][/PATH]` and `TREVM_EP=NAME`, optionally `TREVM_RD_BASE` and
    /// `TREVM_RD_LIFETIME` (seconds, default 600), as `trevm serve --rd --ep --rd-base
    /// --rd-lifetime` take them; `Ok(None)` without `TREVM_RD`.
    pub fn from_env(listen: SocketAddr) -> Result<Option<RdConfig>, String> {
        let Ok(rd) = std::env::var("TREVM_RD") else {
            return Ok(None);
        };
        let endpoint = std::env::var("TREVM_EP").map_err(|_| "TREVM_RD needs TREVM_EP=NAME")?;
        let base = std::env::var("TREVM_RD_BASE").ok();
        let lifetime_s = match std::env::var("TREVM_RD_LIFETIME") {
            Ok(s) => s
                .parse()
                .map_err(|_| format!("TREVM_RD_LIFETIME={s}: expected seconds"))?,
            Err(_) => 600,
        };
        RdConfig::parse(&rd, &endpoint, listen, base.as_deref(), lifetime_s).map(Some)
    }

    /// The registrar's configuration (seeded from the OS's randomness), checked.
    pub fn registrar(&self) -> Result<Registrar, String> {
        use rand_core::{RngCore, TryRngCore};
        let seed = rand_core::OsRng.unwrap_err().next_u32();
        let mut config = Config::new(&*self.endpoint, self.lifetime_s, &*self.base).with_seed(seed);
        if let Some(path) = &self.path {
            config = config.with_path(path);
        }
        Registrar::new(config, String::new()).map_err(|e| format!("--rd: {e}"))
    }
}

/// A socket for talking to the RD: any port, the RD's address family.
pub(crate) fn bind(rd: &RdConfig) -> Result<UdpSocket, String> {
    let any = match rd.addr {
        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    UdpSocket::bind(SocketAddr::new(any, 0))
        .map_err(|e| format!("cannot open a socket for the RD {}: {e}", rd.uri))
}

/// Registers with `rd` over `socket` until the socket fails, logging to `board`'s log; the
/// links come from `links`.
pub(crate) async fn register(
    board: &crate::NativeBoard,
    rd: &RdConfig,
    mut registrar: Registrar,
    socket: UdpSocket,
    links: &LinksWatch,
) -> std::io::Error {
    let socket = match Reactor::new(socket) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let now = || embassy_time::Instant::now().as_millis();
    let sleep_until = |ms| embassy_time::Timer::at(embassy_time::Instant::from_millis(ms));
    let report = |event: &Event| {
        board.log().board(&match event {
            Event::Registered { location } => format!(
                "rd: registered with {} as {} at {location}",
                rd.uri, rd.endpoint
            ),
            Event::Failed {
                reason,
                retry_in_ms,
            } => format!(
                "rd: {} unreachable ({reason}), retrying in {} s",
                rd.uri,
                retry_in_ms.div_ceil(1000)
            ),
        })
    };
    rd::run(
        &socket,
        &rd.addr,
        &mut registrar,
        links,
        now,
        sleep_until,
        report,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::RdConfig;

    fn parse(rd: &str, listen: &str, base: Option<&str>) -> Result<RdConfig, String> {
        RdConfig::parse(rd, "dev1", listen.parse().unwrap(), base, 600)
    }

    #[test]
    fn the_rd_uri_gives_address_path_and_the_listen_address_the_base() {
        let c = parse("coap://127.0.0.1:5690", "127.0.0.1:5683", None).unwrap();
        assert_eq!(c.addr, "127.0.0.1:5690".parse().unwrap());
        assert_eq!((c.uri.as_str(), c.path), ("coap://127.0.0.1:5690", None));
        assert_eq!(c.base, "coap://127.0.0.1:5683");
        let c = parse("coap://[::1]/resourcedirectory/", "[::1]:5700", None).unwrap();
        assert_eq!(c.addr, "[::1]:5683".parse().unwrap());
        assert_eq!(c.path.as_deref(), Some("/resourcedirectory/"));
        assert_eq!(c.base, "coap://[::1]:5700");
        let c = parse("coap://127.0.0.1/", "127.0.0.1:5683", None).unwrap();
        assert_eq!(c.path, None, "`/` is no path: discover");
    }

    #[test]
    fn an_unspecified_listen_address_needs_a_base_and_bad_values_are_refused() {
        for listen in ["0.0.0.0:5683", "[::]:5683"] {
            let e = parse("coap://127.0.0.1:5690", listen, None).unwrap_err();
            assert!(e.contains("--rd-base"), "{e}");
            let c = parse("coap://127.0.0.1:5690", listen, Some("coap://192.0.2.7")).unwrap();
            assert_eq!(c.base, "coap://192.0.2.7");
        }
        for rd in [
            "http://127.0.0.1",
            "coap://",
            "coap:///rd",
            "coap://no.such.host.invalid",
        ] {
            assert!(parse(rd, "127.0.0.1:5683", None).is_err(), "{rd}");
        }
        let e = RdConfig::parse(
            "coap://127.0.0.1:5690",
            "a b",
            "127.0.0.1:5683".parse().unwrap(),
            None,
            600,
        )
        .unwrap_err();
        assert!(e.contains("endpoint name"), "{e}");
        let e = RdConfig::parse(
            "coap://127.0.0.1:5690",
            "dev1",
            "127.0.0.1:5683".parse().unwrap(),
            None,
            0,
        )
        .unwrap_err();
        assert!(e.contains("lifetime"), "{e}");
    }
}
