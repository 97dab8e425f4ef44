//! [`FlashStore`]: chunked values with a commit item, on sequential-storage's map.
//!
//! The format and the power-loss argument are in the crate docs.
//!
//! - `format.rs`: the items' keys, the commit record, the index entry;
//! - `blocking.rs`: sequential-storage's async API over a blocking flash;
//! - `store.rs`: [`FlashStore`] itself and its `CapsuleStore` operations;
//! - `recovery.rs`: the scan at `open` that finishes or undoes what a crash interrupted.

mod blocking;
mod format;
mod recovery;
mod store;

pub use store::FlashStore;
