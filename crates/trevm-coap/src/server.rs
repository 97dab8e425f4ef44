//! The CoAP server's message layer, independent of the network: one datagram in, at most one
//! datagram out. It answers confirmable requests with piggybacked ACKs and non-confirmable ones
//! with NON responses, answers duplicates from a cache without handling them twice
//! ([`crate::dedup`]), reassembles Block1 uploads (RFC 7959: 2.31 Continue, 4.08 on a gap, 4.13
//! with Size1 over the limit), serves long responses with Block2, answers CoAP pings, and
//! lists every resource in `/.well-known/core` (RFC 6690). What the resources do is up to a
//! [`Resources`] implementation.

use alloc::collections::VecDeque;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::future::Future;

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

/// Content-Format `text/plain; charset=utf-8`.
pub const TEXT_PLAIN: u32 = 0;
/// Content-Format `application/link-format`.
pub const LINK_FORMAT: u32 = 40;
/// Content-Format `application/octet-stream`.
pub const OCTET_STREAM: u32 = 42;

/// A request as resources see it: a whole body (Block1 already reassembled).
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// Method code.
    pub code: u8,
    /// Uri-Path segments.
    pub path: Vec<&'a str>,
    /// The whole request body.
    pub payload: &'a [u8],
    /// Content-Format, if given.
    pub content_format: Option<u32>,
}

/// A response before block-wise slicing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Response code.
    pub code: u8,
    /// Body.
    pub payload: Vec<u8>,
    /// Content-Format of the body, if any.
    pub content_format: Option<u32>,
}

impl Response {
    /// A response with a code and a text body (a diagnostic for errors, RFC 7252 §5.5.2).
    pub fn text(code: u8, text: impl Into<String>) -> Response {
        Response {
            code,
            payload: text.into().into_bytes(),
            content_format: Some(TEXT_PLAIN),
        }
    }

    /// A response with a code and no body.
    pub fn empty(code: u8) -> Response {
        Response {
            code,
            payload: Vec::new(),
            content_format: None,
        }
    }
}

/// What the server serves.
pub trait Resources {
    /// Handles one request (with its whole body).
    fn handle(&mut self, request: Request<'_>) -> impl Future<Output = Response>;
    /// Links for `/.well-known/core`, e.g. `</sandbox/hello>;ct=0`.
    fn links(&self) -> Vec<String>;
}

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

/// A Block1 upload in progress.
#[derive(Debug)]
struct Upload<P> {
    peer: P,
    code: u8,
    path: Vec<String>,
    body: Vec<u8>,
}

/// A response body kept to serve its further Block2 blocks.
#[derive(Debug)]
struct Served<P> {
    peer: P,
    path: Vec<String>,
    response: Response,
}

/// The message layer around a set of [`Resources`], for peers identified by `P` (a socket
/// address on the native board).
#[derive(Debug)]
pub struct Server<P, R> {
    /// The resources served.
    pub resources: R,
    limits: ServerLimits,
    dedup: Dedup<P>,
    uploads: VecDeque<Upload<P>>,
    served: VecDeque<Served<P>>,
    next_mid: u16,
}

impl<P: PartialEq + Clone, R: Resources> Server<P, R> {
    /// A server for `resources`.
    pub fn new(resources: R, limits: ServerLimits) -> Self {
        Server {
            resources,
            limits,
            dedup: Dedup::new(limits.dedup_entries),
            uploads: VecDeque::new(),
            served: VecDeque::new(),
            next_mid: 0x7a00,
        }
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
        let response = self.respond(peer, &request).await;
        let reply = self.encode_reply(&request, response);
        self.dedup
            .remember(peer, request.mid, now_ms, reply.clone());
        Some(reply)
    }

    /// A response message (before the ACK/NON wrapping).
    async fn respond(&mut self, peer: &P, request: &Message) -> Message {
        let mut out = Message::default();
        if let Some(number) = request.unknown_critical(KNOWN) {
            out.code = code::BAD_OPTION;
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
            Some(b1) => match self.collect_block(peer, request, &path, b1) {
                Err(response) => return response,
                Ok(None) => {
                    // More to come: 2.31 Continue, acknowledging this block at our size.
                    let mut out = Message {
                        code: code::CONTINUE,
                        ..Default::default()
                    };
                    let szx = b1.szx.min(BlockOpt::szx_for(self.limits.max_block));
                    let ack = BlockOpt {
                        num: b1.num,
                        more: true,
                        szx,
                    };
                    out.add_uint_option(opt::BLOCK1, ack.to_uint());
                    return out;
                }
                Ok(Some(whole)) => {
                    body_owned = whole;
                    &body_owned
                }
            },
            None => {
                if request.payload.len() > self.limits.max_body {
                    return self.too_large();
                }
                &request.payload
            }
        };

        // Block2 beyond the first block of a body we served: answer from the kept body.
        let kept = match block2 {
            Some(b2) if b2.num > 0 && request.code == code::GET => self
                .served
                .iter()
                .find(|s| s.peer == *peer && s.path == path)
                .map(|s| s.response.clone()),
            _ => None,
        };
        let response = match kept {
            Some(r) => r,
            None => {
                let segments: Vec<&str> = path.iter().map(String::as_str).collect();
                let response = if segments == [".well-known", "core"] {
                    if request.code == code::GET {
                        Response {
                            code: code::CONTENT,
                            payload: self.resources.links().join(",").into_bytes(),
                            content_format: Some(LINK_FORMAT),
                        }
                    } else {
                        Response::text(code::METHOD_NOT_ALLOWED, "only GET")
                    }
                } else {
                    self.resources
                        .handle(Request {
                            code: request.code,
                            path: segments,
                            payload: body,
                            content_format: request.uint_option(opt::CONTENT_FORMAT),
                        })
                        .await
                };
                if request.code == code::GET && response.payload.len() > self.limits.max_block {
                    self.keep(peer, &path, response.clone());
                }
                response
            }
        };

        // Block2: slice a long body.
        let mut out = Message {
            code: response.code,
            ..Default::default()
        };
        if let Some(cf) = response.content_format {
            out.add_uint_option(opt::CONTENT_FORMAT, cf);
        }
        let max_szx = BlockOpt::szx_for(self.limits.max_block);
        let szx = block2.map_or(max_szx, |b| b.szx.min(max_szx));
        let size = 16usize << szx;
        if response.payload.len() > size || block2.is_some_and(|b| b.num > 0) {
            let num = block2.map_or(0, |b| b.num);
            let start = (num as usize).saturating_mul(size);
            if start >= response.payload.len() && start > 0 {
                return text_msg(code::BAD_OPTION, "Block2 beyond the end of the body");
            }
            let end = (start + size).min(response.payload.len());
            let more = end < response.payload.len();
            out.add_uint_option(opt::BLOCK2, BlockOpt { num, more, szx }.to_uint());
            if num == 0 {
                out.add_uint_option(opt::SIZE2, response.payload.len() as u32);
            }
            out.payload = response.payload[start..end].to_vec();
        } else {
            out.payload = response.payload;
        }
        if let Some(b1) = block1 {
            // The final block of an upload: acknowledge it.
            let szx = b1.szx.min(max_szx);
            out.add_uint_option(
                opt::BLOCK1,
                BlockOpt {
                    num: b1.num,
                    more: false,
                    szx,
                }
                .to_uint(),
            );
        }
        out
    }

    /// Adds a Block1 block; `Ok(Some(body))` when it was the last one.
    fn collect_block(
        &mut self,
        peer: &P,
        request: &Message,
        path: &[String],
        b1: BlockOpt,
    ) -> Result<Option<Vec<u8>>, Message> {
        if request
            .uint_option(opt::SIZE1)
            .is_some_and(|s| s as usize > self.limits.max_body)
        {
            return Err(self.too_large());
        }
        let size = b1.size();
        if b1.more && request.payload.len() != size {
            return Err(text_msg(
                code::BAD_REQUEST,
                "a Block1 block other than the last must be exactly the block size",
            ));
        }
        let at = self
            .uploads
            .iter()
            .position(|u| u.peer == *peer && u.path == path && u.code == request.code);
        if b1.num == 0 {
            if let Some(i) = at {
                self.uploads.remove(i);
            }
            if self.uploads.len() >= self.limits.uploads {
                self.uploads.pop_front();
            }
            self.uploads.push_back(Upload {
                peer: peer.clone(),
                code: request.code,
                path: path.to_vec(),
                body: Vec::new(),
            });
        }
        let i = match at {
            Some(i) if b1.num > 0 => i,
            _ if b1.num == 0 => self.uploads.len() - 1,
            _ => {
                return Err(text_msg(
                    code::REQUEST_ENTITY_INCOMPLETE,
                    "Block1 block without the blocks before it",
                ));
            }
        };
        let upload = &mut self.uploads[i];
        // By offset, not number: the client may have switched to the smaller block size we
        // acknowledged with.
        if upload.body.len() != b1.offset() {
            let have = upload.body.len();
            self.uploads.remove(i);
            return Err(text_msg(
                code::REQUEST_ENTITY_INCOMPLETE,
                alloc::format!(
                    "Block1 block {} starts at byte {} but {have} bytes have arrived",
                    b1.num,
                    b1.offset()
                ),
            ));
        }
        if upload.body.len() + request.payload.len() > self.limits.max_body {
            self.uploads.remove(i);
            return Err(self.too_large());
        }
        upload.body.extend_from_slice(&request.payload);
        if b1.more {
            return Ok(None);
        }
        let done = self.uploads.remove(i).map(|u| u.body).unwrap_or_default();
        Ok(Some(done))
    }

    fn too_large(&self) -> Message {
        let mut out = text_msg(
            code::REQUEST_ENTITY_TOO_LARGE,
            alloc::format!("the body may be at most {} bytes", self.limits.max_body),
        );
        out.add_uint_option(opt::SIZE1, self.limits.max_body as u32);
        out
    }

    fn keep(&mut self, peer: &P, path: &[String], response: Response) {
        self.served.retain(|s| !(s.peer == *peer && s.path == path));
        if self.served.len() >= 4 {
            self.served.pop_front();
        }
        self.served.push_back(Served {
            peer: peer.clone(),
            path: path.to_vec(),
            response,
        });
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
