//! The CoAP client of `trevm push`, `trevm call` and `trevm ls`: trevm-coap's sans-I/O client
//! (confirmable requests with retransmission, Block1 uploads with progress, Block2 downloads;
//! with `--credentials`, EDHOC and OSCORE) over a UDP socket, its errors as one clear message
//! ([`crate::oscore_client`] for the security ones).

use std::io::{ErrorKind, Write};
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use trevm_coap::client::{Error, Limits, Notification, Request, RunError, Timing, Transport};

use crate::{credentials, oscore_client};

/// `coap://host[:port]/path`.
#[derive(Debug, Clone)]
pub struct Url {
    /// The host as written (for messages).
    pub authority: String,
    /// Where to send.
    pub addr: SocketAddr,
    /// Uri-Path segments.
    pub path: Vec<String>,
}

impl Url {
    /// Parses and resolves a `coap://` URL.
    pub fn parse(url: &str) -> Result<Url> {
        let trevm_native::uri::CoapUri {
            authority,
            addr,
            path,
        } = trevm_native::uri::CoapUri::resolve(url).map_err(|e| anyhow!(e))?;
        let path = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        Ok(Url {
            authority,
            addr,
            path,
        })
    }

    /// The URL of the resource, `coap://authority/path`, as credentials patterns match it.
    pub fn resource(&self) -> String {
        format!("coap://{}/{}", self.authority, self.path.join("/"))
    }
}

/// The error of a server that does not answer (no answer after the retransmissions, or
/// "connection refused"): a caller that keeps trying (`trevm logs`) tells it from refusals with
/// `downcast_ref`.
#[derive(Debug)]
pub struct Unreachable(pub String);

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unreachable {}

/// A response with its body reassembled.
pub use trevm_coap::client::Reply;

/// A client talking to one server: trevm-coap's sans-I/O client over a UDP socket.
pub struct Client {
    client: trevm_coap::client::Client,
    udp: Udp,
    /// Uri-Query options of the next requests (`name=hello`).
    query: Vec<String>,
}

/// The socket and the clock of [`Client`]: what trevm-coap's client sends and receives.
struct Udp {
    socket: UdpSocket,
    url: Url,
    epoch: Instant,
}

impl Transport for Udp {
    type Error = anyhow::Error;

    fn send(&mut self, datagram: &[u8]) -> Result<()> {
        self.socket.send(datagram).map_err(|e| self.net_error(e))?;
        Ok(())
    }

    fn receive(&mut self, buf: &mut [u8], until_ms: u64) -> Result<Option<usize>> {
        let wait = until_ms.saturating_sub(self.now_ms()).max(1);
        self.socket
            .set_read_timeout(Some(Duration::from_millis(wait)))?;
        match self.socket.recv(buf) {
            Ok(n) => Ok(Some(n)),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Ok(None),
            Err(e) => Err(self.net_error(e)),
        }
    }

    fn now_ms(&mut self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }
}

impl Udp {
    fn net_error(&self, e: std::io::Error) -> anyhow::Error {
        if e.kind() == ErrorKind::ConnectionRefused {
            anyhow::Error::new(Unreachable(format!(
                "no CoAP server at {} ({}): connection refused",
                self.url.authority, self.url.addr
            )))
        } else {
            anyhow!("talking to {}: {e}", self.url.authority)
        }
    }
}

impl Client {
    /// Points the next requests at `path` on the same server (and security context).
    pub fn set_path(&mut self, path: &[&str]) {
        self.udp.url.path = path.iter().map(|s| s.to_string()).collect();
    }

    /// Sends `query` as the Uri-Query options of the next requests (`["name=hello"]`).
    pub fn set_query(&mut self, query: &[String]) {
        self.query = query.to_vec();
    }

    /// A client for `url`'s server.
    pub fn new(url: Url) -> Result<Client> {
        let local = if url.addr.is_ipv6() {
            "[::]:0"
        } else {
            "0.0.0.0:0"
        };
        let socket = UdpSocket::bind(local).context("cannot open a UDP socket")?;
        socket
            .connect(url.addr)
            .with_context(|| format!("cannot reach {}", url.addr))?;
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(1);
        Ok(Client {
            client: trevm_coap::client::Client::new(seed, Timing::default(), Limits::default()),
            udp: Udp {
                socket,
                url,
                epoch: Instant::now(),
            },
            query: Vec::new(),
        })
    }

    /// A client for `url`'s server; with `credentials` (an aiocoap-style `client.diag`), it runs
    /// EDHOC with the server first and protects every request with OSCORE.
    pub fn connect(url: Url, credentials: Option<&Path>) -> Result<Client> {
        let mut client = Client::new(url)?;
        if let Some(path) = credentials {
            let creds = credentials::load(path, &client.udp.url.resource())?;
            let now = client.udp.now_ms();
            let done = match client
                .client
                .connect(&creds.edhoc, oscore_client::seed()?, now)
            {
                Ok(()) => client.client.run(&mut client.udp, |_, _| {}),
                Err(e) => Err(RunError::Client(e)),
            };
            done.map_err(|e| client.explain(e, Some(&creds)))?;
        }
        Ok(client)
    }

    /// The error of a request as one clear message.
    fn explain(
        &self,
        e: RunError<anyhow::Error>,
        creds: Option<&credentials::EdhocCredentials>,
    ) -> anyhow::Error {
        let authority = &self.udp.url.authority;
        match e {
            RunError::Transport(e) => e,
            RunError::Client(Error::NoAnswer { tries }) => {
                anyhow::Error::new(Unreachable(format!(
                    "no answer from {authority} after {tries} tries (is a CoAP server listening there?)"
                )))
            }
            RunError::Client(Error::Reset) => {
                anyhow!("{authority} rejected the request (Reset)")
            }
            RunError::Client(Error::Oscore(e)) => oscore_client::explain(&e, authority, creds),
            RunError::Client(e) => anyhow!("talking to {authority}: {e}"),
        }
    }

    /// A `method` request for the client's resource: its URL's path and the Uri-Query set.
    fn for_resource(&self, method: u8) -> Request {
        Request {
            path: self.udp.url.path.clone(),
            query: self.query.clone(),
            ..Request::new(method, &[])
        }
    }

    /// Sends a request with `payload` (block-wise when larger than `block` bytes, reporting
    /// progress to `progress`) and returns the whole response.
    pub fn request(
        &mut self,
        method: u8,
        payload: Vec<u8>,
        block: usize,
        progress: impl FnMut(usize, usize),
    ) -> Result<Reply> {
        let request = self
            .for_resource(method)
            .with_payload(payload)
            .with_block(block);
        let now = self.udp.now_ms();
        self.client
            .start(request, now)
            .map_err(RunError::Client)
            .and_then(|()| self.client.run(&mut self.udp, progress))
            .map_err(|e| self.explain(e, None))
    }
}

/// What [`Client::listen`] heard.
#[derive(Debug)]
pub enum Heard {
    /// A notification of the observation.
    Notification(Notification),
    /// Nothing for Max-Age (and a margin): the server may have forgotten the observation.
    Lapsed,
}

impl Client {
    /// Registers an observation (RFC 7641) of the resource at the client's path (and query): the
    /// answer, its payload the first representation. [`Client::is_observing`] says whether the
    /// server registered it.
    pub fn observe(&mut self) -> Result<Reply> {
        let request = self.for_resource(trevm_coap::message::code::GET);
        let now = self.udp.now_ms();
        self.client
            .observe(request, now)
            .map_err(RunError::Client)
            .and_then(|()| self.client.run(&mut self.udp, |_, _| {}))
            .map_err(|e| self.explain(e, None))
    }

    /// Whether the server keeps the observation (its last answer had an Observe option and no
    /// final notification came).
    pub fn is_observing(&self) -> bool {
        self.client.is_observing()
    }

    /// Waits for the observation's next notification (acknowledging it) until it lapses.
    pub fn listen(&mut self) -> Result<Heard> {
        let Some(until) = self.client.observation_lapses_at() else {
            return Ok(Heard::Lapsed);
        };
        match self.client.listen(&mut self.udp, until) {
            Ok(Some(n)) => Ok(Heard::Notification(n)),
            Ok(None) => Ok(Heard::Lapsed),
            Err(e) => Err(self.explain(e, None)),
        }
    }
}

/// Progress of an upload on stderr: redrawn in place on a terminal, only the total otherwise.
pub fn print_progress(done: usize, total: usize) {
    use std::io::IsTerminal;
    let mut err = std::io::stderr().lock();
    if err.is_terminal() {
        let _ = write!(
            err,
            "\r  uploaded {done} / {total} bytes ({}%)",
            done * 100 / total.max(1)
        );
        if done == total {
            let _ = writeln!(err);
        }
    } else if done == total {
        let _ = writeln!(err, "  uploaded {total} bytes");
    }
    let _ = err.flush();
}
