//! The CoAP server's message layer, independent of the network: one datagram in, at most one
//! datagram out. What the resources do is up to a [`Resources`] implementation.
//!
//! Where each concern lives (the files under `src/server/`):
//! - `mod.rs`, this module: one exchange from end to end. [`Server::handle`] parses the
//!   datagram, answers CoAP pings and garbage with a Reset (or silence), answers duplicates from
//!   [`crate::dedup`] without handling them twice, and wraps the response in a piggybacked ACK
//!   for a confirmable request or a NON for a non-confirmable one. In between, `respond` checks
//!   the options (an unknown critical one gets 4.02), passes the body through Block1, asks the
//!   resources (or serves `/.well-known/core`, RFC 6690) and passes the response through Block2.
//! - `resource.rs`: what the application sees: [`Request`], [`Response`], the [`Resources`]
//!   trait and the Content-Formats used ([`TEXT_PLAIN`], [`LINK_FORMAT`], [`OCTET_STREAM`]).
//! - `block1.rs`: reassembling uploads (RFC 7959: 2.31 Continue, 4.08 on a gap, 4.13 with Size1
//!   over the limit).
//! - `block2.rs`: serving long responses block by block, and the cache that answers the later
//!   blocks without asking the resources again.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::block::BlockOpt;
use crate::dedup::Dedup;
use crate::message::{Message, MsgType, code, opt};

mod block1;
mod block2;
mod resource;

pub use resource::{LINK_FORMAT, OCTET_STREAM, Request, Resources, Response, TEXT_PLAIN};

/// Options this server understands; any other critical option gets 4.02.
const KNOWN: &[u16] = &[
    opt::OBSERVE,
    opt::URI_PATH,
    opt::CONTENT_FORMAT,
    opt::URI_QUERY,
    opt::ACCEPT,
    opt::BLOCK2,
    opt::BLOCK1,
    opt::SIZE2,
    opt::SIZE1,
    3,  // Uri-Host
    7,  // Uri-Port
    35, // Proxy-Uri: refused by resources anyway
];

/// Limits of the message layer.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// Largest request body accepted through Block1 (bigger: 4.13 with this as Size1).
    pub max_body: usize,
    /// Largest block this server sends or asks for (a power of two, 16–1024).
    pub max_block: usize,
    /// Responses remembered for duplicate detection.
    pub dedup_entries: usize,
    /// Block1 uploads in progress at once (the oldest is dropped beyond that).
    pub uploads: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_body: 256 * 1024,
            max_block: 1024,
            dedup_entries: 64,
            uploads: 4,
        }
    }
}

/// The message layer around a set of [`Resources`], for peers identified by `P` (a socket
/// address on the native board).
#[derive(Debug)]
pub struct Server<P, R> {
    /// The resources served.
    pub resources: R,
    limits: ServerLimits,
    dedup: Dedup<P>,
    uploads: block1::Uploads<P>,
    served: block2::ResponseCache<P>,
    next_mid: u16,
    #[cfg(feature = "oscore")]
    security: Option<crate::secure::Security>,
}

impl<P: PartialEq + Clone, R: Resources> Server<P, R> {
    /// A server for `resources` **without security**: anyone who can send it a datagram may do
    /// anything. For tests, or behind a security layer of its own; a device uses
    /// [`Server::with_security`].
    pub fn new(resources: R, limits: ServerLimits) -> Self {
        Server {
            resources,
            limits,
            dedup: Dedup::new(limits.dedup_entries),
            uploads: block1::Uploads::new(limits.uploads, limits.max_body),
            served: block2::ResponseCache::new(),
            next_mid: 0x7a00,
            #[cfg(feature = "oscore")]
            security: None,
        }
    }

    /// Puts `security` (EDHOC, OSCORE, the access policy) in front of the resources: every
    /// request passes it first, and only what the policy allows reaches them.
    #[cfg(feature = "oscore")]
    pub fn with_security(mut self, security: crate::secure::Security) -> Self {
        self.security = Some(security);
        self
    }

    /// Handles one datagram from `peer` at time `now_ms`; returns the datagram to send back.
    pub async fn handle(&mut self, peer: &P, datagram: &[u8], now_ms: u64) -> Option<Vec<u8>> {
        let request = match Message::parse(datagram) {
            Ok(m) => m,
            Err(_) => return reset_for_garbage(datagram),
        };
        match (request.ty, request.code) {
            // A ping: an empty confirmable message gets a Reset.
            (MsgType::Con, code::EMPTY) => return Some(reset(request.mid)),
            // ACKs and Resets for our (non-existent) requests, empty NONs: nothing to do.
            (MsgType::Ack | MsgType::Rst, _) | (_, code::EMPTY) => return None,
            (_, c) if !code::is_request(c) => return None,
            _ => {}
        }
        if let Some(cached) = self.dedup.lookup(peer, request.mid, now_ms) {
            return Some(cached.to_vec());
        }
        #[cfg(feature = "oscore")]
        let response = match self.security.as_mut() {
            Some(security) => {
                // Options and payload as they came, for coapcore to read (and decrypt).
                let tail = datagram.get(4 + request.token.len()..).unwrap_or_default();
                let (pending, inner) = security.begin(request.code, tail);
                let inner_response = match inner {
                    Some(inner) => Some(self.respond(peer, &inner).await),
                    None => None,
                };
                match self.security.as_mut() {
                    Some(security) => security.finish(pending, inner_response),
                    None => text_msg(code::INTERNAL_SERVER_ERROR, "security layer vanished"),
                }
            }
            None => self.respond(peer, &request).await,
        };
        #[cfg(not(feature = "oscore"))]
        let response = self.respond(peer, &request).await;
        let reply = self.encode_reply(&request, response);
        self.dedup
            .remember(peer, request.mid, now_ms, reply.clone());
        Some(reply)
    }

    /// A response message (before the ACK/NON wrapping).
    async fn respond(&mut self, peer: &P, request: &Message) -> Message {
        if let Some(number) = request.unknown_critical(KNOWN) {
            let mut out = Message {
                code: code::BAD_OPTION,
                ..Default::default()
            };
            out.payload = alloc::format!("unsupported critical option {number}").into_bytes();
            return out;
        }
        let Some(path) = request.path() else {
            return text_msg(code::BAD_REQUEST, "Uri-Path is not UTF-8");
        };
        let path: Vec<String> = path.into_iter().map(str::to_string).collect();
        let block1 = match request.uint_option(opt::BLOCK1).map(BlockOpt::from_uint) {
            Some(None) => return text_msg(code::BAD_OPTION, "invalid Block1 option"),
            Some(Some(b)) => Some(b),
            None => None,
        };
        let block2 = match request.uint_option(opt::BLOCK2).map(BlockOpt::from_uint) {
            Some(None) => return text_msg(code::BAD_OPTION, "invalid Block2 option"),
            Some(Some(b)) => Some(b),
            None => None,
        };

        // Block1: collect the body.
        let body_owned;
        let body: &[u8] = match block1 {
            Some(b1) => match self.uploads.add(peer, request, &path, b1) {
                Err(response) => return response,
                Ok(None) => return block1::continue_reply(b1, self.limits.max_block),
                Ok(Some(whole)) => {
                    body_owned = whole;
                    &body_owned
                }
            },
            None => {
                if request.payload.len() > self.limits.max_body {
                    return block1::too_large(self.limits.max_body);
                }
                &request.payload
            }
        };

        // Block2 beyond the first block of a body we served: answer from the kept body.
        let kept = match block2 {
            Some(b2) if b2.num > 0 && request.code == code::GET => self.served.find(peer, &path),
            _ => None,
        };
        let response = match kept {
            Some(r) => r,
            None => {
                let response = self.dispatch(request, &path, body).await;
                if request.code == code::GET {
                    self.served
                        .keep_if_blockwise(peer, &path, &response, self.limits.max_block);
                }
                response
            }
        };

        let mut out = match block2::slice(response, block2, self.limits.max_block) {
            Ok(out) => out,
            Err(refusal) => return refusal,
        };
        if let Some(b1) = block1 {
            // The final block of an upload: acknowledge it.
            let ack = block1::ack(b1, false, self.limits.max_block);
            out.add_uint_option(opt::BLOCK1, ack.to_uint());
        }
        out
    }

    /// The response of the resources (or of `/.well-known/core`) to a request with its whole
    /// body.
    async fn dispatch(&mut self, request: &Message, path: &[String], body: &[u8]) -> Response {
        let segments: Vec<&str> = path.iter().map(String::as_str).collect();
        if segments == [".well-known", "core"] {
            return if request.code == code::GET {
                Response {
                    code: code::CONTENT,
                    payload: self.resources.links().join(",").into_bytes(),
                    content_format: Some(LINK_FORMAT),
                }
            } else {
                Response::text(code::METHOD_NOT_ALLOWED, "only GET")
            };
        }
        self.resources
            .handle(Request {
                code: request.code,
                path: segments,
                payload: body,
                content_format: request.uint_option(opt::CONTENT_FORMAT),
            })
            .await
    }

    /// Wraps a response for the request: piggybacked ACK for CON, NON for NON.
    fn encode_reply(&mut self, request: &Message, mut response: Message) -> Vec<u8> {
        response.token = request.token.clone();
        if request.ty == MsgType::Con {
            response.ty = MsgType::Ack;
            response.mid = request.mid;
        } else {
            response.ty = MsgType::Non;
            self.next_mid = self.next_mid.wrapping_add(1);
            response.mid = self.next_mid;
        }
        response.encode()
    }
}

/// A message with a code and a text diagnostic (RFC 7252 §5.5.2).
fn text_msg(c: u8, text: impl Into<String>) -> Message {
    let mut m = Message {
        code: c,
        payload: text.into().into_bytes(),
        ..Default::default()
    };
    m.add_uint_option(opt::CONTENT_FORMAT, TEXT_PLAIN);
    m
}

fn reset(mid: u16) -> Vec<u8> {
    Message {
        ty: MsgType::Rst,
        code: code::EMPTY,
        mid,
        ..Default::default()
    }
    .encode()
}

/// A message we cannot parse: if its header says confirmable, reject it with a Reset (RFC 7252
/// §4.2: a message format error); otherwise ignore it.
fn reset_for_garbage(datagram: &[u8]) -> Option<Vec<u8>> {
    let [b0, _, m0, m1, ..] = *datagram else {
        return None;
    };
    (b0 >> 6 == 1 && (b0 >> 4) & 3 == 0).then(|| reset(u16::from_be_bytes([m0, m1])))
}
