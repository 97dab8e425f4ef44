//! A small CoAP client for `trevm push`, `trevm call` and `trevm ls`: confirmable requests with
//! retransmission (RFC 7252 §4.2), Block1 uploads with progress, Block2 downloads; with
//! `--credentials`, every request is protected by OSCORE after an EDHOC handshake
//! ([`crate::oscore_client`]).

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use trevm_coap::message::{code, opt};
use trevm_coap::{BlockOpt, Message, MsgType};

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
        let rest = url
            .strip_prefix("coap://")
            .ok_or_else(|| anyhow!("`{url}` is not a coap:// URL (coaps is not supported)"))?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        if authority.is_empty() {
            bail!("`{url}` has no host");
        }
        let with_port = if authority.ends_with(']') || !authority.contains(':') {
            format!("{authority}:5683")
        } else {
            authority.to_string()
        };
        let addr = with_port
            .to_socket_addrs()
            .with_context(|| format!("cannot resolve `{authority}`"))?
            .next()
            .ok_or_else(|| anyhow!("`{authority}` resolves to no address"))?;
        let path = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        Ok(Url {
            authority: authority.to_string(),
            addr,
            path,
        })
    }

    /// The URL of the resource, `coap://authority/path`, as credentials patterns match it.
    pub fn resource(&self) -> String {
        format!("coap://{}/{}", self.authority, self.path.join("/"))
    }
}

/// A response with its body reassembled.
#[derive(Debug)]
pub struct Reply {
    /// Response code.
    pub code: u8,
    /// Whole body.
    pub payload: Vec<u8>,
}

impl Reply {
    /// Whether the code is 2.xx.
    pub fn is_success(&self) -> bool {
        self.code >> 5 == 2
    }

    /// `2.05 Content` and the like, with the diagnostic payload for errors.
    pub fn describe(&self) -> String {
        let name = code::name(self.code);
        let mut s = code::dotted(self.code);
        if !name.is_empty() {
            s.push(' ');
            s.push_str(name);
        }
        if !self.is_success() && !self.payload.is_empty() {
            s.push_str(": ");
            s.push_str(&String::from_utf8_lossy(&self.payload));
        }
        s
    }
}

/// A client talking to one server.
pub struct Client {
    socket: UdpSocket,
    url: Url,
    mid: u16,
    token: u64,
    /// With `--credentials`: the OSCORE context every request goes through.
    oscore: Option<oscore_client::Session>,
}

const ACK_TIMEOUT: Duration = Duration::from_secs(2);
const MAX_RETRANSMIT: u32 = 4;
/// The largest block of a plain upload (the largest RFC 7959 has).
const MAX_BLOCK: usize = 1024;
/// The largest block inside OSCORE: coapcore copies each incoming protected request into a
/// 1152-byte buffer, so a 1024-byte block plus its options and OSCORE's overhead does not fit;
/// `--block` is capped to this with `--credentials`.
const MAX_OSCORE_BLOCK: usize = 512;

impl Client {
    /// Points the next requests at `path` on the same server (and security context).
    pub fn set_path(&mut self, path: &[&str]) {
        self.url.path = path.iter().map(|s| s.to_string()).collect();
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
            socket,
            url,
            mid: seed as u16,
            token: u64::from(seed),
            oscore: None,
        })
    }

    /// A client for `url`'s server; with `credentials` (an aiocoap-style `client.diag`), it runs
    /// EDHOC with the server first and protects every request with OSCORE.
    pub fn connect(url: Url, credentials: Option<&Path>) -> Result<Client> {
        let mut client = Client::new(url)?;
        if let Some(path) = credentials {
            let creds = credentials::load(path, &client.url.resource())?;
            let authority = client.url.authority.clone();
            let session = oscore_client::handshake(&creds, &authority, |m| client.transmit(m))?;
            client.oscore = Some(session);
        }
        Ok(client)
    }

    /// Sends one request (through OSCORE if the client has a context) and returns its response.
    fn exchange(&mut self, request: Message) -> Result<Message> {
        let Some(mut session) = self.oscore.take() else {
            return self.transmit(request);
        };
        let result = (|| {
            let (outer, mut correlation) = session.protect(&request)?;
            let reply = self.transmit(outer)?;
            session.unprotect(reply, &mut correlation)
        })();
        self.oscore = Some(session);
        result
    }

    /// Sends one confirmable request and waits for its response, retransmitting as RFC 7252 says.
    fn transmit(&mut self, mut request: Message) -> Result<Message> {
        self.mid = self.mid.wrapping_add(1);
        self.token = self.token.wrapping_add(1);
        request.ty = MsgType::Con;
        request.mid = self.mid;
        request.token = self.token.to_be_bytes()[4..].to_vec();
        let bytes = request.encode();
        let mut timeout = ACK_TIMEOUT;
        let mut buf = vec![0u8; 2048];
        for _ in 0..=MAX_RETRANSMIT {
            self.socket.send(&bytes).map_err(|e| self.net_error(e))?;
            self.socket.set_read_timeout(Some(timeout))?;
            loop {
                match self.socket.recv(&mut buf) {
                    Ok(n) => {
                        let Ok(reply) = Message::parse(&buf[..n]) else {
                            continue;
                        };
                        if reply.ty == MsgType::Rst && reply.mid == self.mid {
                            bail!("{} rejected the request (Reset)", self.url.authority);
                        }
                        // A piggybacked ACK, or a separate response after an empty ACK.
                        if reply.token == request.token && reply.code != code::EMPTY {
                            if reply.ty == MsgType::Con {
                                let ack = Message {
                                    ty: MsgType::Ack,
                                    mid: reply.mid,
                                    ..Default::default()
                                };
                                let _ = self.socket.send(&ack.encode());
                            }
                            return Ok(reply);
                        }
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                    {
                        break;
                    }
                    Err(e) => return Err(self.net_error(e)),
                }
            }
            timeout *= 2;
        }
        bail!(
            "no answer from {} after {} tries (is a CoAP server listening there?)",
            self.url.authority,
            MAX_RETRANSMIT + 1
        )
    }

    fn net_error(&self, e: std::io::Error) -> anyhow::Error {
        if e.kind() == std::io::ErrorKind::ConnectionRefused {
            anyhow!(
                "no CoAP server at {} ({}): connection refused",
                self.url.authority,
                self.url.addr
            )
        } else {
            anyhow!("talking to {}: {e}", self.url.authority)
        }
    }

    fn base(&self, method: u8) -> Message {
        Message {
            code: method,
            options: self
                .url
                .path
                .iter()
                .map(|s| (opt::URI_PATH, s.as_bytes().to_vec()))
                .collect(),
            ..Default::default()
        }
    }

    /// Sends a request with `payload` (block-wise when larger than `block` bytes, reporting
    /// progress to `progress`) and returns the whole response.
    pub fn request(
        &mut self,
        method: u8,
        payload: &[u8],
        block: usize,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Reply> {
        let max = if self.oscore.is_some() {
            MAX_OSCORE_BLOCK
        } else {
            MAX_BLOCK
        };
        let mut szx = BlockOpt::szx_for(block.clamp(16, max));
        let mut reply;
        if payload.len() <= 16 << szx {
            let mut m = self.base(method);
            m.payload = payload.to_vec();
            reply = self.exchange(m)?;
        } else {
            let mut offset = 0;
            loop {
                let size = 16usize << szx;
                let end = (offset + size).min(payload.len());
                let more = end < payload.len();
                let mut m = self.base(method);
                let num = (offset / size) as u32;
                m.add_uint_option(opt::BLOCK1, BlockOpt { num, more, szx }.to_uint());
                if offset == 0 {
                    m.add_uint_option(opt::SIZE1, payload.len() as u32);
                }
                m.payload = payload[offset..end].to_vec();
                reply = self.exchange(m)?;
                progress(end, payload.len());
                if !more || reply.code != code::CONTINUE {
                    break;
                }
                // The server may ask for smaller blocks.
                if let Some(b) = reply.uint_option(opt::BLOCK1).and_then(BlockOpt::from_uint) {
                    szx = szx.min(b.szx);
                }
                offset = end;
            }
        }
        let mut body = reply.payload.clone();
        // Block2: fetch the rest of a long response.
        while let Some(b2) = reply.uint_option(opt::BLOCK2).and_then(BlockOpt::from_uint) {
            if !b2.more || method != code::GET {
                break;
            }
            let mut m = self.base(method);
            let next = BlockOpt {
                num: b2.num + 1,
                more: false,
                szx: b2.szx,
            };
            m.add_uint_option(opt::BLOCK2, next.to_uint());
            reply = self.exchange(m)?;
            body.extend_from_slice(&reply.payload);
        }
        Ok(Reply {
            code: reply.code,
            payload: body,
        })
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
