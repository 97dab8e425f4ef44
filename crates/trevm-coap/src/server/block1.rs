//! Block1 reassembly (RFC 7959 §2.5): a request body that arrives in blocks is collected per
//! (peer, method, path) until its last block, then handed to the resources whole.
//!
//! The answers this module makes:
//! - **2.31 Continue** for every block but the last, acknowledging it at the server's block
//!   size ([`continue_reply`]); the last block's response carries the same acknowledgement
//!   ([`ack`]).
//! - **4.08 Request Entity Incomplete** for a block that does not start where the body so far
//!   ends (a gap, or a block without its predecessors). Blocks are placed by byte offset, not by
//!   number, so a client may switch to the smaller size the server acknowledged with.
//! - **4.13 Request Entity Too Large** with `Size1` = the limit ([`too_large`]) when the
//!   announced `Size1` or the body grows past [`ServerLimits::max_body`](super::limits::ServerLimits).
//!
//! Uploads are kept per (peer, method, path), so no peer can touch another's. At most
//! [`ServerLimits::uploads_per_peer`](super::limits::ServerLimits) are in progress per peer (a new one
//! beyond that replaces that peer's oldest) and [`ServerLimits::uploads`](super::limits::ServerLimits)
//! in all; when every slot is taken, one idle for [`UPLOAD_IDLE_MS`](super::limits::UPLOAD_IDLE_MS) is
//! freed, else the new upload gets **5.03** with Max-Age. Another peer's upload in progress is
//! never dropped for it.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

use super::limits::{ServerLimits, UPLOAD_IDLE_MS};
use super::reply::{busy, text_msg};
use crate::block::BlockOpt;
use crate::message::{Message, code, opt};

/// A Block1 upload in progress.
#[derive(Debug)]
struct Upload<P> {
    peer: P,
    code: u8,
    path: Vec<String>,
    body: Vec<u8>,
    /// When its last block arrived.
    last_ms: u64,
}

/// The uploads in progress, oldest first.
#[derive(Debug)]
pub(super) struct Uploads<P> {
    list: VecDeque<Upload<P>>,
    /// Uploads kept at once.
    capacity: usize,
    /// Uploads kept at once per peer.
    per_peer: usize,
    /// Largest body accepted.
    max_body: usize,
}

impl<P: PartialEq + Clone> Uploads<P> {
    pub(super) fn new(limits: ServerLimits) -> Self {
        Uploads {
            list: VecDeque::new(),
            capacity: limits.uploads.max(1),
            per_peer: limits.uploads_per_peer.max(1),
            max_body: limits.max_body,
        }
    }

    /// Makes room for a new upload of `peer`; `Err` (5.03) when there is none to make.
    fn make_room(&mut self, peer: &P, now_ms: u64) -> Result<(), Message> {
        let of_peer = self.list.iter().filter(|u| u.peer == *peer).count();
        if of_peer >= self.per_peer {
            // Its own oldest makes way.
            if let Some(i) = self.list.iter().position(|u| u.peer == *peer) {
                self.list.remove(i);
            }
            return Ok(());
        }
        if self.list.len() < self.capacity {
            return Ok(());
        }
        let idle = self
            .list
            .iter()
            .position(|u| now_ms.saturating_sub(u.last_ms) >= UPLOAD_IDLE_MS);
        match idle {
            Some(i) => {
                self.list.remove(i);
                Ok(())
            }
            None => Err(busy("every upload slot is in use; try again shortly")),
        }
    }

    /// Adds the block `b1` of `request` from `peer` for `path`: `Ok(None)` while more are to
    /// come, `Ok(Some(body))` with the whole body after the last one, `Err(response)` when the
    /// block is refused (the upload is then forgotten).
    pub(super) fn add(
        &mut self,
        peer: &P,
        request: &Message,
        path: &[String],
        b1: BlockOpt,
        now_ms: u64,
    ) -> Result<Option<Vec<u8>>, Message> {
        if request
            .uint_option(opt::SIZE1)
            .is_some_and(|s| s as usize > self.max_body)
        {
            return Err(too_large(self.max_body));
        }
        let size = b1.size();
        if b1.more && request.payload.len() != size {
            return Err(text_msg(
                code::BAD_REQUEST,
                "a Block1 block other than the last must be exactly the block size",
            ));
        }
        let at = self
            .list
            .iter()
            .position(|u| u.peer == *peer && u.path == path && u.code == request.code);
        if b1.num == 0 {
            // A first block (re)starts the upload.
            if let Some(i) = at {
                self.list.remove(i);
            }
            self.make_room(peer, now_ms)?;
            self.list.push_back(Upload {
                peer: peer.clone(),
                code: request.code,
                path: path.to_vec(),
                body: Vec::new(),
                last_ms: now_ms,
            });
        }
        let i = match at {
            Some(i) if b1.num > 0 => i,
            _ if b1.num == 0 => self.list.len() - 1,
            _ => {
                return Err(text_msg(
                    code::REQUEST_ENTITY_INCOMPLETE,
                    "Block1 block without the blocks before it",
                ));
            }
        };
        let upload = &mut self.list[i];
        // By offset, not number: the client may have switched to the smaller block size we
        // acknowledged with.
        if upload.body.len() != b1.offset() {
            let have = upload.body.len();
            self.list.remove(i);
            return Err(text_msg(
                code::REQUEST_ENTITY_INCOMPLETE,
                alloc::format!(
                    "Block1 block {} starts at byte {} but {have} bytes have arrived",
                    b1.num,
                    b1.offset()
                ),
            ));
        }
        if upload.body.len() + request.payload.len() > self.max_body {
            self.list.remove(i);
            return Err(too_large(self.max_body));
        }
        upload.body.extend_from_slice(&request.payload);
        upload.last_ms = now_ms;
        if b1.more {
            return Ok(None);
        }
        let done = self.list.remove(i).map(|u| u.body).unwrap_or_default();
        Ok(Some(done))
    }
}

/// The Block1 option acknowledging `b1`, at the client's block size or the server's largest
/// (`max_block` bytes), whichever is smaller.
pub(super) fn ack(b1: BlockOpt, more: bool, max_block: usize) -> BlockOpt {
    BlockOpt {
        num: b1.num,
        more,
        szx: b1.szx.min(BlockOpt::szx_for(max_block)),
    }
}

/// 2.31 Continue for a block that is not the last.
pub(super) fn continue_reply(b1: BlockOpt, max_block: usize) -> Message {
    let mut out = Message {
        code: code::CONTINUE,
        ..Default::default()
    };
    out.add_uint_option(opt::BLOCK1, ack(b1, true, max_block).to_uint());
    out
}

/// 4.13 Request Entity Too Large, telling the client the limit in `Size1` (RFC 7959 §2.9.3).
pub(super) fn too_large(max_body: usize) -> Message {
    let mut out = text_msg(
        code::REQUEST_ENTITY_TOO_LARGE,
        alloc::format!("the body may be at most {max_body} bytes"),
    );
    out.add_uint_option(opt::SIZE1, max_body as u32);
    out
}
