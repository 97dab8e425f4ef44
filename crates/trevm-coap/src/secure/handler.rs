//! coapcore as the security layer drives it: the handler it wraps ([`Deferred`], which copies the
//! inner request out and writes back the response the server made meanwhile), the policy in the
//! shape coapcore asks for it ([`Config`], [`Claims`]) and the device's RNG shared between
//! coapcore and each handshake's crypto.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use coap_handler::Handler;
use coap_message::{
    Code as _, MinimalWritableMessage, MutableWritableMessage, OptionNumber as _, ReadableMessage,
};

use super::bound::BoundScope;
use crate::message::Message;
use crate::policy::Scope;
use crate::server::TEXT_PLAIN;

/// The EDHOC crypto provider: RustCrypto, as Ariel OS uses, with a fresh ChaCha20 stream per
/// handshake seeded from the device's RNG, guarded against the public keys that make it panic.
pub(super) type Crypto =
    super::crypto::GuardedCrypto<lakers_crypto_rustcrypto::Crypto<rand_chacha::ChaCha20Rng>>;

/// The device's RNG (rand_core 0.9, what Ariel OS hands out), shared between coapcore and the
/// seeding of each handshake's crypto.
pub type DeviceRng = Box<dyn rand_core::CryptoRng + Send>;

#[derive(Clone)]
pub(super) struct SharedRng(pub(super) Arc<critical_section::Mutex<RefCell<DeviceRng>>>);

impl rand_core::RngCore for SharedRng {
    fn next_u32(&mut self) -> u32 {
        critical_section::with(|cs| self.0.borrow_ref_mut(cs).next_u32())
    }
    fn next_u64(&mut self) -> u64 {
        critical_section::with(|cs| self.0.borrow_ref_mut(cs).next_u64())
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        critical_section::with(|cs| self.0.borrow_ref_mut(cs).fill_bytes(dst))
    }
}

impl rand_core::CryptoRng for SharedRng {}

/// What one request left between the two halves.
#[derive(Default)]
pub(super) struct Slot {
    /// The inner request coapcore let through (decrypted and authorized).
    pub(super) request: Option<Message>,
    /// The server's response to it.
    pub(super) response: Option<Message>,
}

pub(super) type SlotCell = Arc<critical_section::Mutex<RefCell<Slot>>>;

/// The handler coapcore wraps: copies the inner request out, and writes back the response the
/// server put in the slot meanwhile. The second field bounds the decrypted request's length (see
/// `inner.rs`).
pub(super) struct Deferred(pub(super) SlotCell, pub(super) Arc<AtomicUsize>);

impl Handler for Deferred {
    type RequestData = ();
    type ExtractRequestError = core::convert::Infallible;
    type BuildResponseError<M: MinimalWritableMessage> = M::UnionError;

    fn extract_request_data<M: ReadableMessage>(
        &mut self,
        request: &M,
    ) -> Result<(), Self::ExtractRequestError> {
        let Some((options, payload)) = super::inner::read(request, self.1.load(Ordering::Relaxed))
        else {
            // Malformed inside OSCORE: answered (protected) without the resources.
            let refusal = text(
                crate::message::code::BAD_OPTION,
                "malformed options inside OSCORE",
            );
            critical_section::with(|cs| self.0.borrow_ref_mut(cs).response = Some(refusal));
            return Ok(());
        };
        let copy = Message {
            code: request.code().into(),
            options,
            payload,
            ..Default::default()
        };
        critical_section::with(|cs| self.0.borrow_ref_mut(cs).request = Some(copy));
        Ok(())
    }

    fn estimate_length(&mut self, _: &()) -> usize {
        crate::server::ServerLimits::default().max_block + 64
    }

    fn build_response<M: MutableWritableMessage>(
        &mut self,
        response: &mut M,
        (): (),
    ) -> Result<(), M::UnionError> {
        let taken = critical_section::with(|cs| self.0.borrow_ref_mut(cs).response.take());
        let mut out = taken.unwrap_or_else(|| Message {
            code: crate::message::code::INTERNAL_SERVER_ERROR,
            ..Default::default()
        });
        // OSCORE needs the options in ascending order; a stable sort keeps repeated ones in order.
        out.options.sort_by_key(|(n, _)| *n);
        // liboscore panics when the options leave no room in the response buffer; ours are
        // short (Content-Format, Block, Max-Age, Location), so this only guards a future bug.
        let option_bytes: usize = out.options.iter().map(|(_, v)| v.len() + 3).sum();
        if option_bytes > MAX_RESPONSE_OPTIONS {
            out = text(
                crate::message::code::INTERNAL_SERVER_ERROR,
                "response options too long",
            );
        }
        response.set_code(M::Code::new(out.code)?);
        for (number, value) in &out.options {
            response.add_option(M::OptionNumber::new(*number)?, value)?;
        }
        if !out.payload.is_empty() {
            response.set_payload(&out.payload)?;
        }
        Ok(())
    }
}

/// Copies a `coap-message` message (e.g. one OSCORE decrypted) into an owned [`Message`]: its
/// code, options in order and payload (type, ID and token stay the outer message's). Options that
/// do not parse (liboscore's iterator yields option 65535 after an error, see `inner.rs`) end the
/// copy with one option numbered `u16::MAX` and no payload.
pub fn copy_message<M: ReadableMessage>(m: &M) -> Message {
    let (options, payload) = super::inner::read(m, usize::MAX)
        .unwrap_or_else(|| (alloc::vec![(u16::MAX, Vec::new())], Vec::new()));
    Message {
        code: m.code().into(),
        options,
        payload,
        ..Default::default()
    }
}

/// The claims of one security context: the scope its credential has.
#[derive(Debug)]
pub(super) struct Claims(BoundScope);

impl coapcore::GeneralClaims for Claims {
    type Scope = BoundScope;
    fn scope(&self) -> &BoundScope {
        &self.0
    }
    fn time_constraint(&self) -> coapcore::time::TimeConstraint {
        coapcore::time::TimeConstraint::unbounded()
    }
    fn is_important(&self) -> bool {
        // Keep the contexts of known clients when the pool is full; evict anonymous ones first.
        self.0.authenticated
    }
}

/// The policy and the device's own credential, as coapcore asks for them.
pub(super) struct Config {
    pub(super) own: (lakers::Credential, lakers::BytesP256ElemLen),
    pub(super) peers: Vec<(lakers::Credential, Scope)>,
    pub(super) unauthenticated: Option<Scope>,
    pub(super) refused_authenticated: Arc<AtomicBool>,
    /// Set when message 3 named a client the policy knows (see [`contexts`]).
    pub(super) known_handshake: Arc<AtomicBool>,
    /// The most bytes the request being handled can hold once decrypted (see `inner.rs`).
    pub(super) plaintext_bound: Arc<AtomicUsize>,
}

impl Config {
    fn bind(&self, scope: &Scope, authenticated: bool) -> Claims {
        Claims(BoundScope {
            scope: scope.clone(),
            authenticated,
            refused_authenticated: self.refused_authenticated.clone(),
            plaintext_bound: self.plaintext_bound.clone(),
        })
    }
}

impl coapcore::seccfg::ServerSecurityConfig for Config {
    const PARSES_TOKENS: bool = false;
    const HAS_EDHOC: bool = true;
    type GeneralClaims = Claims;

    fn own_edhoc_credential(&self) -> Option<(lakers::Credential, lakers::BytesP256ElemLen)> {
        Some(self.own)
    }

    fn expand_id_cred_x(&self, id_cred_x: lakers::IdCred) -> Option<(lakers::Credential, Claims)> {
        for (cred, scope) in &self.peers {
            let by_kid = cred.by_kid().is_ok_and(|k| k == id_cred_x);
            let by_value = cred.by_value().is_ok_and(|v| v == id_cred_x);
            if by_kid || by_value {
                self.known_handshake.store(true, Ordering::Relaxed);
                return Some((*cred, self.bind(scope, true)));
            }
        }
        // An unknown client that sent its credential by value talks OSCORE, but gets only what
        // unauthenticated clients get (as Ariel OS does).
        let unknown = id_cred_x.get_ccs()?;
        let scope = self.unauthenticated.as_ref()?;
        Some((unknown, self.bind(scope, false)))
    }

    fn nosec_authorization(&self) -> Option<Claims> {
        self.unauthenticated.as_ref().map(|s| self.bind(s, false))
    }

    fn render_not_allowed<M: MutableWritableMessage>(
        &self,
        message: &mut M,
    ) -> Result<(), coapcore::seccfg::NotAllowedRenderingFailed> {
        let authenticated = self.refused_authenticated.swap(false, Ordering::Relaxed);
        let (code, text): (u8, &[u8]) = if authenticated {
            (
                crate::message::code::FORBIDDEN,
                b"not in this client's scope",
            )
        } else {
            (
                crate::message::code::UNAUTHORIZED,
                b"authenticate with EDHOC + OSCORE as a client the device's policy knows",
            )
        };
        let failed = |_| coapcore::seccfg::NotAllowedRenderingFailed;
        message.set_code(M::Code::new(code).map_err(failed)?);
        message
            .set_payload(text)
            .map_err(|_| coapcore::seccfg::NotAllowedRenderingFailed)
    }
}

pub(super) type Inner = coapcore::OscoreEdhocHandler<
    Deferred,
    Crypto,
    Box<dyn Fn() -> Crypto + Send>,
    Config,
    SharedRng,
    coapcore::time::TimeUnknown,
>;

/// Room for one protected response: a block of 1024 bytes, its options and OSCORE's overhead.
pub(super) const RESPONSE_ROOM: usize = 1400;

/// The most option bytes a protected response may carry (liboscore panics when they fill its
/// buffer).
const MAX_RESPONSE_OPTIONS: usize = 512;

/// A refusal with a text diagnostic (RFC 7252 §5.5.2), unprotected.
pub(super) fn text(code: u8, why: &str) -> Message {
    let mut m = Message {
        code,
        payload: why.as_bytes().to_vec(),
        ..Default::default()
    };
    m.add_uint_option(crate::message::opt::CONTENT_FORMAT, TEXT_PLAIN);
    m
}
