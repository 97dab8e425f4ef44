//! Observations (RFC 7641) on the client's side: what a registration's answer establishes and
//! which later notifications are taken.
//!
//! A notification is taken when it carries the observation's token, is a response (2.xx or a
//! final error), is at most [`MAX_NOTIFICATION`] bytes, and is fresher than the freshest so far
//! (RFC 7641 §3.4: its Observe value is ahead by less than 2^23, or 128 s have passed). With
//! OSCORE it must also be protected, with a Partial IV above the last one taken (RFC 8613
//! §7.4.1: replays are dropped) and decrypt with the registration's request correlation.
//! A confirmable notification that is a duplicate, stale or a replay is acknowledged and dropped;
//! one that is oversized or does not decrypt is dropped unacknowledged, and so is any
//! notification the client has no room for yet (the server retransmits it).

use alloc::collections::VecDeque;
use alloc::vec::Vec;

#[cfg(feature = "oscore")]
use super::oscore::{Correlation, OPT_OSCORE, Session};
use crate::message::{Message, MsgType, opt};

/// The most notifications waiting for the caller ([`Client::next_notification`](super::Client::next_notification)); more are
/// left unacknowledged until there is room.
pub const MAX_PENDING: usize = 8;
/// The largest notification payload taken, in bytes (a `/logs` representation is at most 512).
pub const MAX_NOTIFICATION: usize = 1024;
/// How long after Max-Age without a notification an observation counts as lapsed, in
/// milliseconds ([`Client::observation_lapses_at`](super::Client::observation_lapses_at)), at
/// most: a quarter of Max-Age when that is less.
pub const LAPSE_MARGIN_MS: u64 = 5_000;
/// Max-Age when a notification has none (RFC 7252 §5.10.5).
const DEFAULT_MAX_AGE: u32 = 60;
/// Observe values are 24 bits (RFC 7641 §4.4).
const OBSERVE_LIMIT: u32 = 1 << 24;
/// How long a notification's Observe value counts for ordering (RFC 7641 §3.4).
const ORDER_WINDOW_MS: u64 = 128_000;

/// A notification taken: the registration's later answers, in the order they are fresher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Response code (2.05 for a representation; anything else ends the observation).
    pub code: u8,
    /// Its Observe value; `None` on a final notification, which ends the observation.
    pub observe: Option<u32>,
    /// Max-Age in seconds (60 if absent).
    pub max_age: u32,
    /// The payload's Content-Format, if the server said.
    pub content_format: Option<u16>,
    /// The payload, at most [`MAX_NOTIFICATION`] bytes.
    pub payload: Vec<u8>,
}

/// An established observation: its token, its freshest notification, and those not yet handed
/// to the caller (at most [`MAX_PENDING`]).
pub(crate) struct Observation {
    token: Vec<u8>,
    /// The Observe value of the freshest notification and when it came (ms).
    last: (u32, u64),
    /// When anything of this observation was last taken (ms), and its Max-Age (s).
    heard_ms: u64,
    max_age: u32,
    /// A final notification came: nothing more is taken.
    ended: bool,
    pending: VecDeque<Notification>,
    #[cfg(feature = "oscore")]
    correlation: Option<Correlation>,
    /// The Partial IV of the last protected notification taken.
    #[cfg(feature = "oscore")]
    piv: Option<u64>,
}

impl core::fmt::Debug for Observation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Observation")
            .field("token", &self.token)
            .field("last", &self.last)
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

/// Whether a notification with Observe `v2` arriving at `t2` is fresher than the freshest so far,
/// `v1` at `t1` (RFC 7641 §3.4).
pub(crate) fn is_fresher((v1, t1): (u32, u64), (v2, t2): (u32, u64)) -> bool {
    const HALF: u32 = 1 << 23;
    (v1 < v2 && v2 - v1 < HALF)
        || (v1 > v2 && v1 - v2 > HALF)
        || t2 > t1.saturating_add(ORDER_WINDOW_MS)
}

/// The Partial IV of `outer`'s OSCORE option (RFC 8613 §6.1), as a number.
#[cfg(feature = "oscore")]
fn partial_iv(outer: &Message) -> Option<u64> {
    let value = outer.option(OPT_OSCORE)?;
    let n = usize::from(*value.first()? & 0x07);
    let piv = value
        .get(1..1 + n)
        .filter(|p| !p.is_empty() && p.len() <= 5)?;
    Some(piv.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b)))
}

/// An empty ACK for message ID `mid`.
pub(crate) fn empty_ack(mid: u16) -> Vec<u8> {
    Message {
        ty: MsgType::Ack,
        mid,
        ..Default::default()
    }
    .encode()
}

/// A Reset for message ID `mid`.
pub(crate) fn reset(mid: u16) -> Vec<u8> {
    Message {
        ty: MsgType::Rst,
        mid,
        ..Default::default()
    }
    .encode()
}

/// `message`'s Max-Age and Content-Format.
fn max_age_and_format(message: &Message) -> (u32, Option<u16>) {
    let max_age = message.uint_option(opt::MAX_AGE).unwrap_or(DEFAULT_MAX_AGE);
    let format = message
        .uint_option(opt::CONTENT_FORMAT)
        .and_then(|f| u16::try_from(f).ok());
    (max_age, format)
}

impl Observation {
    /// What the answer `outer` (as received) to a registration with `token` establishes, if it
    /// carries an Observe option; completed by [`Observation::established`] once it is unprotected.
    pub(crate) fn from_response(outer: &Message, token: &[u8], now: u64) -> Option<Observation> {
        let observe = outer
            .uint_option(opt::OBSERVE)
            .filter(|v| *v < OBSERVE_LIMIT)?;
        Some(Observation {
            token: token.to_vec(),
            last: (observe, now),
            heard_ms: now,
            max_age: DEFAULT_MAX_AGE,
            ended: false,
            pending: VecDeque::new(),
            #[cfg(feature = "oscore")]
            correlation: None,
            #[cfg(feature = "oscore")]
            piv: partial_iv(outer),
        })
    }

    /// With the registration's answer `inner` (unprotected) and its request correlation.
    pub(crate) fn established(
        mut self,
        inner: &Message,
        #[cfg(feature = "oscore")] correlation: Option<Correlation>,
    ) -> Observation {
        self.max_age = max_age_and_format(inner).0;
        #[cfg(feature = "oscore")]
        {
            self.correlation = correlation;
        }
        self
    }

    /// Whether `message` is one of this observation's notifications (its token, not an ACK or
    /// Reset).
    pub(crate) fn owns(&self, message: &Message) -> bool {
        message.token == self.token && matches!(message.ty, MsgType::Con | MsgType::Non)
    }

    /// Takes the notification `outer` at `now` if it is one (see the module's rules); the
    /// datagram to send back (its ACK), if any. `can_ack`: whether an ACK can be sent now (a
    /// confirmable notification is left for its retransmission otherwise).
    pub(crate) fn receive(
        &mut self,
        outer: Message,
        #[cfg(feature = "oscore")] session: Option<&mut Session>,
        now: u64,
        can_ack: bool,
    ) -> Option<Vec<u8>> {
        let confirmable = outer.ty == MsgType::Con;
        if self.ended
            || outer.code >> 5 < 2
            || (confirmable && !can_ack)
            || self.pending.len() >= MAX_PENDING
            || outer.payload.len() > MAX_NOTIFICATION
        {
            return None;
        }
        let ack = confirmable.then(|| empty_ack(outer.mid));
        let observe = outer.uint_option(opt::OBSERVE);
        if observe.is_some_and(|v| v >= OBSERVE_LIMIT) {
            return None;
        }
        #[cfg(feature = "oscore")]
        let (inner, piv) = match (session, self.correlation.as_mut()) {
            (Some(session), Some(correlation)) => {
                let piv = partial_iv(&outer)?;
                if self.piv.is_some_and(|last| piv <= last) {
                    return ack;
                }
                match session.unprotect(outer, correlation) {
                    Ok(inner) => (inner, Some(piv)),
                    Err(_) => return None,
                }
            }
            _ => (outer, None),
        };
        #[cfg(not(feature = "oscore"))]
        let inner = outer;
        if let Some(v) = observe
            && !is_fresher(self.last, (v, now))
        {
            return ack;
        }
        #[cfg(feature = "oscore")]
        if piv.is_some() {
            self.piv = piv;
        }
        let (max_age, content_format) = max_age_and_format(&inner);
        if let Some(v) = observe {
            self.last = (v, now);
        }
        self.heard_ms = now;
        self.max_age = max_age;
        self.ended = observe.is_none() || inner.code >> 5 != 2;
        self.pending.push_back(Notification {
            code: inner.code,
            observe,
            max_age,
            content_format,
            payload: inner.payload,
        });
        ack
    }

    /// The registration's token.
    pub(crate) fn token(&self) -> &[u8] {
        &self.token
    }

    /// The oldest notification not yet handed out.
    pub(crate) fn next(&mut self) -> Option<Notification> {
        self.pending.pop_front()
    }

    /// Whether notifications are still taken (no final one came).
    pub(crate) fn is_live(&self) -> bool {
        !self.ended
    }

    /// Whether everything is handed out and nothing more comes.
    pub(crate) fn is_over(&self) -> bool {
        self.ended && self.pending.is_empty()
    }

    /// When the observation lapses without a notification: Max-Age after the last one, plus
    /// a margin ([`LAPSE_MARGIN_MS`], or a quarter of Max-Age when that is less).
    pub(crate) fn lapses_at(&self) -> u64 {
        let max_age_ms = u64::from(self.max_age).saturating_mul(1000);
        self.heard_ms
            .saturating_add(max_age_ms)
            .saturating_add(LAPSE_MARGIN_MS.min(max_age_ms / 4))
    }
}
