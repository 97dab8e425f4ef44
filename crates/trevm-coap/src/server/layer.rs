//! The security layer a [`Server`](super::Server) is given: it sees every request before the
//! message layer does, may answer it by itself (a refusal, an EDHOC message), hands on the request
//! the resources should see (as it came, or decrypted), and gets the response back to protect.
//!
//! [`Plain`] is no security at all; [`Security`](crate::secure::Security) (feature `oscore`) is
//! EDHOC, OSCORE and the access policy.

use crate::message::Message;

/// What a [`Layer`] made of a request.
#[derive(Debug)]
pub enum Begun<Pending> {
    /// The request goes on to the resources as it came.
    Through(Pending),
    /// This inner request (e.g. decrypted and authorized) goes on to the resources instead.
    Inner(Pending, Message),
    /// The layer answered by itself: send this, nothing reaches the resources.
    Answered(Message),
}

/// A security layer in front of the resources, for peers identified by `P`.
///
/// One request is split in two synchronous halves around the server's own (possibly
/// asynchronous) handling: [`Layer::begin`], then, with what it left, [`Layer::finish`]. Many
/// requests may be between the halves at once.
pub trait Layer<P> {
    /// What [`Layer::begin`] leaves for [`Layer::finish`] of the same request.
    type Pending;

    /// First half: `request` from `peer` at `now_ms` as parsed, and `tail`, its options and
    /// payload in CoAP encoding as they came over the network.
    fn begin(
        &mut self,
        peer: &P,
        request: &Message,
        tail: &[u8],
        now_ms: u64,
    ) -> Begun<Self::Pending>;

    /// Second half: the server's response (code, options, payload) to the request `begin` let
    /// through; returns the message to send.
    fn finish(&mut self, pending: Self::Pending, response: Message) -> Message;

    /// What the notifications of an observer (RFC 7641) need of the request that registered it.
    type Observation;

    /// The request `pending` belongs to registers an observer: what its notifications will need,
    /// or `None` when this layer cannot send it any (the request is then answered as a plain
    /// GET, without an Observe option). Called before [`Layer::finish`] of that request.
    fn observation(&mut self, pending: &Self::Pending) -> Option<Self::Observation>;

    /// Protects `notification` (code, options, payload) for the observer `observation` belongs
    /// to; `None` when that is no longer possible (e.g. its security context is gone): the
    /// observer is dropped.
    fn notify(
        &mut self,
        observation: &mut Self::Observation,
        notification: Message,
    ) -> Option<Message>;
}

/// No security: every request reaches the resources as it came, every response leaves as made.
/// Anyone who can send the server a datagram may do anything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Plain;

impl<P> Layer<P> for Plain {
    type Pending = ();

    fn begin(&mut self, _: &P, _: &Message, _: &[u8], _: u64) -> Begun<()> {
        Begun::Through(())
    }

    fn finish(&mut self, (): (), response: Message) -> Message {
        response
    }

    type Observation = ();

    fn observation(&mut self, (): &()) -> Option<()> {
        Some(())
    }

    fn notify(&mut self, (): &mut (), notification: Message) -> Option<Message> {
        Some(notification)
    }
}
