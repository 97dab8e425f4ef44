//! Who may talk to the device: EDHOC (RFC 9528) key exchange, OSCORE (RFC 8613) object security
//! and an access policy, on Ariel OS's own `coapcore` (which brings `lakers` for EDHOC and
//! `liboscore` for OSCORE), so that a device and its clients are set up as on Ariel OS.
//!
//! `coapcore` is a synchronous `coap_handler::Handler`, while trevm's resources await capsule
//! runs. The seam ([`Security::begin`], then the server's own async exchange, then
//! [`Security::finish`]) splits one request in two synchronous halves around the await:
//! 1. `begin` hands the request to coapcore, which runs EDHOC, removes OSCORE, checks the scope
//!    and gives the inner request to a deferred handler that only copies it out;
//! 2. the server runs the inner request through Block1/Block2 and the resources (async);
//! 3. `finish` gives the inner response back to coapcore, which protects it with OSCORE.
//!
//! Requests are handled one at a time, so no security context changes between the halves. The
//! reasons and the alternatives are in `docs/coap-security.md`.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::sync::atomic::{AtomicBool, Ordering};

use coap_handler::Handler;
use coap_message::error::RenderableOnMinimal as _;
use coap_message::{
    Code as _, MessageOption as _, MinimalWritableMessage, MutableWritableMessage,
    OptionNumber as _, ReadableMessage,
};
use coap_message_implementations::{inmemory, inmemory_write};

use crate::message::{Message, parse_options_payload};

mod identity;
mod policy;

pub use identity::{Identity, IdentityError};
use policy::BoundScope;
pub use policy::{Peer, Policy, Rule, Scope, methods};

/// The EDHOC crypto provider: RustCrypto, as Ariel OS uses, with a fresh ChaCha20 stream per
/// handshake seeded from the device's RNG.
type Crypto = lakers_crypto_rustcrypto::Crypto<rand_chacha::ChaCha20Rng>;

/// The device's RNG (rand_core 0.9, what Ariel OS hands out), shared between coapcore and the
/// seeding of each handshake's crypto.
pub type DeviceRng = Box<dyn rand_core::CryptoRng + Send>;

#[derive(Clone)]
struct SharedRng(Arc<critical_section::Mutex<RefCell<DeviceRng>>>);

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
struct Slot {
    /// The inner request coapcore let through (decrypted and authorized).
    request: Option<Message>,
    /// The server's response to it.
    response: Option<Message>,
}

type SlotCell = Arc<critical_section::Mutex<RefCell<Slot>>>;

/// The handler coapcore wraps: copies the inner request out, and writes back the response the
/// server put in the slot meanwhile.
struct Deferred(SlotCell);

impl Handler for Deferred {
    type RequestData = ();
    type ExtractRequestError = core::convert::Infallible;
    type BuildResponseError<M: MinimalWritableMessage> = M::UnionError;

    fn extract_request_data<M: ReadableMessage>(
        &mut self,
        request: &M,
    ) -> Result<(), Self::ExtractRequestError> {
        let copy = Message {
            code: request.code().into(),
            options: request
                .options()
                .map(|o| (o.number(), o.value().to_vec()))
                .collect(),
            payload: request.payload().to_vec(),
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
/// code, options in order and payload (type, ID and token stay the outer message's).
pub fn copy_message<M: ReadableMessage>(m: &M) -> Message {
    Message {
        code: m.code().into(),
        options: m
            .options()
            .map(|o| (o.number(), o.value().to_vec()))
            .collect(),
        payload: m.payload().to_vec(),
        ..Default::default()
    }
}

/// The claims of one security context: the scope its credential has.
#[derive(Debug)]
struct Claims(BoundScope);

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
struct Config {
    own: (lakers::Credential, lakers::BytesP256ElemLen),
    peers: Vec<(lakers::Credential, Scope)>,
    unauthenticated: Option<Scope>,
    refused_authenticated: Arc<AtomicBool>,
}

impl Config {
    fn bind(&self, scope: &Scope, authenticated: bool) -> Claims {
        Claims(BoundScope {
            scope: scope.clone(),
            authenticated,
            refused_authenticated: self.refused_authenticated.clone(),
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

/// A policy entry was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError(pub alloc::string::String);

impl core::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::error::Error for PolicyError {}

type Inner = coapcore::OscoreEdhocHandler<
    Deferred,
    Crypto,
    Box<dyn Fn() -> Crypto + Send>,
    Config,
    SharedRng,
    coapcore::time::TimeUnknown,
>;

/// Room for one protected response: a block of 1024 bytes, its options and OSCORE's overhead.
const RESPONSE_ROOM: usize = 1400;

/// The security layer in front of a [`Server`](crate::Server)'s resources.
pub struct Security {
    inner: Inner,
    slot: SlotCell,
    identity: Identity,
}

impl core::fmt::Debug for Security {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Security")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

/// What [`Security::begin`] left for [`Security::finish`]: coapcore's state of one request.
pub struct Pending(
    Result<<Inner as Handler>::RequestData, <Inner as Handler>::ExtractRequestError>,
);

impl core::fmt::Debug for Pending {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Pending")
    }
}

impl Security {
    /// A security layer for a device with `identity`, admitting clients by `policy`; `rng` is
    /// the device's cryptographic RNG.
    pub fn new(identity: Identity, policy: &Policy, rng: DeviceRng) -> Result<Self, PolicyError> {
        let own = identity.credential()?;
        let mut peers = Vec::new();
        for (i, peer) in policy.peers.iter().enumerate() {
            let cred = lakers::Credential::parse_ccs(&peer.ccs).map_err(|e| {
                PolicyError(alloc::format!(
                    "peer {}: its credential is not a CCS with a P-256 COSE_Key ({e:?})",
                    i + 1
                ))
            })?;
            peers.push((cred, peer.scope.clone()));
        }
        let config = Config {
            own,
            peers,
            unauthenticated: policy.unauthenticated.clone(),
            refused_authenticated: Arc::new(AtomicBool::new(false)),
        };
        let rng = SharedRng(Arc::new(critical_section::Mutex::new(RefCell::new(rng))));
        let seeds = rng.clone();
        let crypto: Box<dyn Fn() -> Crypto + Send> = Box::new(move || {
            use rand_chacha::rand_core::SeedableRng as _;
            let mut seed = [0u8; 32];
            rand_core::RngCore::fill_bytes(&mut seeds.clone(), &mut seed);
            lakers_crypto_rustcrypto::Crypto::new(rand_chacha::ChaCha20Rng::from_seed(seed))
        });
        let slot: SlotCell = Arc::new(critical_section::Mutex::new(RefCell::new(Slot::default())));
        let inner = coapcore::OscoreEdhocHandler::new(
            Deferred(slot.clone()),
            config,
            crypto,
            rng,
            coapcore::time::TimeUnknown,
        );
        Ok(Security {
            inner,
            slot,
            identity,
        })
    }

    /// The device's identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// First half of a request: `code` and `tail` (the request's options and payload, in CoAP
    /// encoding, as they came over the network). Returns coapcore's state and, if coapcore let
    /// a request through (decrypted, authorized), that inner request for the server to answer.
    pub fn begin(&mut self, code: u8, tail: &[u8]) -> (Pending, Option<Message>) {
        critical_section::with(|cs| *self.slot.borrow_ref_mut(cs) = Slot::default());
        let request = inmemory::Message::new(code, tail);
        let extracted = self.inner.extract_request_data(&request);
        let inner = critical_section::with(|cs| self.slot.borrow_ref_mut(cs).request.take());
        (Pending(extracted), inner)
    }

    /// Second half: the server's response to the inner request (if there was one) goes back
    /// through coapcore, protected if the request was. Returns the response to send.
    pub fn finish(&mut self, pending: Pending, response: Option<Message>) -> Message {
        critical_section::with(|cs| self.slot.borrow_ref_mut(cs).response = response);
        let mut code = 0u8;
        let mut buf = alloc::vec![0u8; RESPONSE_ROOM];
        let mut w = inmemory_write::Message::new(&mut code, &mut buf);
        let rendered = match pending.0 {
            Ok(data) => match self.inner.build_response(&mut w, data) {
                Ok(()) => Ok(()),
                Err(e) => {
                    w.reset();
                    e.render(&mut w).map_err(drop)
                }
            },
            Err(e) => e.render(&mut w).map_err(drop),
        };
        let n = w.finish();
        let internal = || Message {
            code: crate::message::code::INTERNAL_SERVER_ERROR,
            ..Default::default()
        };
        if rendered.is_err() {
            return internal();
        }
        match buf.get(..n).map(parse_options_payload) {
            Some(Ok((options, payload))) => Message {
                code,
                options,
                payload,
                ..Default::default()
            },
            _ => internal(),
        }
    }
}
