//! OSCORE (RFC 8613) on the client's side, with `liboscore`: each request the client builds (code,
//! Uri-Path, Block1/Block2, payload) becomes the *inner* message, and the outer one carries only
//! the OSCORE option and an outer POST/FETCH code. Block-wise transfer is therefore inside OSCORE
//! (class E options): each block is its own protected request with its own sequence number, as
//! aiocoap does it.
//!
//! The first protected request after EDHOC is the EDHOC + OSCORE combined request (RFC 9668): it
//! carries the empty EDHOC option and `message_3 ‖ ciphertext` as its payload.
//!
//! Retransmissions resend the same protected bytes, so they reuse the sequence number, as RFC 8613
//! wants.

use alloc::string::ToString as _;
use alloc::vec;
use alloc::vec::Vec;

use coap_message::MinimalWritableMessage as _;
use coap_message_implementations::inmemory_write;

use super::error::OscoreError;
use crate::message::{Message, encode_options_payload, parse_options_payload};

/// The OSCORE option (RFC 8613).
pub const OPT_OSCORE: u16 = 9;
/// The EDHOC option (RFC 9668): marks the combined EDHOC + OSCORE request.
pub const OPT_EDHOC: u16 = 21;
/// Room for one protected request: the largest inner message (a 1024-byte block and its options)
/// plus OSCORE's option and tag.
pub const PROTECTED_BUF: usize = 2048;

/// An OSCORE security context with a server, made by EDHOC ([`super::edhoc`]) or from a
/// context the caller derived.
pub struct Session {
    ctx: liboscore::PrimitiveContext,
    /// EDHOC message 3 (already a CBOR byte string), for the first protected request.
    message_3: Option<Vec<u8>>,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("combined_pending", &self.message_3.is_some())
            .finish_non_exhaustive()
    }
}

/// What a protected request needs to unprotect its response.
pub struct Correlation {
    id: liboscore::raw::oscore_requestid_t,
    /// Whether the request carried EDHOC message 3.
    combined: bool,
}

impl core::fmt::Debug for Correlation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Correlation")
            .field("combined", &self.combined)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session on `ctx`; with `message_3` (a CBOR byte string), the first protected request
    /// is the combined EDHOC + OSCORE request carrying it.
    pub fn new(ctx: liboscore::PrimitiveContext, message_3: Option<Vec<u8>>) -> Session {
        Session { ctx, message_3 }
    }

    /// Protects `inner` (its code, options and payload; type, ID and token are the outer
    /// message's business). The first call after EDHOC makes the combined request.
    pub fn protect(&mut self, inner: &Message) -> Result<(Message, Correlation), OscoreError> {
        // liboscore wants options in ascending order.
        let mut options = inner.options.clone();
        options.sort_by_key(|(n, _)| *n);
        let mut buf = vec![0u8; PROTECTED_BUF];
        let mut outer_code = 0u8;
        let mut msg = inmemory_write::Message::new(&mut outer_code, &mut buf);
        let (id, written) = liboscore::protect_request(&mut msg, &mut self.ctx, |m| {
            m.set_code(inner.code);
            for (number, value) in &options {
                m.add_option(*number, value)
                    .map_err(|e| alloc::format!("option {number}: {e:?}"))?;
            }
            if !inner.payload.is_empty() {
                m.set_payload(&inner.payload)
                    .map_err(|e| alloc::format!("payload: {e:?}"))?;
            }
            Ok::<(), alloc::string::String>(())
        })
        .map_err(|e| OscoreError::Protect(alloc::format!("{e:?}")))?;
        written.map_err(OscoreError::Protect)?;
        let len = msg.finish();
        let (mut options, mut payload) =
            parse_options_payload(&buf[..len]).map_err(|e| OscoreError::Protect(e.to_string()))?;
        let combined = self.message_3.is_some();
        if let Some(message_3) = self.message_3.take() {
            options.push((OPT_EDHOC, Vec::new()));
            payload = [message_3, payload].concat();
        }
        let outer = Message {
            code: outer_code,
            options,
            payload,
            ..Default::default()
        };
        Ok((outer, Correlation { id, combined }))
    }

    /// Unprotects the response to a request [`Session::protect`]ed with `correlation`. An
    /// unprotected error (4.xx, 5.xx: the server could not or would not use the context, e.g. an
    /// unknown client) is passed on as it is, without options; an unprotected success is refused,
    /// and so is any unprotected answer to EDHOC message 3 (the handshake failed).
    pub fn unprotect(
        &mut self,
        outer: Message,
        correlation: &mut Correlation,
    ) -> Result<Message, OscoreError> {
        let Some(option) = outer.option(OPT_OSCORE) else {
            if correlation.combined {
                return Err(OscoreError::Message3Refused { code: outer.code });
            }
            if outer.code >> 5 >= 4 {
                return Ok(Message {
                    code: outer.code,
                    payload: outer.payload,
                    ..Default::default()
                });
            }
            return Err(OscoreError::Unprotected { code: outer.code });
        };
        let option = liboscore::OscoreOption::parse(option).map_err(|_| OscoreError::BadOption)?;
        let mut outer_code = outer.code;
        let mut tail = encode_options_payload(&outer.options, &outer.payload);
        let mut msg = inmemory_write::Message::new_from_existing(&mut outer_code, &mut tail);
        let inner = liboscore::unprotect_response(
            &mut msg,
            &mut self.ctx,
            option,
            &mut correlation.id,
            crate::secure::copy_message,
        )
        .map_err(|e| OscoreError::Undecryptable(alloc::format!("{e:?}")))?;
        if inner.options.iter().any(|(n, _)| *n == u16::MAX) {
            return Err(OscoreError::MalformedInner);
        }
        Ok(inner)
    }
}
