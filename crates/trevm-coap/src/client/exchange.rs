//! One confirmable request in flight (RFC 7252 §4.2, §5.3.2): when to send it again, and which
//! incoming message answers it.

use alloc::vec::Vec;

use crate::message::{Message, MsgType, code};

/// Retransmission parameters (RFC 7252 §4.8). The initial timeout is `ack_timeout_ms` (the lower
/// end of RFC 7252's random range: the client has no RNG of its own), doubled after each try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// ACK_TIMEOUT: how long to wait for the first answer, in milliseconds.
    pub ack_timeout_ms: u64,
    /// MAX_RETRANSMIT: how many times a request is sent again before the client gives up.
    pub max_retransmit: u32,
}

impl Default for Timing {
    /// RFC 7252's defaults: 2 s, 4 retransmissions (so 62 s before giving up).
    fn default() -> Self {
        Timing {
            ack_timeout_ms: 2_000,
            max_retransmit: 4,
        }
    }
}

impl Timing {
    /// From the first transmission to giving up: `ack_timeout_ms · (2^(max_retransmit+1) − 1)`;
    /// also how long a separate response may take after its empty ACK.
    pub fn give_up_after_ms(&self) -> u64 {
        let doublings = self.max_retransmit.saturating_add(1).min(32);
        self.ack_timeout_ms.saturating_mul((1u64 << doublings) - 1)
    }
}

/// What the exchange wants now.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Due<'a> {
    /// Send (or send again) these bytes.
    Send(&'a [u8]),
    /// Nothing until this time (milliseconds) or an incoming datagram.
    Wait(u64),
    /// No answer came in time.
    TimedOut,
}

/// What an incoming message is to the exchange.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Matched {
    /// Not about this request (another exchange's, a late duplicate): ignored.
    Stray,
    /// The server rejected the request.
    Reset,
    /// An empty ACK: the server took the request and answers later (separate response).
    Accepted,
    /// The response; `ack` is what to send back when it came as a confirmable message.
    Response { ack: Option<Vec<u8>> },
}

/// A confirmable request: its bytes, identifiers and retransmission state.
#[derive(Debug)]
pub(crate) struct Exchange {
    datagram: Vec<u8>,
    mid: u16,
    token: Vec<u8>,
    /// Transmissions so far.
    sent: u32,
    /// The current timeout (doubles after each transmission but the first).
    timeout_ms: u64,
    /// When to send again, or give up.
    next_ms: u64,
    /// An empty ACK came: no more retransmissions, only waiting.
    accepted: bool,
}

impl Exchange {
    /// `message` as a confirmable request with message ID `mid` and `token`, due now.
    pub(crate) fn new(
        mut message: Message,
        mid: u16,
        token: Vec<u8>,
        timing: &Timing,
        now: u64,
    ) -> Self {
        message.ty = MsgType::Con;
        message.mid = mid;
        message.token = token.clone();
        Exchange {
            datagram: message.encode(),
            mid,
            token,
            sent: 0,
            timeout_ms: timing.ack_timeout_ms,
            next_ms: now,
            accepted: false,
        }
    }

    /// What to do at `now`: the first transmission, a retransmission, wait, or give up.
    pub(crate) fn poll(&mut self, now: u64, timing: &Timing) -> Due<'_> {
        if now < self.next_ms {
            return Due::Wait(self.next_ms);
        }
        if self.accepted || self.sent > timing.max_retransmit {
            return Due::TimedOut;
        }
        if self.sent > 0 {
            self.timeout_ms = self.timeout_ms.saturating_mul(2);
        }
        self.sent += 1;
        self.next_ms = now.saturating_add(self.timeout_ms);
        Due::Send(&self.datagram)
    }

    /// The request's bytes, as sent.
    pub(crate) fn datagram(&self) -> &[u8] {
        &self.datagram
    }

    /// The request's token.
    pub(crate) fn token(&self) -> &[u8] {
        &self.token
    }

    /// How many times the request went out.
    pub(crate) fn tries(&self) -> u32 {
        self.sent
    }

    /// Whether `reply` answers this request (RFC 7252 §4.2, §5.3.2): a Reset or ACK with its
    /// message ID, or a response with its token.
    pub(crate) fn matches(&mut self, reply: &Message, timing: &Timing, now: u64) -> Matched {
        match reply.ty {
            MsgType::Rst if reply.mid == self.mid => Matched::Reset,
            MsgType::Ack if reply.mid == self.mid && reply.code == code::EMPTY => {
                if !self.accepted {
                    self.accepted = true;
                    self.next_ms = now.saturating_add(timing.give_up_after_ms());
                }
                Matched::Accepted
            }
            MsgType::Ack if reply.mid == self.mid && reply.token == self.token => {
                Matched::Response { ack: None }
            }
            MsgType::Con | MsgType::Non if reply.token == self.token && reply.code >> 5 >= 2 => {
                let ack = (reply.ty == MsgType::Con).then(|| {
                    Message {
                        ty: MsgType::Ack,
                        mid: reply.mid,
                        ..Default::default()
                    }
                    .encode()
                });
                Matched::Response { ack }
            }
            _ => Matched::Stray,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(now: u64) -> Exchange {
        Exchange::new(
            Message::request(code::GET, 0, &["x"]),
            7,
            alloc::vec![1, 2],
            &Timing::default(),
            now,
        )
    }

    #[test]
    fn retransmits_after_2_4_8_16_32_seconds_then_gives_up() {
        let timing = Timing::default();
        let mut e = exchange(1000);
        let mut at = 1000;
        let mut sent_at = Vec::new();
        loop {
            match e.poll(at, &timing) {
                Due::Send(_) => sent_at.push(at),
                Due::Wait(until) => {
                    assert!(until > at);
                    // Nothing is due a moment before.
                    assert_eq!(e.poll(until - 1, &timing), Due::Wait(until));
                    at = until;
                }
                Due::TimedOut => break,
            }
        }
        assert_eq!(sent_at, [1000, 3000, 7000, 15000, 31000]);
        assert_eq!(at, 63000);
        assert_eq!(timing.give_up_after_ms(), 62000);
        assert_eq!(e.tries(), 5);
    }

    #[test]
    fn an_empty_ack_stops_retransmission_and_the_separate_response_is_acked() {
        let timing = Timing::default();
        let mut e = exchange(0);
        assert!(matches!(e.poll(0, &timing), Due::Send(_)));
        let empty = Message {
            ty: MsgType::Ack,
            mid: 7,
            ..Default::default()
        };
        assert_eq!(e.matches(&empty, &timing, 500), Matched::Accepted);
        assert_eq!(e.poll(2000, &timing), Due::Wait(62500));
        let separate = Message {
            ty: MsgType::Con,
            mid: 99,
            code: code::CONTENT,
            token: alloc::vec![1, 2],
            ..Default::default()
        };
        let Matched::Response { ack: Some(ack) } = e.matches(&separate, &timing, 600) else {
            panic!("a separate response")
        };
        let ack = Message::parse(&ack).unwrap();
        assert_eq!((ack.ty, ack.mid, ack.code), (MsgType::Ack, 99, code::EMPTY));
    }

    #[test]
    fn strays_are_ignored() {
        let timing = Timing::default();
        let mut e = exchange(0);
        let other_mid = Message {
            ty: MsgType::Ack,
            mid: 6,
            code: code::CONTENT,
            token: alloc::vec![1, 2],
            ..Default::default()
        };
        assert_eq!(e.matches(&other_mid, &timing, 0), Matched::Stray);
        let other_token = Message {
            ty: MsgType::Con,
            mid: 6,
            code: code::CONTENT,
            token: alloc::vec![1, 3],
            ..Default::default()
        };
        assert_eq!(e.matches(&other_token, &timing, 0), Matched::Stray);
        let reset_other = Message {
            ty: MsgType::Rst,
            mid: 8,
            ..Default::default()
        };
        assert_eq!(e.matches(&reset_other, &timing, 0), Matched::Stray);
        let reset = Message {
            ty: MsgType::Rst,
            mid: 7,
            ..Default::default()
        };
        assert_eq!(e.matches(&reset, &timing, 0), Matched::Reset);
    }
}
