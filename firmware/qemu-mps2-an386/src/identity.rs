//! The device's EDHOC identity, kept in the flash store: made on first start, so that clients
//! that pinned it still recognise the device after a reset or a power cut.

use alloc::format;
use alloc::string::{String, ToString};

use trevm_coap::Identity;
use trevm_slots::storage::SharedStore;

use crate::console::board;

/// The identity stored under `identity` in `store`, or a new one from `make`, stored there.
pub(crate) fn stored(
    store: &SharedStore,
    make: impl FnOnce() -> Identity,
) -> Result<Identity, String> {
    let stored = store
        .borrow_mut()
        .get("identity")
        .map_err(|e| format!("reading the identity: {e}"))?;
    if let Some(bytes) = stored {
        return Identity::from_bytes(&bytes).map_err(|e| e.to_string());
    }
    let identity = make();
    store
        .borrow_mut()
        .put("identity", &identity.to_bytes())
        .map_err(|e| format!("storing the identity: {e}"))?;
    board("coap: made this device's identity and kept it in the flash store");
    Ok(identity)
}
