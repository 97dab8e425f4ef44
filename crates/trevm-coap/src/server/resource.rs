//! What the message layer hands to the application and gets back: a [`Request`] with its whole
//! body (Block1 already reassembled), a [`Response`] not yet cut into blocks — at once, or as a
//! [`Run`] to await first ([`Handled`]) — and the [`Resources`] trait a device implements to
//! serve them. Nothing here knows about message IDs, tokens, duplicates or blocks; that is the
//! rest of [`crate::server`].

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use super::body::Payload;

/// Content-Format `text/plain; charset=utf-8`.
pub const TEXT_PLAIN: u32 = 0;
/// Content-Format `application/link-format`.
pub const LINK_FORMAT: u32 = 40;
/// Content-Format `application/octet-stream`.
pub const OCTET_STREAM: u32 = 42;
/// Content-Format `application/json`.
pub const JSON: u32 = 50;

/// A request as resources see it: a whole body (Block1 already reassembled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    /// Method code.
    pub code: u8,
    /// Uri-Path segments.
    pub path: Vec<&'a str>,
    /// Uri-Query options (`after=12`), in order.
    pub query: Vec<&'a str>,
    /// The whole request body: read it as bytes, or [`Payload::take`] it to keep it (a body
    /// reassembled from Block1 blocks is moved, not copied).
    pub payload: Payload<'a>,
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

/// Work that ends in a response and may take a while (a capsule run, an upload's admission):
/// the server keeps receiving and answering other requests while it is awaited. It owns what it
/// needs (`'static`), so many can be in flight at once.
pub struct Run(Pin<Box<dyn Future<Output = Response>>>);

impl Run {
    /// Wraps the work.
    pub fn new(work: impl Future<Output = Response> + 'static) -> Run {
        Run(Box::pin(work))
    }
}

impl core::fmt::Debug for Run {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Run")
    }
}

impl Future for Run {
    type Output = Response;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response> {
        self.0.as_mut().poll(cx)
    }
}

/// What the resources make of a request.
#[derive(Debug)]
pub enum Handled {
    /// The response, at once (listings, refusals, deletions: anything quick).
    Now(Response),
    /// The response once this work ends.
    Later(Run),
}

impl From<Response> for Handled {
    fn from(response: Response) -> Handled {
        Handled::Now(response)
    }
}

/// What the server serves.
pub trait Resources {
    /// Handles one request (with its whole body). Must return promptly: anything that takes
    /// long (running a capsule) goes into a [`Handled::Later`].
    fn handle(&mut self, request: Request<'_>) -> Handled;
    /// Links for `/.well-known/core`, e.g. `</sandbox/hello>;ct=0`.
    fn links(&self) -> Vec<String>;

    /// A GET with Observe: 0 (RFC 7641): if `request` names an observable resource, its
    /// response (2.05 for the registration to hold) and a cursor, which the server hands back to
    /// [`Resources::notification`]; `None` (the default: nothing is observable) makes it a plain
    /// GET, given to [`Resources::handle`]. The response must fit one message (no Block2).
    fn observe(&mut self, _request: &Request<'_>) -> Option<(Response, u64)> {
        None
    }

    /// The notification for an observer of `path` whose last notification left `cursor`: the
    /// response and the new cursor, or `None` while nothing changed for it.
    fn notification(&mut self, _path: &[String], _cursor: u64) -> Option<(Response, u64)> {
        None
    }

    /// Ready once after each change of an observable resource (the server then asks each of
    /// its observers' [`Resources::notification`]); otherwise keeps `cx`'s waker and is
    /// pending. The default never changes.
    fn poll_changed(&self, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}
