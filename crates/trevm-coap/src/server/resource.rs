//! What the message layer hands to the application and gets back: a [`Request`] with its whole
//! body (Block1 already reassembled), a [`Response`] not yet cut into blocks, and the
//! [`Resources`] trait a device implements to serve them. Nothing here knows about message IDs,
//! tokens, duplicates or blocks; that is the rest of [`crate::server`].

use alloc::string::String;
use alloc::vec::Vec;
use core::future::Future;

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
