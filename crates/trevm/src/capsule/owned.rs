//! Capsule bytes in a heap buffer of their own ([`OwnedBytes`]), which can become the capsule's
//! code memory: [`Runtime::load`](crate::Runtime::load) hands Wasmtime the payload in place
//! instead of a copy, and keeps the buffer alive for as long as anything Wasmtime made of it.
//!
//! # Why this is sound
//!
//! Wasmtime's `Component::deserialize_raw` uses the memory it is given as the component's code
//! for as long as the component, or any store instantiated from it, lives; the memory must not be
//! moved, freed or written meanwhile, and Wasmtime registers it by address (registering the same
//! address twice panics). An [`OwnedBytes`] meets that:
//!
//! - **never moved**: the bytes are the heap allocation of a `Vec<u8>` that is never grown or
//!   shrunk again; moving the `Vec` (or the `Arc` around it) moves its pointer, not the bytes;
//! - **never written**: once made, an `OwnedBytes` is only ever behind an `Arc`, which hands out
//!   shared references only; it has no interior mutability over the bytes, and trevm never uses
//!   `Arc::get_mut`/`Arc::try_unwrap` on it;
//! - **never freed too early**: every trevm value holding a Wasmtime object made from the bytes
//!   holds a clone of the `Arc` too, declared after that object so it drops last:
//!   [`LoadedCapsule`](crate::LoadedCapsule) (the `Component`) and [`Instance`](crate::Instance)
//!   (the `Store`, which keeps its own references to the component's code). Nothing else can get
//!   at those Wasmtime objects — except through `trevm::escape_hatch` (a `Component` cloned, a
//!   `Store` swapped out), so with the `escape-hatch` feature owned bytes are always copied;
//! - **registered once**: [`OwnedBytes::lend`] hands the bytes to Wasmtime at most once; a later
//!   load of the same buffer copies.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

#[cfg(feature = "wasmtime")]
use super::layout::CODE_ALIGN;

/// A capsule's bytes (`buf[start..]`) in a buffer nobody else owns, shared by the
/// [`Capsule`](super::Capsule) and what Wasmtime loaded from them in place.
pub(crate) struct OwnedBytes {
    buf: Vec<u8>,
    start: usize,
    /// Whether Wasmtime was handed the bytes already.
    lent: AtomicBool,
}

impl OwnedBytes {
    /// `buf[start..]` (`start` ≤ `buf.len()`, checked by the caller).
    pub(crate) fn new(buf: Vec<u8>, start: usize) -> Self {
        OwnedBytes {
            buf,
            start,
            lent: AtomicBool::new(false),
        }
    }

    /// The capsule's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or_default()
    }

    /// Whether `payload`, a part of these bytes, may be handed to Wasmtime as code memory now:
    /// aligned to [`CODE_ALIGN`], not lent before (marked lent from now on), and the build has no
    /// escape hatch (see the [module docs](self)).
    #[cfg(feature = "wasmtime")]
    pub(crate) fn lend(&self, payload: &[u8]) -> bool {
        !cfg!(feature = "escape-hatch")
            && (payload.as_ptr() as usize).is_multiple_of(CODE_ALIGN)
            && !self.lent.swap(true, Ordering::AcqRel)
    }
}

impl core::fmt::Debug for OwnedBytes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OwnedBytes")
            .field("len", &self.bytes().len())
            .field("lent", &self.lent.load(Ordering::Relaxed))
            .finish()
    }
}
