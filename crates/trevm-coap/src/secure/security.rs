//! [`Security`]: EDHOC, OSCORE and the policy as a [`Layer`] of the server. The seam (see the
//! module above) splits one request in two synchronous halves around the server's await: `open`
//! hands the request to coapcore and takes out the inner request, `close` protects the response.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use coap_handler::Handler;
use coap_message::error::RenderableOnMinimal as _;
use coap_message_implementations::{inmemory, inmemory_write};

use super::contexts;
use super::crypto::{self, is_p256_x};
use super::handler::{
    Config, Crypto, Deferred, DeviceRng, Inner, RESPONSE_ROOM, SharedRng, Slot, SlotCell, text,
};
use super::handshakes::{HandshakeLimits, Handshakes};
use super::identity::Identity;
use super::observation::{self, Observation, RequestData};
use super::screen::{self, OPT_EDHOC, OPT_OSCORE, is_edhoc_message_1};
use crate::message::{Message, parse_options_payload};
use crate::policy::{Policy, PolicyError};
use crate::server::busy;
use crate::server::layer::{Begun, Layer};

/// The security layer in front of a [`Server`](crate::Server)'s resources: give it to
/// [`Server::with_security`](crate::Server::with_security). `P` identifies peers, as the
/// server's, for the handshake limits.
pub struct Security<P> {
    inner: Inner,
    slot: SlotCell,
    identity: Identity,
    known_handshake: Arc<AtomicBool>,
    plaintext_bound: Arc<AtomicUsize>,
    /// How often a security context was made for each kid coapcore hands out (see `close`).
    generations: [u16; KIDS],
    known: contexts::KnownContexts,
    /// The longest EDHOC message 3 taken ([`screen::max_message_3`] for this policy).
    max_message_3: usize,
    /// EDHOC handshakes started per peer and in total.
    handshakes: Handshakes<P>,
}

impl<P> core::fmt::Debug for Security<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Security")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

/// What [`Layer::begin`] left for [`Layer::finish`]: coapcore's state of one request, or
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

impl<P: PartialEq + Clone> Security<P> {
    /// A security layer for a device with `identity`, admitting clients by `policy`; `rng` is
    /// the device's cryptographic RNG. Handshakes are limited by [`HandshakeLimits::default`]
    /// (see [`Security::with_handshake_limits`]).
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
            handshakes: Handshakes::new(HandshakeLimits::default()),
        })
    }

    /// Limits the EDHOC handshakes this layer starts by `limits` instead of the defaults.
    pub fn with_handshake_limits(mut self, limits: HandshakeLimits) -> Self {
        self.handshakes = Handshakes::new(limits);
        self
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
    fn open(&mut self, request: &Message, tail: &[u8]) -> (Pending, Option<Message>) {
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

    /// The checks of [`Layer::begin`] before coapcore: `Err` is the answer to send; `Ok` has
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
    fn close(&mut self, pending: Pending, response: Option<Message>) -> Message {
        if let Passed::Coapcore(_, Some((i, generation))) = &pending.0
            && self.generations[*i] != *generation
        {
            return busy("the security context changed while the request ran; repeat it");
        }
        if response.is_some() {
            critical_section::with(|cs| self.slot.borrow_ref_mut(cs).response = response);
        }
        match pending.0 {
            Passed::Refused(answer) => answer,
            Passed::Coapcore(data, _) => self.render(data),
        }
    }

    /// The response to a request coapcore took (`data`), with what the slot holds as the inner
    /// response: built, and protected if the request was, by coapcore.
    fn render(
        &mut self,
        data: Result<RequestData, <Inner as Handler>::ExtractRequestError>,
    ) -> Message {
        let mut code = 0u8;
        let mut buf = alloc::vec![0u8; RESPONSE_ROOM];
        let mut w = inmemory_write::Message::new(&mut code, &mut buf);
        let rendered = match data {
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

impl<P: PartialEq + Clone> Layer<P> for Security<P> {
    type Pending = Pending;

    /// Counts an EDHOC message 1 against the handshake limits (5.03 with Max-Age beyond them,
    /// before any cryptography), then hands the request to coapcore (see `open`).
    fn begin(&mut self, peer: &P, request: &Message, tail: &[u8], now_ms: u64) -> Begun<Pending> {
        // A handshake costs the device before it knows who asks: counted per peer first.
        if is_edhoc_message_1(request) && !self.handshakes.admit(peer, now_ms) {
            return Begun::Answered(busy("too many EDHOC handshakes; try again later"));
        }
        match self.open(request, tail) {
            (pending, Some(inner)) => Begun::Inner(pending, inner),
            // Refused, or EDHOC: coapcore answers by itself.
            (pending, None) => Begun::Answered(self.close(pending, None)),
        }
    }

    fn finish(&mut self, pending: Pending, response: Message) -> Message {
        self.close(pending, Some(response))
    }

    type Observation = Observation;

    /// Keeps a duplicate of coapcore's state of the registering request (see `observation.rs`).
    fn observation(&mut self, pending: &Pending) -> Option<Observation> {
        match &pending.0 {
            Passed::Coapcore(Ok(data), generation) => Some(Observation {
                template: observation::duplicate(data)?,
                generation: *generation,
            }),
            _ => None,
        }
    }

    /// Protects a notification as a further response to the registering request: with the
    /// device's own Partial IV, in the security context that request came in, as long as that
    /// context is the same (not replaced by a new handshake for its kid) and still in coapcore's
    /// pool. The outer code of a protected notification is 2.05 (RFC 8613 §4.2).
    fn notify(&mut self, observation: &mut Observation, notification: Message) -> Option<Message> {
        if let Some((i, generation)) = observation.generation
            && self.generations[i] != generation
        {
            return None;
        }
        let data = observation::duplicate(&observation.template)?;
        let protected = observation::is_protected(&data);
        critical_section::with(|cs| {
            self.slot.borrow_ref_mut(cs).response = Some(notification);
        });
        let mut message = self.render(Ok(data));
        if protected {
            // A context coapcore no longer has makes an unprotected error of the notification.
            message.option(OPT_OSCORE)?;
            message.code = crate::message::code::CONTENT;
        }
        Some(message)
    }
}

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

/// The longest credential (CCS) a policy may name: lakers copies credentials sent by value into
/// a buffer of this size.
const MAX_CCS: usize = 190;
