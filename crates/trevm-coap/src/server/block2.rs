//! Block2 (RFC 7959 §2.4): a response body longer than one block is served in blocks, with
//! `Size2` on the first ([`slice()`]).
//!
//! A client fetches the blocks after the first with separate GETs. So that the resources (for a
//! sandbox: a capsule run) are not asked again for every block, the body of a long GET response
//! is kept in a small [`ResponseCache`] per (peer, path); a GET for block 1 or later is answered
//! from it. The cache holds the last [`KEPT`] bodies; a new GET of the same path replaces its
//! entry.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

use super::reply::text_msg;
use super::resource::Response;
use crate::block::BlockOpt;
use crate::message::{Message, code, opt};

/// How many long response bodies are kept for their later blocks.
pub(super) const KEPT: usize = 4;

/// A response body kept to serve its further Block2 blocks.
#[derive(Debug)]
struct Served<P> {
    peer: P,
    path: Vec<String>,
    response: Response,
}

/// The long GET responses kept for their later blocks, oldest first.
#[derive(Debug)]
pub(super) struct ResponseCache<P> {
    kept: VecDeque<Served<P>>,
}

impl<P: PartialEq + Clone> ResponseCache<P> {
    pub(super) fn new() -> Self {
        ResponseCache {
            kept: VecDeque::new(),
        }
    }

    /// The response kept for `peer`'s GET of `path`, if any.
    pub(super) fn find(&self, peer: &P, path: &[String]) -> Option<Response> {
        self.kept
            .iter()
            .find(|s| s.peer == *peer && s.path == path)
            .map(|s| s.response.clone())
    }

    /// Keeps `response` for `peer`'s GET of `path` if it needs more than one block of
    /// `max_block` bytes; replaces what was kept for the same peer and path.
    pub(super) fn keep_if_blockwise(
        &mut self,
        peer: &P,
        path: &[String],
        response: &Response,
        max_block: usize,
    ) {
        if response.payload.len() <= max_block {
            return;
        }
        self.kept.retain(|s| !(s.peer == *peer && s.path == path));
        if self.kept.len() >= KEPT {
            self.kept.pop_front();
        }
        self.kept.push_back(Served {
            peer: peer.clone(),
            path: path.to_vec(),
            response: response.clone(),
        });
    }
}

/// The message for `response`: the whole body if it fits one block and no later block was
/// asked for, else the block the request's Block2 option (`block2`) asks for, at its size or at
/// most `max_block` bytes, with `Size2` on block 0. `Err` is the 4.02 for a block past the end.
pub(super) fn slice(
    response: Response,
    block2: Option<BlockOpt>,
    max_block: usize,
) -> Result<Message, Message> {
    let mut out = Message {
        code: response.code,
        ..Default::default()
    };
    if let Some(cf) = response.content_format {
        out.add_uint_option(opt::CONTENT_FORMAT, cf);
    }
    let max_szx = BlockOpt::szx_for(max_block);
    let szx = block2.map_or(max_szx, |b| b.szx.min(max_szx));
    let size = 16usize << szx;
    if response.payload.len() > size || block2.is_some_and(|b| b.num > 0) {
        let num = block2.map_or(0, |b| b.num);
        let start = (num as usize).saturating_mul(size);
        if start >= response.payload.len() && start > 0 {
            return Err(text_msg(
                code::BAD_OPTION,
                "Block2 beyond the end of the body",
            ));
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
    Ok(out)
}
