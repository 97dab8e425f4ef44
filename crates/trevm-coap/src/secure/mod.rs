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
//! Many requests can be between the halves at once (capsule runs are awaited while the server
//! receives); a response whose security context was replaced meanwhile is not protected with the
//! newcomer's keys ([`Security::finish`]). Before coapcore sees a request, it is screened for the
//! input lakers, coapcore and liboscore panic, hang or lose state on (`screen.rs`, `crypto.rs`,
//! `inner.rs`, `contexts.rs`; the table is in `docs/coap-security.md`, "Peer input").

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use coap_handler::Handler;
use coap_message::error::RenderableOnMinimal as _;
use coap_message::{
    Code as _, MinimalWritableMessage, MutableWritableMessage, OptionNumber as _, ReadableMessage,
};
use coap_message_implementations::{inmemory, inmemory_write};

use crate::message::{Message, parse_options_payload};

mod contexts;
mod crypto;
mod identity;
mod inner;
mod policy;
mod screen;

pub use crypto::{is_p256_scalar, is_p256_x};
pub use identity::{Identity, IdentityError};
use policy::BoundScope;
pub use policy::{Peer, Policy, Rule, Scope, methods};

/// The EDHOC crypto provider: RustCrypto, as Ariel OS uses, with a fresh ChaCha20 stream per
/// handshake seeded from the device's RNG, guarded against the public keys that make it panic.
type Crypto = crypto::GuardedCrypto<lakers_crypto_rustcrypto::Crypto<rand_chacha::ChaCha20Rng>>;

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
/// server put in the slot meanwhile. The second field bounds the decrypted request's length (see
/// `inner.rs`).
struct Deferred(SlotCell, Arc<AtomicUsize>);

impl Handler for Deferred {
    type RequestData = ();
    type ExtractRequestError = core::convert::Infallible;
    type BuildResponseError<M: MinimalWritableMessage> = M::UnionError;

    fn extract_request_data<M: ReadableMessage>(
        &mut self,
        request: &M,
    ) -> Result<(), Self::ExtractRequestError> {
        let Some((options, payload)) = inner::read(request, self.1.load(Ordering::Relaxed)) else {
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
    let (options, payload) = inner::read(m, usize::MAX)
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
    /// Set when message 3 named a client the policy knows (see [`contexts`]).
    known_handshake: Arc<AtomicBool>,
    /// The most bytes the request being handled can hold once decrypted (see `inner.rs`).
    plaintext_bound: Arc<AtomicUsize>,
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
    known_handshake: Arc<AtomicBool>,
    plaintext_bound: Arc<AtomicUsize>,
    /// How often a security context was made for each kid coapcore hands out (see
    /// [`Security::finish`]).
    generations: [u16; KIDS],
    known: contexts::KnownContexts,
    /// The longest EDHOC message 3 taken ([`screen::max_message_3`] for this policy).
    max_message_3: usize,
}

impl core::fmt::Debug for Security {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Security")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

/// What [`Security::begin`] left for [`Security::finish`]: coapcore's state of one request, or
/// the answer to a request refused before coapcore saw it.
pub struct Pending(Passed);

enum Passed {
    /// coapcore's state, and for a protected request the kid's index and its generation then.
    Coapcore(
        Result<<Inner as Handler>::RequestData, <Inner as Handler>::ExtractRequestError>,
        Option<(usize, u16)>,
    ),
    Refused(Message),
}

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
            // lakers' `Credential::by_value` unwraps a buffer of 190 bytes.
            if peer.ccs.len() > MAX_CCS {
                return Err(PolicyError(alloc::format!(
                    "peer {}: its credential is {} bytes; at most {MAX_CCS} fit EDHOC",
                    i + 1,
                    peer.ccs.len()
                )));
            }
            if !cred.public_key().is_some_and(|x| is_p256_x(&x)) {
                return Err(PolicyError(alloc::format!(
                    "peer {}: its credential's key is not a point on P-256",
                    i + 1
                )));
            }
            peers.push((cred, peer.scope.clone()));
        }
        let known_handshake = Arc::new(AtomicBool::new(false));
        let plaintext_bound = Arc::new(AtomicUsize::new(0));
        let max_peer_ccs = policy.peers.iter().map(|p| p.ccs.len()).max().unwrap_or(0);
        let max_message_3 = screen::max_message_3(max_peer_ccs, policy.unauthenticated.is_some());
        let config = Config {
            own,
            peers,
            unauthenticated: policy.unauthenticated.clone(),
            refused_authenticated: Arc::new(AtomicBool::new(false)),
            known_handshake: known_handshake.clone(),
            plaintext_bound: plaintext_bound.clone(),
        };
        let rng = SharedRng(Arc::new(critical_section::Mutex::new(RefCell::new(rng))));
        let seeds = rng.clone();
        let crypto: Box<dyn Fn() -> Crypto + Send> = Box::new(move || {
            use rand_chacha::rand_core::SeedableRng as _;
            let mut seed = [0u8; 32];
            rand_core::RngCore::fill_bytes(&mut seeds.clone(), &mut seed);
            crypto::GuardedCrypto(lakers_crypto_rustcrypto::Crypto::new(
                rand_chacha::ChaCha20Rng::from_seed(seed),
            ))
        });
        let slot: SlotCell = Arc::new(critical_section::Mutex::new(RefCell::new(Slot::default())));
        let inner = coapcore::OscoreEdhocHandler::new(
            Deferred(slot.clone(), plaintext_bound.clone()),
            config,
            crypto,
            rng,
            coapcore::time::TimeUnknown,
        );
        Ok(Security {
            inner,
            slot,
            identity,
            known_handshake,
            plaintext_bound,
            generations: [0; KIDS],
            known: contexts::KnownContexts::default(),
            max_message_3,
        })
    }

    /// The device's identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// First half of a request: `request` as parsed, and `tail` (its options and payload in CoAP
    /// encoding, as they came over the network). Returns coapcore's state and, if
    /// coapcore let a request through (decrypted, authorized), that inner request for the server
    /// to answer. Input the libraries below would panic on, or that would cost a known client its
    /// security context, is refused here first (see `screen.rs`, `contexts.rs`).
    pub fn begin(&mut self, request: &Message, tail: &[u8]) -> (Pending, Option<Message>) {
        let kid = match self.screen(request, tail) {
            Ok(kid) => kid,
            Err(refusal) => return (Pending(Passed::Refused(refusal)), None),
        };
        critical_section::with(|cs| *self.slot.borrow_ref_mut(cs) = Slot::default());
        self.known_handshake.store(false, Ordering::Relaxed);
        // What coapcore hands on is no longer than this: the decrypted request is shorter than
        // the outer payload (ciphertext = plaintext + tag); an unprotected one is what came.
        let bound = if request.option(OPT_OSCORE).is_some() {
            request.payload.len()
        } else {
            tail.len()
        };
        self.plaintext_bound.store(bound, Ordering::Relaxed);
        let coap = inmemory::Message::new(request.code, tail);
        let extracted = self.inner.extract_request_data(&coap);
        let inner = critical_section::with(|cs| self.slot.borrow_ref_mut(cs).request.take());
        let index = kid.and_then(kid_index);
        if let Some(i) = index
            && request.option(OPT_EDHOC).is_some()
        {
            // Message 3 was (or may have been) processed for this kid (coapcore reads message 3
            // only from requests with the EDHOC option): whatever held it before is gone.
            self.generations[i] = self.generations[i].wrapping_add(1);
        }
        if let Some(kid) = kid
            && extracted.is_ok()
            && self.known_handshake.swap(false, Ordering::Relaxed)
            && let Some(retired) = self.known.established(kid)
        {
            self.retire(&retired);
        }
        let generation = index.map(|i| (i, self.generations[i]));
        (Pending(Passed::Coapcore(extracted, generation)), inner)
    }

    /// The checks of [`Security::begin`] before coapcore: `Err` is the answer to send; `Ok` has
    /// the kid of a protected request.
    fn screen<'r>(
        &mut self,
        request: &'r Message,
        tail: &[u8],
    ) -> Result<Option<&'r [u8]>, Message> {
        let bad = |why: screen::Refusal| text(crate::message::code::BAD_REQUEST, why);
        let bad_option = |why: screen::Refusal| text(crate::message::code::BAD_OPTION, why);
        if let Some(option) = request.option(OPT_OSCORE) {
            let kid = screen::oscore_option(option).map_err(bad_option)?;
            screen::outer_options(request.options.iter().map(|(n, _)| *n)).map_err(bad_option)?;
            let mut copied = tail.len();
            if request.option(OPT_EDHOC).is_some() {
                let m3 =
                    screen::combined_payload(&request.payload, self.max_message_3).map_err(bad)?;
                copied = copied.saturating_sub(m3);
            }
            // coapcore copies the request (without message 3) into a buffer of its own, and drops
            // the security context when it does not fit.
            if copied > screen::MAX_OSCORE_COPY {
                return Err(text(
                    crate::message::code::REQUEST_ENTITY_TOO_LARGE,
                    "OSCORE request too large for this device; use smaller blocks",
                ));
            }
            if let Some(kid) = kid {
                // coapcore moves the context it looks up to the front, whatever comes of it.
                self.known.touch(kid);
            }
            return Ok(kid);
        }
        if is_edhoc_message_1(request) {
            let m1 = request.payload.get(1..).unwrap_or_default();
            screen::message_1(m1).map_err(bad)?;
        }
        Ok(None)
    }

    /// Has coapcore drop the security context `kid` names (see [`contexts`]): a request naming it
    /// with the EDHOC option and a payload that is not message 3 makes coapcore take the context
    /// out of its pool and fail, before anything is decrypted. (The screen refuses such requests
    /// from peers; `hostile.rs` tests that the context is gone.)
    fn retire(&mut self, kid: &[u8]) {
        let mut tail = alloc::vec![0x90 | (1 + kid.len() as u8), 0x08];
        tail.extend_from_slice(kid);
        // Option 21 (EDHOC), empty: delta 12. Then a payload that is no CBOR byte string.
        tail.extend_from_slice(&[0xc0, 0xff, 0x00]);
        let _dropped = self
            .inner
            .extract_request_data(&inmemory::Message::new(crate::message::code::POST, &tail));
        if let Some(i) = kid_index(kid) {
            self.generations[i] = self.generations[i].wrapping_add(1);
        }
    }

    /// Second half: the server's response to the inner request (if there was one) goes back
    /// through coapcore, protected if the request was. Returns the response to send.
    ///
    /// Runs are awaited between the halves while other requests come in, so the security context
    /// that decrypted a request may have been replaced when its response is ready (evicted, and
    /// its kid handed to a new handshake). coapcore finds the context by kid; it would protect the
    /// response with the newcomer's keys. Such a response is dropped for an unprotected 5.03.
    pub fn finish(&mut self, pending: Pending, response: Option<Message>) -> Message {
        if let Passed::Coapcore(_, Some((i, generation))) = &pending.0
            && self.generations[*i] != *generation
        {
            return crate::server::busy(
                "the security context changed while the request ran; repeat it",
            );
        }
        if response.is_some() {
            critical_section::with(|cs| self.slot.borrow_ref_mut(cs).response = response);
        }
        let mut code = 0u8;
        let mut buf = alloc::vec![0u8; RESPONSE_ROOM];
        let mut w = inmemory_write::Message::new(&mut code, &mut buf);
        let rendered = match pending.0 {
            Passed::Refused(answer) => return answer,
            Passed::Coapcore(Ok(data), _) => match self.inner.build_response(&mut w, data) {
                Ok(()) => Ok(()),
                Err(e) => {
                    w.reset();
                    e.render(&mut w).map_err(drop)
                }
            },
            Passed::Coapcore(Err(e), _) => e.render(&mut w).map_err(drop),
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

/// The longest credential (CCS) a policy may name: lakers copies credentials sent by value into
/// a buffer of this size.
const MAX_CCS: usize = 190;

/// The most option bytes a protected response may carry (liboscore panics when they fill its
/// buffer).
const MAX_RESPONSE_OPTIONS: usize = 512;

/// How many kids coapcore hands out: its `COwn`, a one-byte CBOR integer (0..=23, -24..=-1).
const KIDS: usize = 48;

/// The index of a kid coapcore can hand out, if `kid` is one.
fn kid_index(kid: &[u8]) -> Option<usize> {
    match *kid {
        [b @ 0x00..=0x17] => Some(usize::from(b)),
        [b @ 0x20..=0x37] => Some(usize::from(b - 0x20) + 24),
        _ => None,
    }
}

/// The OSCORE option (RFC 8613).
const OPT_OSCORE: u16 = 9;
/// The EDHOC option (RFC 9668): the request carries message 3 before its OSCORE ciphertext.
const OPT_EDHOC: u16 = 21;

/// Whether `request` is EDHOC message 1: a POST to `/.well-known/edhoc` whose payload starts with
/// CBOR `true` (RFC 9528 appendix A.2: no C_R yet).
pub fn is_edhoc_message_1(request: &Message) -> bool {
    request.code == crate::message::code::POST
        && request.payload.first() == Some(&0xf5)
        && request
            .path()
            .is_some_and(|p| p == [".well-known", "edhoc"])
}

/// A refusal with a text diagnostic (RFC 7252 §5.5.2), unprotected.
fn text(code: u8, why: &str) -> Message {
    let mut m = Message {
        code,
        payload: why.as_bytes().to_vec(),
        ..Default::default()
    };
    m.add_uint_option(
        crate::message::opt::CONTENT_FORMAT,
        crate::server::TEXT_PLAIN,
    );
    m
}
