//! Block1 reassembly (RFC 7959 §2.5): a request body that arrives in blocks is collected per
//! (peer, method, path) until its last block, then handed to the resources whole, moved (a
//! [`Body`], never copied).
//!
//! The answers this module makes:
//! - **2.31 Continue** for every block but the last, acknowledging it at the server's block
//!   size ([`continue_reply`]); the last block's response carries the same acknowledgement
//!   ([`ack`]).
//! - **4.08 Request Entity Incomplete** for a block that does not start where the body so far
//!   ends (a gap, or a block without its predecessors). Blocks are placed by byte offset, not by
//!   number, so a client may switch to the smaller size the server acknowledged with.
//! - **4.13 Request Entity Too Large** with `Size1` = the largest body it could ever take
//!   ([`too_large`]) when the announced `Size1` or the body grows past it: the smaller of
//!   [`ServerLimits::max_body`] and what fits in [`ServerLimits::upload_bytes`] alone.
//! - **5.03 Service Unavailable** with Max-Age when the body would fit alone but not next to the
//!   uploads of other peers in progress (or every upload slot is taken): try again shortly.
//!
//! # Memory
//!
//! All uploads in progress together hold at most [`ServerLimits::upload_bytes`], counted as what
//! their buffers hold (a [`Body`]'s footprint: the body, the room reserved for it, and up to
//! [`BODY_ALIGN`]` - 1` bytes of padding that put it at an aligned address). A first block
//! announcing the body's size (`Size1`, RFC 7959 §4, which trevm's client sends) gets its whole
//! buffer reserved at once, exactly; without it the buffer grows block by block, exactly
//! (`reserve_exact`, never doubling), and each growth may reallocate: for that moment the old and
//! the new buffer coexist (the allocator's, uncounted: send `Size1`). A block that cannot be
//! allocated is refused with 5.03 like one over the budget.
//!
//! Every copy of an upload's bytes from its first block to "installed" (a signed capsule of
//! 20 KiB, 1024-byte blocks, behind OSCORE, on a trevm-slots device):
//!
//! | where | bytes | how long |
//! |---|---|---|
//! | the receive loop's datagram buffer ([`MAX_DATAGRAM`](super::MAX_DATAGRAM)) | 2048 | always, one for all |
//! | each block parsed ([`Message`]: options, payload) | ≈ 1.1 KiB | that block |
//! | OSCORE: coapcore's copy of the protected request, decrypted in place | ≤ 1152 | that block |
//! | OSCORE: the decrypted inner request's payload | ≤ 1024 | that block |
//! | the [`Body`] reassembled here, sized by `Size1` at the first block | 20 KiB + 15 | until installed, then kept |
//!
//! and nothing more: the body is moved to the resource ([`Payload::take`](super::Payload::take)),
//! into the admission (trevm's `Capsule::from_vec_at`: its signature is checked and its SHA-256
//! computed in place), written to the store from the same buffer (a flash store's scratch is
//! one page, whatever the value), and loaded in place: trevm hands Wasmtime the payload inside
//! that buffer (`Component::deserialize_raw`) rather than a copy, so the upload's buffer becomes
//! the capsule's code memory. Before (trevm 0.1 up to issue 24) the same upload held, at its
//! worst, the reassembly `Vec` grown by doubling (32 KiB for 20 KiB, and 16 + 32 KiB at once
//! during its last reallocation), the resource's copy, the admission's copy and Wasmtime's copy
//! (3 × 20 KiB at load). A capsule restored from the store is likewise the `Vec` the store read
//! (used in place when the allocator placed it aligned; copied once by Wasmtime otherwise),
//! where it was three copies.
//!
//! Uploads are kept per (peer, method, path), so no peer can touch another's. At most
//! [`ServerLimits::uploads_per_peer`] are in progress per peer and [`ServerLimits::uploads`] in
//! all. Making room for a new upload (a slot, or bytes) drops the peer's own oldest upload when
//! it has its share already, else any upload idle for [`UPLOAD_IDLE_MS`] (a vanished peer's: its
//! bytes go back to the budget), else the peer's own oldest.
//! Another peer's upload in progress is never dropped for it: the new one gets 5.03 instead.
//! An upload idle for [`UPLOAD_IDLE_MS`] is forgotten at the next datagram the device receives
//! (from anyone): what a vanished peer held goes back to the heap without a timer.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

use super::body::{BODY_ALIGN, Body};
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
    body: Body,
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
    /// Bytes all uploads' buffers may hold together.
    budget: usize,
}

impl<P: PartialEq + Clone> Uploads<P> {
    pub(super) fn new(limits: ServerLimits) -> Self {
        Uploads {
            list: VecDeque::new(),
            capacity: limits.uploads.max(1),
            per_peer: limits.uploads_per_peer.max(1),
            max_body: limits.max_body,
            budget: limits.upload_bytes,
        }
    }

    /// The largest body this server could ever take: [`ServerLimits::max_body`], or less when
    /// its buffer alone would not fit in the upload budget.
    pub(super) fn largest(&self) -> usize {
        self.max_body
            .min(self.budget.saturating_sub(BODY_ALIGN - 1))
    }

    /// Bytes the uploads in progress hold.
    pub(super) fn held(&self) -> usize {
        self.list.iter().map(|u| u.body.footprint()).sum()
    }

    /// Forgets every upload with no block for [`UPLOAD_IDLE_MS`]: a vanished peer's bytes go
    /// back to the heap at the next datagram the device receives, from anyone (no timer).
    pub(super) fn expire(&mut self, now_ms: u64) {
        self.list
            .retain(|u| now_ms.saturating_sub(u.last_ms) < UPLOAD_IDLE_MS);
    }

    /// Uploads in progress.
    pub(super) fn len(&self) -> usize {
        self.list.len()
    }

    /// Makes room for a new upload of `peer` holding `bytes`: its own oldest uploads, then idle
    /// ones, make way; `Err` (5.03) when that is not enough.
    fn make_room(&mut self, peer: &P, bytes: usize, now_ms: u64) -> Result<(), Message> {
        let fits = |u: &Self| {
            let of_peer = u.list.iter().filter(|x| x.peer == *peer).count();
            of_peer < u.per_peer && u.list.len() < u.capacity && u.held() + bytes <= u.budget
        };
        while !fits(self) {
            let own = self.list.iter().position(|u| u.peer == *peer);
            let idle = self
                .list
                .iter()
                .position(|u| now_ms.saturating_sub(u.last_ms) >= UPLOAD_IDLE_MS);
            let of_peer = self.list.iter().filter(|u| u.peer == *peer).count();
            // Beyond its share, the peer's own oldest makes way first; else an abandoned one.
            let pick = if of_peer >= self.per_peer {
                own
            } else {
                idle.or(own)
            };
            match pick {
                Some(i) => drop(self.list.remove(i)),
                None if self.held() + bytes > self.budget => {
                    return Err(busy(
                        "the uploads in progress hold as much memory as the device gives them; \
                         try again shortly",
                    ));
                }
                None => return Err(busy("every upload slot is in use; try again shortly")),
            }
        }
        Ok(())
    }

    /// Adds the block `b1` of `request` from `peer` for `path`: `Ok(None)` while more are to
    /// come, `Ok(Some(body))` with the whole body after the last one, `Err(response)` when the
    /// block is refused (the upload is then forgotten, its bytes back in the budget).
    pub(super) fn add(
        &mut self,
        peer: &P,
        request: &Message,
        path: &[String],
        b1: BlockOpt,
        now_ms: u64,
    ) -> Result<Option<Body>, Message> {
        let largest = self.largest();
        let size1 = request.uint_option(opt::SIZE1).map(|s| s as usize);
        if size1.is_some_and(|s| s > largest) {
            return Err(too_large(largest));
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
            // A first block (re)starts the upload: its buffer sized by Size1 when announced
            // (and not smaller than this block), else by this block.
            if let Some(i) = at {
                self.list.remove(i);
            }
            let len = size1.unwrap_or(0).max(request.payload.len());
            if len > largest {
                return Err(too_large(largest));
            }
            self.make_room(peer, len + BODY_ALIGN - 1, now_ms)?;
            let body = Body::with_capacity(len)
                .ok_or_else(|| busy("the device is short of memory; try again shortly"))?;
            self.list.push_back(Upload {
                peer: peer.clone(),
                code: request.code,
                path: path.to_vec(),
                body,
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
        let held = self.held();
        let budget = self.budget;
        let upload = &mut self.list[i];
        // By offset, not number: the client may have switched to the smaller block size we
        // acknowledged with.
        let have = upload.body.len();
        if have != b1.offset() {
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
        let grown = have + request.payload.len();
        if grown > largest {
            self.list.remove(i);
            return Err(too_large(largest));
        }
        // Growing past what was reserved (no Size1, or more than it announced): exactly, and
        // only within the budget.
        let before = upload.body.footprint();
        let after = before.max(grown + BODY_ALIGN - 1);
        if held - before + after > budget || upload.body.reserve(request.payload.len()).is_err() {
            self.list.remove(i);
            return Err(busy(
                "the uploads in progress hold as much memory as the device gives them; try again \
                 shortly",
            ));
        }
        upload.body.extend(&request.payload);
        upload.last_ms = now_ms;
        if b1.more {
            return Ok(None);
        }
        Ok(self.list.remove(i).map(|u| u.body))
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
