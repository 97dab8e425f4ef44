//! What an observer's notifications need of the OSCORE request that registered it: coapcore's
//! request state, duplicated.
//!
//! coapcore 0.1 answers one request with one response; it has no notifications. A notification
//! is a response to the registering request, protected with the device's own Partial IV (RFC 8613
//! §8.3, and the Observe option outside and inside: liboscore does both). So the registering
//! request's state is kept — the index of its security context in coapcore's pool and liboscore's
//! correlation data — and each notification goes through coapcore's `build_response` with a
//! duplicate of it, as a response to that request would.
//!
//! The duplicate's correlation says "not the first use" (as liboscore's own
//! `oscore_requestid_clone` does): liboscore then takes a fresh sequence number for every
//! notification instead of reusing the request's nonce, which only the first response may.
//! coapcore names those types `doc(hidden)`; the version is pinned in Cargo.toml, and the tests
//! of `secure` check that a client decrypts notifications.

use coap_handler::Handler;
use coapcore::{AuthorizationChecked, OrInner, OwnRequestData};
use liboscore::raw::oscore_requestid_t;

use super::handler::Inner;

/// coapcore's state of one request.
pub(super) type RequestData = <Inner as Handler>::RequestData;

/// What the notifications of one observer need (see the module).
pub struct Observation {
    /// coapcore's state of the registering request, as a template for duplicates.
    pub(super) template: RequestData,
    /// Its security context's kid index and generation then (`None`: not protected).
    pub(super) generation: Option<(usize, u16)>,
}

impl core::fmt::Debug for Observation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Observation")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// A duplicate of coapcore's state of a request that was let through (protected with OSCORE,
/// or unprotected and allowed), for one more response to it: `None` for anything else (an
/// EDHOC message, a refused request).
pub(super) fn duplicate(data: &RequestData) -> Option<RequestData> {
    match data {
        OrInner::Own(OwnRequestData::EdhocOscoreRequest {
            extracted: AuthorizationChecked::Allowed(Ok(())),
            ..
        }) => {
            // coapcore's `COwn` (the context's index in its pool) is a private type: the state
            // cannot be rebuilt field by field, only copied whole.
            #[allow(unsafe_code)]
            // SAFETY: `data` is a valid, initialised value, and the variant just matched holds
            // plain data only: `COwn` is a `Copy` one-byte index, `oscore_requestid_t` a
            // `repr(C)` struct of bytes and a bool, `Allowed(Ok(()))` nothing. No part of it
            // owns memory or has a destructor, so a bitwise copy is an independent value (as
            // `Copy` would make it) and dropping both the copy and the original is sound.
            let mut copy = unsafe { core::ptr::read(data) };
            if let OrInner::Own(OwnRequestData::EdhocOscoreRequest { correlation, .. }) = &mut copy
            {
                // The request's nonce was used by the registration's response.
                let _: &mut oscore_requestid_t = correlation;
                correlation.is_first_use = false;
            }
            Some(copy)
        }
        OrInner::Inner(AuthorizationChecked::Allowed(())) => {
            Some(OrInner::Inner(AuthorizationChecked::Allowed(())))
        }
        _ => None,
    }
}

/// Whether `data` is an OSCORE-protected request's.
pub(super) fn is_protected(data: &RequestData) -> bool {
    matches!(
        data,
        OrInner::Own(OwnRequestData::EdhocOscoreRequest { .. })
    )
}
