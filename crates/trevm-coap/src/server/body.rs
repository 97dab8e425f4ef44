//! A request body as the resources get it ([`Payload`]): borrowed from the datagram, or the
//! [`Body`] Block1 reassembled, owned, which a resource takes without a copy (an upload that
//! becomes a capsule's code memory: see trevm's `Capsule::from_vec_at`).

use alloc::vec::Vec;
use core::ops::Deref;

/// Where a [`Body`]'s bytes start: an address aligned to this, so that a capsule uploaded into it
/// has its code aligned as trevm needs to use it in place (trevm's `capsule::CODE_ALIGN`).
pub const BODY_ALIGN: usize = 16;

/// An owned request body, `buf[start..]`, its first byte at an address aligned to
/// [`BODY_ALIGN`] (the bytes before `start` are padding). Reassembled from Block1 blocks; moved,
/// never copied, from the reassembly to the resource.
#[derive(Clone, PartialEq, Eq)]
pub struct Body {
    buf: Vec<u8>,
    start: usize,
}

impl Body {
    /// An empty body with room for `len` bytes, aligned: `len + BODY_ALIGN - 1` bytes reserved.
    /// `None` when the allocator cannot give them.
    pub fn with_capacity(len: usize) -> Option<Body> {
        let mut body = Body {
            buf: Vec::new(),
            start: 0,
        };
        body.reserve(len).ok()?;
        Some(body)
    }

    /// A copy of `bytes`, aligned (aborting on allocation failure, as `to_vec` does).
    pub fn copy_of(bytes: &[u8]) -> Body {
        let mut body = Body {
            buf: Vec::with_capacity(bytes.len() + BODY_ALIGN - 1),
            start: 0,
        };
        body.realign();
        body.buf.extend_from_slice(bytes);
        body
    }

    /// Bytes held in memory for it (its buffer's capacity): what it costs, padding included.
    pub fn footprint(&self) -> usize {
        self.buf.capacity()
    }

    /// The buffer and where the body starts in it (`buf[start..]` is the body, aligned to
    /// [`BODY_ALIGN`]), e.g. for trevm's `Capsule::from_vec_at`.
    pub fn into_parts(self) -> (Vec<u8>, usize) {
        (self.buf, self.start)
    }

    /// Makes room for `more` bytes after the body with exactly as much reserved as the body,
    /// those bytes and the padding need (never doubling), keeping the body's start aligned
    /// (moving the bytes within the buffer if a reallocation put them elsewhere).
    pub(crate) fn reserve(
        &mut self,
        more: usize,
    ) -> Result<(), alloc::collections::TryReserveError> {
        let len = self.len();
        let need = (BODY_ALIGN - 1).saturating_add(len).saturating_add(more);
        if self.buf.capacity() < need {
            self.buf.try_reserve_exact(need - self.buf.len())?;
        }
        self.realign();
        Ok(())
    }

    /// Puts the body at the aligned place in its buffer (after a reallocation moved the buffer),
    /// within the `BODY_ALIGN - 1` bytes of room [`Body::reserve`] keeps.
    fn realign(&mut self) {
        let len = self.len();
        let addr = self.buf.as_ptr() as usize;
        let pad = (BODY_ALIGN - addr % BODY_ALIGN) % BODY_ALIGN;
        if pad > self.start {
            // Within the capacity (`pad + len` < `BODY_ALIGN + len`): no reallocation.
            self.buf.resize(pad + len, 0);
            self.buf.copy_within(self.start..self.start + len, pad);
        } else if pad < self.start {
            self.buf.copy_within(self.start..self.start + len, pad);
            self.buf.truncate(pad + len);
        }
        self.start = pad;
    }

    /// Appends `bytes` (room made by [`Body::reserve`] first, so nothing reallocates).
    pub(crate) fn extend(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }
}

impl Deref for Body {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or_default()
    }
}

impl core::fmt::Debug for Body {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Body")
            .field("len", &self.len())
            .field("footprint", &self.footprint())
            .finish()
    }
}

/// A request's whole body as the resources see it: read it as bytes (`&payload[..]`, `.len()`),
/// or take it ([`Payload::take`]) to keep it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload<'a> {
    /// The payload of the one datagram the request came in.
    Borrowed(&'a [u8]),
    /// The body Block1 reassembled, owned.
    Reassembled(Body),
}

impl Payload<'_> {
    /// The body, owned: the reassembled one moved out (no copy; an empty payload left behind),
    /// or a copy of a borrowed one (at most a datagram).
    pub fn take(&mut self) -> Body {
        match core::mem::replace(self, Payload::Borrowed(&[])) {
            Payload::Borrowed(bytes) => Body::copy_of(bytes),
            Payload::Reassembled(body) => body,
        }
    }
}

impl Deref for Payload<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Payload::Borrowed(bytes) => bytes,
            Payload::Reassembled(body) => body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_stays_aligned_and_exactly_sized_as_it_grows() {
        let mut body = Body::with_capacity(0).unwrap();
        let mut expected = Vec::new();
        for i in 0..40u8 {
            let block = [i; 37];
            body.reserve(block.len()).unwrap();
            let before = body.footprint();
            body.extend(&block);
            expected.extend_from_slice(&block);
            assert_eq!(body.footprint(), before, "no reallocation while extending");
            assert_eq!(&body[..], &expected[..]);
            assert_eq!(body.as_ptr() as usize % BODY_ALIGN, 0);
            assert!(body.footprint() < expected.len() + BODY_ALIGN + 37);
        }
        let sized = Body::with_capacity(1000).unwrap();
        assert_eq!(sized.footprint(), 1000 + BODY_ALIGN - 1);
        let (buf, start) = Body::copy_of(b"abc").into_parts();
        assert_eq!(&buf[start..], b"abc");
        assert_eq!(buf[start..].as_ptr() as usize % BODY_ALIGN, 0);
    }

    #[test]
    fn taking_a_payload_moves_a_reassembled_body_and_copies_a_borrowed_one() {
        let body = Body::copy_of(b"upload");
        let at = body.as_ptr();
        let mut p = Payload::Reassembled(body);
        let taken = p.take();
        assert_eq!((taken.as_ptr(), &taken[..]), (at, &b"upload"[..]));
        assert!(p.is_empty());
        let mut b = Payload::Borrowed(b"one datagram");
        assert_eq!(&b.take()[..], b"one datagram");
    }
}
