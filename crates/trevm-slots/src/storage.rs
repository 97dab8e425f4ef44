//! Where a device keeps what it was given: the sandbox's capsules, the persistent slot's capsule
//! and the anti-rollback ledger of each, in one [`CapsuleStore`] (files on the native board, NOR
//! flash on a device: see `trevm-store`), so they survive a restart or a power cut.
//!
//! Keys: `sandbox/<name>` (the capsule bytes as uploaded, signature included),
//! `ledger/sandbox`, `persistent`, `ledger/persistent`, `ledger/ephemeral` (a [`VersionLedger`]
//! as bytes; the ephemeral slot's capsules are not stored).
//!
//! Order of writes, so that a crash between any two leaves a device that starts: the capsule
//! first, then the ledger. A crash in between leaves a ledger one version behind the stored
//! capsule, which is newer and so restores (and is recorded again) at the next start. The
//! opposite order could leave a ledger ahead of the capsule, which would then be refused as a
//! rollback. Only after both writes does the request succeed, so a 2.01/2.04 means durable.

use alloc::boxed::Box;
use alloc::format;
use alloc::rc::Rc;
use alloc::string::String;
use core::cell::RefCell;

use trevm::VersionLedger;
pub use trevm_store::{CapsuleStore, StoreError};

/// One store, shared by the sandbox and the persistent slot (single-threaded, like the server).
pub type SharedStore = Rc<RefCell<Box<dyn CapsuleStore>>>;

/// Wraps `store` for [`Sandbox::restore`](crate::Sandbox::restore) and
/// [`Persistent::restore`](crate::Persistent::restore).
pub fn shared(store: impl CapsuleStore + 'static) -> SharedStore {
    Rc::new(RefCell::new(Box::new(store)))
}

/// The store key of sandbox capsule `name`.
pub(crate) fn sandbox_key(name: &str) -> String {
    format!("sandbox/{name}")
}

/// The key prefix of sandbox capsules.
pub(crate) const SANDBOX_PREFIX: &str = "sandbox/";
/// The key of the sandbox's ledger.
pub(crate) const SANDBOX_LEDGER: &str = "ledger/sandbox";
/// The key of the persistent slot's capsule.
pub(crate) const PERSISTENT: &str = "persistent";
/// The key of the persistent slot's ledger.
pub(crate) const PERSISTENT_LEDGER: &str = "ledger/persistent";
/// The ephemeral slot's ledger (its capsules are not stored).
pub(crate) const EPHEMERAL_LEDGER: &str = "ledger/ephemeral";

/// The ledger stored under `key` (empty if none); an error for one that does not read back,
/// since forgetting it would allow rollbacks.
pub(crate) fn load_ledger(store: &SharedStore, key: &str) -> Result<VersionLedger, String> {
    match store.borrow_mut().get(key) {
        Ok(None) => Ok(VersionLedger::new()),
        Ok(Some(bytes)) => VersionLedger::from_bytes(&bytes).ok_or_else(|| {
            format!("the stored anti-rollback ledger `{key}` is unreadable; refusing to forget it")
        }),
        Err(e) => Err(format!("reading `{key}` from the store: {e}")),
    }
}

/// Writes `value` under `key`, with a message fit for a 5.00 on failure.
pub(crate) fn put(store: &SharedStore, key: &str, value: &[u8]) -> Result<(), String> {
    store
        .borrow_mut()
        .put(key, value)
        .map_err(|e| format!("the device could not store `{key}`: {e}"))
}

/// Removes `key`, with a message fit for a 5.00 on failure.
pub(crate) fn remove(store: &SharedStore, key: &str) -> Result<(), String> {
    store
        .borrow_mut()
        .remove(key)
        .map(drop)
        .map_err(|e| format!("the device could not remove `{key}`: {e}"))
}
