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
//! - `serve.rs`: the device's receive loop ([`serve`]) on a datagram [`Transport`]: runs are
//!   awaited alongside receiving, so the server answers while capsules run.
//!
//! Requests whose response takes a while (capsule runs, admissions) are [`Run`]s
//! ([`Handled::Later`]): [`Server::receive`] starts them and returns at once, and
//! [`Server::complete`] turns a run's result into the reply. At most
//! [`ServerLimits::runs`] are in flight, [`ServerLimits::runs_per_peer`] per peer; beyond that
//! the request gets 5.03 with Max-Age. A retransmission of a request still running is dropped
//! (its reply, piggybacked on the ACK, comes when the run ends; the client retransmits
//! meanwhile), one of a finished request is answered from the duplicate cache.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::block::BlockOpt;
use crate::dedup::Dedup;
use crate::message::{Message, MsgType, code, opt};

mod block1;
mod block2;
#[cfg(feature = "oscore")]
mod handshakes;
mod resource;
mod serve;

#[cfg(feature = "oscore")]
pub use handshakes::HandshakeLimits;
pub use serve::{MAX_DATAGRAM, Transport, serve};

pub use resource::{
    Handled, JSON, LINK_FORMAT, OCTET_STREAM, Request, Resources, Response, Run, TEXT_PLAIN,
};

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
    /// Block1 uploads in progress at once, from all peers.
    pub uploads: usize,
    /// Block1 uploads in progress at once from one peer: a new one beyond that replaces that
    /// peer's oldest. Another peer's upload is never dropped for it; when every slot is taken the
    /// new upload gets 5.03 with Max-Age (slots idle for [`UPLOAD_IDLE_MS`] are freed).
    pub uploads_per_peer: usize,
    /// Runs (capsule runs, admissions: [`Handled::Later`]) in flight at once, from all peers;
    /// beyond that a request that needs one gets 5.03 with Max-Age.
    pub runs: usize,
    /// Runs in flight at once for one peer, so that one peer cannot take every run slot.
    pub runs_per_peer: usize,
    /// EDHOC handshakes started per peer and in total (with a security layer).
    #[cfg(feature = "oscore")]
    pub handshakes: HandshakeLimits,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_body: 256 * 1024,
            max_block: 1024,
            dedup_entries: 64,
            uploads: 8,
            uploads_per_peer: 2,
            runs: 8,
            runs_per_peer: 4,
            #[cfg(feature = "oscore")]
            handshakes: HandshakeLimits::default(),
        }
    }
}

/// An upload slot with no block for this long may be taken by another peer's upload.
pub const UPLOAD_IDLE_MS: u64 = 30_000;

/// The Max-Age (seconds) of a 5.03 for a full server: when to try again.
pub const BUSY_MAX_AGE: u32 = 1;

/// An exchange whose response is being worked on (see [`Server::receive`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExchangeId(u32);

/// What [`Server::receive`] made of a datagram.
#[derive(Debug)]
pub enum Received {
    /// Send this datagram back to the peer.
    Reply(Vec<u8>),
    /// Nothing to send (an ACK, a duplicate of a request still being worked on, …).
    Nothing,
    /// The response needs this run first: await it (while receiving more datagrams), then hand
    /// its result to [`Server::complete`] with the id.
    Started(ExchangeId, Run),
}

/// The message layer around a set of [`Resources`], for peers identified by `P` (a socket
/// address on the native board).
///
/// Two ways to drive it: [`Server::receive`] and [`Server::complete`], with many runs in flight
/// while the transport keeps receiving (what a device does: see `trevm_native::coap::serve`);
/// or [`Server::handle`], one datagram to its reply at a time (tests, tools).
#[derive(Debug)]
pub struct Server<P, R> {
    /// The resources served.
    pub resources: R,
    limits: ServerLimits,
    dedup: Dedup<P>,
    uploads: block1::Uploads<P>,
    served: block2::ResponseCache<P>,
    next_mid: u16,
    next_exchange: u32,
    in_flight: Vec<InFlight<P>>,
    #[cfg(feature = "oscore")]
    security: Option<crate::secure::Security>,
    #[cfg(feature = "oscore")]
    handshakes: handshakes::Handshakes<P>,
}

/// Where a request's response goes once its run ends.
#[derive(Debug)]
struct InFlight<P> {
    id: ExchangeId,
    peer: P,
    reply_to: ReplyTo,
    inner: Inner,
    #[cfg(feature = "oscore")]
    security: Option<crate::secure::Pending>,
}

/// What the reply needs of the request as it came over the network.
#[derive(Debug, Clone)]
struct ReplyTo {
    ty: MsgType,
    mid: u16,
    token: Vec<u8>,
}

/// What the response needs of the (inner, when OSCORE-protected) request.
#[derive(Debug)]
struct Inner {
    code: u8,
    path: Vec<String>,
    block1: Option<BlockOpt>,
    block2: Option<BlockOpt>,
}

/// A response message now, or after a run.
enum Step {
    Done(Message),
    Run(Inner, Run),
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
            uploads: block1::Uploads::new(limits),
            served: block2::ResponseCache::new(),
            next_mid: 0x7a00,
            next_exchange: 0,
            in_flight: Vec::new(),
            #[cfg(feature = "oscore")]
            security: None,
            #[cfg(feature = "oscore")]
            handshakes: handshakes::Handshakes::new(limits.handshakes),
        }
    }

    /// Puts `security` (EDHOC, OSCORE, the access policy) in front of the resources: every
    /// request passes it first, and only what the policy allows reaches them.
    #[cfg(feature = "oscore")]
    pub fn with_security(mut self, security: crate::secure::Security) -> Self {
        self.security = Some(security);
        self
    }

    /// How many runs are in flight.
    pub fn runs_in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Handles one datagram from `peer` at time `now_ms` to the end, awaiting any run it needs;
    /// returns the datagram to send back. Nothing else is received meanwhile: for a device, use
    /// [`Server::receive`] and [`Server::complete`].
    pub async fn handle(&mut self, peer: &P, datagram: &[u8], now_ms: u64) -> Option<Vec<u8>> {
        match self.receive(peer, datagram, now_ms) {
            Received::Reply(reply) => Some(reply),
            Received::Nothing => None,
            Received::Started(id, run) => {
                let response = run.await;
                self.complete(id, response, now_ms).map(|(_, reply)| reply)
            }
        }
    }

    /// Takes one datagram from `peer` at time `now_ms`: answers it at once, or starts the run
    /// its response needs (see [`Received`]). Returns promptly either way.
    pub fn receive(&mut self, peer: &P, datagram: &[u8], now_ms: u64) -> Received {
        let request = match Message::parse(datagram) {
            Ok(m) => m,
            Err(_) => {
                return reset_for_garbage(datagram).map_or(Received::Nothing, Received::Reply);
            }
        };
        match (request.ty, request.code) {
            // A ping: an empty confirmable message gets a Reset.
            (MsgType::Con, code::EMPTY) => return Received::Reply(reset(request.mid)),
            // ACKs and Resets for our (non-existent) requests, empty NONs: nothing to do.
            (MsgType::Ack | MsgType::Rst, _) | (_, code::EMPTY) => return Received::Nothing,
            (_, c) if !code::is_request(c) => return Received::Nothing,
            _ => {}
        }
        if let Some(cached) = self.dedup.lookup(peer, request.mid, now_ms) {
            return Received::Reply(cached.to_vec());
        }
        // A retransmission of a request still being worked on: its reply comes when the run
        // ends (the client retransmits until then, RFC 7252 §4.2).
        if self
            .in_flight
            .iter()
            .any(|f| f.peer == *peer && f.reply_to.mid == request.mid)
        {
            return Received::Nothing;
        }
        let reply_to = ReplyTo {
            ty: request.ty,
            mid: request.mid,
            token: request.token.clone(),
        };
        #[cfg(feature = "oscore")]
        if let Some(security) = self.security.as_mut() {
            // Options and payload as they came, for coapcore to read (and decrypt).
            let tail = datagram.get(4 + request.token.len()..).unwrap_or_default();
            // A handshake costs the device before it knows who asks: counted per peer first.
            if crate::secure::is_edhoc_message_1(&request) && !self.handshakes.admit(peer, now_ms) {
                let response = busy("too many EDHOC handshakes; try again later");
                return Received::Reply(self.reply(peer, &reply_to, response, now_ms));
            }
            let (pending, inner) = security.begin(&request, tail);
            let step = match inner {
                Some(inner) => self.respond(peer, &inner, now_ms),
                // Refused, or EDHOC: coapcore answers by itself.
                None => {
                    let response = self.finish_secured(pending, None);
                    return Received::Reply(self.reply(peer, &reply_to, response, now_ms));
                }
            };
            return match step {
                Step::Done(response) => {
                    let response = self.finish_secured(pending, Some(response));
                    Received::Reply(self.reply(peer, &reply_to, response, now_ms))
                }
                Step::Run(inner, run) => {
                    self.start(peer, reply_to, inner, run, Some(pending), now_ms)
                }
            };
        }
        match self.respond(peer, &request, now_ms) {
            Step::Done(response) => Received::Reply(self.reply(peer, &reply_to, response, now_ms)),
            #[cfg(feature = "oscore")]
            Step::Run(inner, run) => self.start(peer, reply_to, inner, run, None, now_ms),
            #[cfg(not(feature = "oscore"))]
            Step::Run(inner, run) => self.start(peer, reply_to, inner, run, now_ms),
        }
    }

    /// Hands the response of a run [`Server::receive`] started to the exchange; returns the
    /// peer and the datagram to send it. `None` for an id that is not in flight.
    pub fn complete(
        &mut self,
        id: ExchangeId,
        response: Response,
        now_ms: u64,
    ) -> Option<(P, Vec<u8>)> {
        let at = self.in_flight.iter().position(|f| f.id == id)?;
        let f = self.in_flight.swap_remove(at);
        let message = self.conclude(&f.peer, &f.inner, response, true);
        #[cfg(feature = "oscore")]
        let message = match f.security {
            Some(pending) => self.finish_secured(pending, Some(message)),
            None => message,
        };
        let reply = self.reply(&f.peer, &f.reply_to, message, now_ms);
        Some((f.peer, reply))
    }

    /// Records a run in flight, or refuses it (5.03 with Max-Age) when the server or this peer
    /// has as many as its limits allow.
    fn start(
        &mut self,
        peer: &P,
        reply_to: ReplyTo,
        inner: Inner,
        run: Run,
        #[cfg(feature = "oscore")] security: Option<crate::secure::Pending>,
        now_ms: u64,
    ) -> Received {
        let of_peer = self.in_flight.iter().filter(|f| f.peer == *peer).count();
        if self.in_flight.len() >= self.limits.runs || of_peer >= self.limits.runs_per_peer {
            drop(run);
            let busy = busy(if of_peer >= self.limits.runs_per_peer {
                "this client has as many requests running as it may"
            } else {
                "the device runs as many requests as it may"
            });
            #[cfg(feature = "oscore")]
            let busy = match security {
                Some(pending) => self.finish_secured(pending, Some(busy)),
                None => busy,
            };
            return Received::Reply(self.reply(peer, &reply_to, busy, now_ms));
        }
        self.next_exchange = self.next_exchange.wrapping_add(1);
        let id = ExchangeId(self.next_exchange);
        self.in_flight.push(InFlight {
            id,
            peer: peer.clone(),
            reply_to,
            inner,
            #[cfg(feature = "oscore")]
            security,
        });
        Received::Started(id, run)
    }

    /// The response message to `request` (before the ACK/NON wrapping), or the run it needs.
    fn respond(&mut self, peer: &P, request: &Message, now_ms: u64) -> Step {
        if let Some(number) = request.unknown_critical(KNOWN) {
            let mut out = Message {
                code: code::BAD_OPTION,
                ..Default::default()
            };
            out.payload = alloc::format!("unsupported critical option {number}").into_bytes();
            return Step::Done(out);
        }
        let Some(path) = request.path() else {
            return Step::Done(text_msg(code::BAD_REQUEST, "Uri-Path is not UTF-8"));
        };
        let path: Vec<String> = path.into_iter().map(str::to_string).collect();
        let block1 = match request.uint_option(opt::BLOCK1).map(BlockOpt::from_uint) {
            Some(None) => return Step::Done(text_msg(code::BAD_OPTION, "invalid Block1 option")),
            Some(Some(b)) => Some(b),
            None => None,
        };
        let block2 = match request.uint_option(opt::BLOCK2).map(BlockOpt::from_uint) {
            Some(None) => return Step::Done(text_msg(code::BAD_OPTION, "invalid Block2 option")),
            Some(Some(b)) => Some(b),
            None => None,
        };
        let inner = Inner {
            code: request.code,
            path,
            block1,
            block2,
        };

        // Block1: collect the body.
        let body_owned;
        let body: &[u8] = match block1 {
            Some(b1) => match self.uploads.add(peer, request, &inner.path, b1, now_ms) {
                Err(response) => return Step::Done(response),
                Ok(None) => return Step::Done(block1::continue_reply(b1, self.limits.max_block)),
                Ok(Some(whole)) => {
                    body_owned = whole;
                    &body_owned
                }
            },
            None => {
                if request.payload.len() > self.limits.max_body {
                    return Step::Done(block1::too_large(self.limits.max_body));
                }
                &request.payload
            }
        };

        // Block2 beyond the first block of a body we served: answer from the kept body.
        let kept = match block2 {
            Some(b2) if b2.num > 0 && request.code == code::GET => {
                self.served.find(peer, &inner.path)
            }
            _ => None,
        };
        if let Some(response) = kept {
            return Step::Done(self.conclude(peer, &inner, response, false));
        }
        match self.dispatch(request, &inner.path, body) {
            Handled::Now(response) => Step::Done(self.conclude(peer, &inner, response, true)),
            Handled::Later(run) => Step::Run(inner, run),
        }
    }

    /// The second half of a protected request: the response back through the security layer.
    #[cfg(feature = "oscore")]
    fn finish_secured(
        &mut self,
        pending: crate::secure::Pending,
        response: Option<Message>,
    ) -> Message {
        match self.security.as_mut() {
            Some(security) => security.finish(pending, response),
            None => text_msg(code::INTERNAL_SERVER_ERROR, "security layer vanished"),
        }
    }

    /// The message for the resources' `response` to the request `inner` describes: kept for its
    /// later blocks if it is long and `fresh` (not itself from the kept ones), cut into the
    /// block asked for, the upload acknowledged.
    fn conclude(&mut self, peer: &P, inner: &Inner, response: Response, fresh: bool) -> Message {
        if fresh && inner.code == code::GET {
            self.served
                .keep_if_blockwise(peer, &inner.path, &response, self.limits.max_block);
        }
        let mut out = match block2::slice(response, inner.block2, self.limits.max_block) {
            Ok(out) => out,
            Err(refusal) => return refusal,
        };
        if let Some(b1) = inner.block1 {
            // The final block of an upload: acknowledge it.
            let ack = block1::ack(b1, false, self.limits.max_block);
            out.add_uint_option(opt::BLOCK1, ack.to_uint());
        }
        out
    }

    /// What the resources (or `/.well-known/core`) make of a request with its whole body.
    fn dispatch(&mut self, request: &Message, path: &[String], body: &[u8]) -> Handled {
        let segments: Vec<&str> = path.iter().map(String::as_str).collect();
        if segments == [".well-known", "core"] {
            return if request.code == code::GET {
                Handled::Now(Response {
                    code: code::CONTENT,
                    payload: self.resources.links().join(",").into_bytes(),
                    content_format: Some(LINK_FORMAT),
                })
            } else {
                Response::text(code::METHOD_NOT_ALLOWED, "only GET").into()
            };
        }
        self.resources.handle(Request {
            code: request.code,
            path: segments,
            payload: body,
            content_format: request.uint_option(opt::CONTENT_FORMAT),
        })
    }

    /// Wraps a response for the request (piggybacked ACK for CON, NON for NON) and remembers it
    /// for duplicates.
    fn reply(&mut self, peer: &P, to: &ReplyTo, mut response: Message, now_ms: u64) -> Vec<u8> {
        response.token = to.token.clone();
        if to.ty == MsgType::Con {
            response.ty = MsgType::Ack;
            response.mid = to.mid;
        } else {
            response.ty = MsgType::Non;
            self.next_mid = self.next_mid.wrapping_add(1);
            response.mid = self.next_mid;
        }
        let reply = response.encode();
        self.dedup.remember(peer, to.mid, now_ms, reply.clone());
        reply
    }
}

/// 5.03 Service Unavailable with Max-Age: too much in flight, try again shortly.
pub(crate) fn busy(why: &str) -> Message {
    let mut m = text_msg(code::SERVICE_UNAVAILABLE, why);
    m.add_uint_option(opt::MAX_AGE, BUSY_MAX_AGE);
    m
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
