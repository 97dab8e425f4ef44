//! What the client is asked to do and what it answers: [`Request`], [`Reply`], [`Limits`].

use alloc::string::String;
use alloc::vec::Vec;

use crate::message::code;

/// The largest block of a plain upload (the largest RFC 7959 has).
pub const MAX_BLOCK: usize = 1024;
/// The largest block inside OSCORE: coapcore copies each incoming protected request into a
/// 1152-byte buffer, so a 1024-byte block plus its options and OSCORE's overhead does not fit.
pub const MAX_OSCORE_BLOCK: usize = 512;

/// Bounds on what the client takes from a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest response body reassembled from Block2 blocks, in bytes (default 1 MiB; a
    /// device sets what it can hold).
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_body: 1 << 20 }
    }
}

/// A request to make: method, Uri-Path, Uri-Query, payload and its Content-Format, and the
/// largest block to upload it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Method code ([`code::GET`], …).
    pub method: u8,
    /// Uri-Path segments, one option each; an empty segment is sent as an empty option (the
    /// path `/reg/1/` is `["reg", "1", ""]`).
    pub path: Vec<String>,
    /// Uri-Query options (`ep=dev1`), in order; sent with every block.
    pub query: Vec<String>,
    /// The payload's Content-Format (`40` for link-format); sent with every block of it.
    pub content_format: Option<u16>,
    /// The whole payload; sent block-wise (Block1) when larger than `block`.
    pub payload: Vec<u8>,
    /// The largest block, in bytes: clamped to 16 ..= [`MAX_BLOCK`] ([`MAX_OSCORE_BLOCK`] with
    /// a session) and rounded down to a power of two.
    pub block: usize,
}

impl Request {
    /// `method` on `path`, no payload, blocks of up to [`MAX_BLOCK`] bytes.
    pub fn new(method: u8, path: &[&str]) -> Request {
        Request {
            method,
            path: path.iter().map(|s| String::from(*s)).collect(),
            query: Vec::new(),
            content_format: None,
            payload: Vec::new(),
            block: MAX_BLOCK,
        }
    }

    /// With `payload`.
    pub fn with_payload(mut self, payload: Vec<u8>) -> Request {
        self.payload = payload;
        self
    }

    /// With these Uri-Query options (`"ep=dev1"`, …).
    pub fn with_query(mut self, query: Vec<String>) -> Request {
        self.query = query;
        self
    }

    /// With the payload's Content-Format.
    pub fn with_content_format(mut self, content_format: u16) -> Request {
        self.content_format = Some(content_format);
        self
    }

    /// With blocks of at most `block` bytes.
    pub fn with_block(mut self, block: usize) -> Request {
        self.block = block;
        self
    }
}

/// A response with its body reassembled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Response code.
    pub code: u8,
    /// The whole body.
    pub payload: Vec<u8>,
    /// Size1: on a 4.13, the largest body the server takes.
    pub size1: Option<u32>,
    /// Location-Path options (a created resource's path, RFC 7252 §5.10.7), in order, empty
    /// segments kept (`["reg", "1", ""]` is `/reg/1/`). As many as the datagram holds: a caller
    /// that keeps them bounds them itself.
    pub location: Vec<String>,
    /// The body's Content-Format, if the server said.
    pub content_format: Option<u16>,
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
