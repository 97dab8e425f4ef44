//! One exchange from end to end ([`Server`]): parse the datagram, answer pings, garbage and
//! duplicates, pass the request through the security layer, Block1, the resources (or
//! `/.well-known/core`) and Block2, and wrap the response for the network.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::block1;
use super::block2;
use super::body::Payload;
use super::layer::{Begun, Layer, Plain};
use super::limits::ServerLimits;
use super::observe::Observers;
use super::reply::{busy, reset, reset_for_garbage, text_msg};
use super::resource::{Handled, LINK_FORMAT, Request, Resources, Response, Run};
use crate::block::BlockOpt;
use crate::dedup::Dedup;
use crate::message::{Message, MsgType, code, opt};

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
pub struct Server<P, R, L: Layer<P> = Plain> {
    /// The resources served.
    pub resources: R,
    /// The security layer every request passes first ([`Plain`]: none).
    pub(super) layer: L,
    pub(super) limits: ServerLimits,
    dedup: Dedup<P>,
    uploads: block1::Uploads<P>,
    served: block2::ResponseCache<P>,
    pub(super) next_mid: u16,
    next_exchange: u32,
    in_flight: Vec<InFlight<P, L::Pending>>,
    /// Observers of observable resources (RFC 7641; see `notify.rs`).
    pub(super) observers: Observers<P, L::Observation>,
}

impl<P, R: core::fmt::Debug, L: Layer<P> + core::fmt::Debug> core::fmt::Debug for Server<P, R, L> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Server")
            .field("resources", &self.resources)
            .field("layer", &self.layer)
            .field("limits", &self.limits)
            .field("in_flight", &self.in_flight.len())
            .finish_non_exhaustive()
    }
}

/// Where a request's response goes once its run ends.
struct InFlight<P, Pending> {
    id: ExchangeId,
    peer: P,
    reply_to: ReplyTo,
    inner: Inner,
    /// What the security layer needs to finish the response.
    pending: Pending,
}

/// What the reply needs of the request as it came over the network.
#[derive(Debug, Clone)]
pub(super) struct ReplyTo {
    ty: MsgType,
    mid: u16,
    pub(super) token: Vec<u8>,
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
    /// The response to an observation's registration, with the resource's path and cursor.
    Observed(Message, Vec<String>, u64),
}

impl<P: PartialEq + Clone, R: Resources> Server<P, R> {
    /// A server for `resources` **without security** ([`Plain`]): anyone who can send it a
    /// datagram may do anything. For tests, or behind a security layer of its own; a device uses
    /// [`Server::with_security`].
    pub fn new(resources: R, limits: ServerLimits) -> Self {
        Server {
            resources,
            layer: Plain,
            limits,
            dedup: Dedup::with_budget(limits.dedup_entries, limits.dedup_bytes),
            uploads: block1::Uploads::new(limits),
            served: block2::ResponseCache::new(),
            next_mid: 0x7a00,
            next_exchange: 0,
            in_flight: Vec::new(),
            observers: Observers::new(),
        }
    }

    /// Puts `security` (e.g. EDHOC, OSCORE and the access policy:
    /// [`Security`](crate::secure::Security)) in front of the resources: every request passes it
    /// first, and only what it lets through reaches them.
    pub fn with_security<S: Layer<P>>(self, security: S) -> Server<P, R, S> {
        Server {
            resources: self.resources,
            layer: security,
            limits: self.limits,
            dedup: self.dedup,
            uploads: self.uploads,
            served: self.served,
            next_mid: self.next_mid,
            next_exchange: self.next_exchange,
            in_flight: Vec::new(),
            observers: Observers::new(),
        }
    }
}

impl<P: PartialEq + Clone, R: Resources, L: Layer<P>> Server<P, R, L> {
    /// The security layer.
    pub fn security(&self) -> &L {
        &self.layer
    }

    /// How many runs are in flight.
    pub fn runs_in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// How many Block1 uploads are in progress, and the bytes their buffers hold (bounded by
    /// [`ServerLimits::upload_bytes`]).
    pub fn uploads_in_progress(&self) -> (usize, usize) {
        (self.uploads.len(), self.uploads.held())
    }

    /// How many responses are remembered for duplicate detection, and their bytes (bounded by
    /// [`ServerLimits::dedup_bytes`]).
    pub fn remembered(&self) -> (usize, usize) {
        (self.dedup.len(), self.dedup.bytes())
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
        self.uploads.expire(now_ms);
        let request = match Message::parse(datagram) {
            Ok(m) => m,
            Err(_) => {
                return reset_for_garbage(datagram).map_or(Received::Nothing, Received::Reply);
            }
        };
        match (request.ty, request.code) {
            // A ping: an empty confirmable message gets a Reset.
            (MsgType::Con, code::EMPTY) => return Received::Reply(reset(request.mid)),
            // ACKs and Resets: for a notification (an observer that got it, or is gone), else
            // for nothing this server sent. Empty NONs: nothing to do.
            (MsgType::Ack | MsgType::Rst, _) => {
                let reset = request.ty == MsgType::Rst;
                self.observers.answered(peer, request.mid, reset);
                return Received::Nothing;
            }
            (_, code::EMPTY) => return Received::Nothing,
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
        // Options and payload as they came, for a security layer to read (and decrypt).
        let tail = datagram.get(4 + request.token.len()..).unwrap_or_default();
        let (pending, step) = match self.layer.begin(peer, &request, tail, now_ms) {
            Begun::Answered(response) => {
                return Received::Reply(self.reply(peer, &reply_to, response, now_ms));
            }
            Begun::Through(pending) => (pending, self.respond(peer, &request, &reply_to, now_ms)),
            Begun::Inner(pending, inner) => {
                (pending, self.respond(peer, &inner, &reply_to, now_ms))
            }
        };
        // Answered now (a registration, once its observer is recorded), or after a run.
        let response = match step {
            Step::Done(response) => response,
            Step::Observed(mut response, path, cursor) => {
                self.register(peer, &reply_to, &pending, &mut response, path, cursor);
                response
            }
            Step::Run(inner, run) => {
                return self.start(peer, reply_to, inner, run, pending, now_ms);
            }
        };
        let response = self.layer.finish(pending, response);
        Received::Reply(self.reply(peer, &reply_to, response, now_ms))
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
        let message = self.layer.finish(f.pending, message);
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
        pending: L::Pending,
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
            let busy = self.layer.finish(pending, busy);
            return Received::Reply(self.reply(peer, &reply_to, busy, now_ms));
        }
        self.next_exchange = self.next_exchange.wrapping_add(1);
        let id = ExchangeId(self.next_exchange);
        self.in_flight.push(InFlight {
            id,
            peer: peer.clone(),
            reply_to,
            inner,
            pending,
        });
        Received::Started(id, run)
    }

    /// The response message to `request` (before the ACK/NON wrapping), or the run it needs.
    fn respond(&mut self, peer: &P, request: &Message, to: &ReplyTo, now_ms: u64) -> Step {
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

        // Block1: collect the body (moved on to the resources, never copied).
        let body = match block1 {
            Some(b1) => match self.uploads.add(peer, request, &inner.path, b1, now_ms) {
                Err(response) => return Step::Done(response),
                Ok(None) => return Step::Done(block1::continue_reply(b1, self.limits.max_block)),
                Ok(Some(whole)) => Payload::Reassembled(whole),
            },
            None => {
                if request.payload.len() > self.limits.max_body {
                    return Step::Done(block1::too_large(self.limits.max_body));
                }
                Payload::Borrowed(&request.payload)
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
        let observe = block1.is_none() && self.registers(peer, request, &to.token);
        match self.dispatch(request, &inner.path, body, observe) {
            Ok(Handled::Now(response)) => Step::Done(self.conclude(peer, &inner, response, true)),
            Ok(Handled::Later(run)) => Step::Run(inner, run),
            Err((response, cursor)) => {
                let message = self.conclude(peer, &inner, response, false);
                Step::Observed(message, inner.path, cursor)
            }
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

    /// What the resources (or `/.well-known/core`) make of a request with its whole body; `Err`
    /// with the response and cursor of an observable resource, when `observe` (a registration).
    fn dispatch(
        &mut self,
        request: &Message,
        path: &[String],
        body: Payload<'_>,
        observe: bool,
    ) -> Result<Handled, (Response, u64)> {
        let segments: Vec<&str> = path.iter().map(String::as_str).collect();
        if segments == [".well-known", "core"] {
            return Ok(if request.code == code::GET {
                Handled::Now(Response {
                    code: code::CONTENT,
                    payload: self.resources.links().join(",").into_bytes(),
                    content_format: Some(LINK_FORMAT),
                })
            } else {
                Response::text(code::METHOD_NOT_ALLOWED, "only GET").into()
            });
        }
        let request = Request {
            code: request.code,
            path: segments,
            query: request.query(),
            payload: body,
            content_format: request.uint_option(opt::CONTENT_FORMAT),
        };
        if observe && let Some(observed) = self.resources.observe(&request) {
            return Err(observed);
        }
        Ok(self.resources.handle(request))
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
