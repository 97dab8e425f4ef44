//! How many EDHOC handshakes the device starts, per peer and in total.
//!
//! Each EDHOC message 1 costs the device two P-256 operations before it can know who sent it
//! (16.8 M instructions on the Cortex-M4 from message 1 to message 2, `docs/footprint.md`) and
//! a place among the security contexts, which evicts a handshake in progress. Without a bound, one
//! peer sending message 1 in a loop keeps the CPU busy and every other client's handshake from
//! finishing. Token buckets bound both: each peer may start [`HandshakeLimits::per_peer_burst`]
//! handshakes at once and one more every [`HandshakeLimits::per_peer_every_ms`]; all peers
//! together [`HandshakeLimits::total_burst`] and one more every
//! [`HandshakeLimits::total_every_ms`]. Beyond that, message 1 gets 5.03 with Max-Age before any
//! cryptography. Requests under established OSCORE contexts are not counted: a known client is
//! served while a flood of message 1 goes on.
//!
//! Peers are remembered in a table of [`HandshakeLimits::peers`] entries; a new peer replaces the
//! one whose bucket is fullest (it lost nothing by being forgotten), so the table cannot grow and
//! forgetting never grants a flooding peer a fresh burst while it has spent its own.

use alloc::vec::Vec;

/// Bounds on starting EDHOC handshakes (see the module).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeLimits {
    /// Handshakes one peer may start at once.
    pub per_peer_burst: u32,
    /// One more for a peer after this long.
    pub per_peer_every_ms: u64,
    /// Handshakes all peers may start at once.
    pub total_burst: u32,
    /// One more for all after this long.
    pub total_every_ms: u64,
    /// Peers whose handshakes are counted at once.
    pub peers: usize,
}

/// The defaults: a client may run a couple of commands in a row (each one handshake, from a new
/// port), a few clients at once, and a flood of message 1 keeps a 64 MHz Cortex-M4 at most about
/// half busy with handshakes (two a second at ≈ 0.26 s each).
impl Default for HandshakeLimits {
    fn default() -> Self {
        HandshakeLimits {
            per_peer_burst: 2,
            per_peer_every_ms: 5_000,
            total_burst: 8,
            total_every_ms: 500,
            peers: 16,
        }
    }
}

/// A token bucket: `tokens` at `at_ms`, one more every `every_ms`, at most `burst`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: u32,
    at_ms: u64,
}

impl Bucket {
    fn full(burst: u32, now_ms: u64) -> Self {
        Bucket {
            tokens: burst,
            at_ms: now_ms,
        }
    }

    /// The tokens at `now_ms` (refilled, not taken).
    fn refill(&mut self, burst: u32, every_ms: u64, now_ms: u64) {
        let every = every_ms.max(1);
        let gained = now_ms.saturating_sub(self.at_ms) / every;
        if gained == 0 {
            return;
        }
        let gained = u32::try_from(gained).unwrap_or(u32::MAX);
        self.tokens = self.tokens.saturating_add(gained).min(burst);
        self.at_ms = if self.tokens == burst {
            now_ms
        } else {
            self.at_ms + u64::from(gained) * every
        };
    }
}

/// The buckets of the peers seen lately and of all peers together.
#[derive(Debug)]
pub(super) struct Handshakes<P> {
    limits: HandshakeLimits,
    total: Option<Bucket>,
    peers: Vec<(P, Bucket)>,
}

impl<P: PartialEq + Clone> Handshakes<P> {
    pub(super) fn new(limits: HandshakeLimits) -> Self {
        Handshakes {
            limits,
            total: None,
            peers: Vec::new(),
        }
    }

    /// Whether `peer` may start a handshake at `now_ms`; if so, it is counted.
    pub(super) fn admit(&mut self, peer: &P, now_ms: u64) -> bool {
        let l = self.limits;
        let total = self
            .total
            .get_or_insert_with(|| Bucket::full(l.total_burst, now_ms));
        total.refill(l.total_burst, l.total_every_ms, now_ms);
        for (_, b) in &mut self.peers {
            b.refill(l.per_peer_burst, l.per_peer_every_ms, now_ms);
        }
        let at = match self.peers.iter().position(|(p, _)| p == peer) {
            Some(at) => at,
            None if self.peers.len() < l.peers.max(1) => {
                self.peers
                    .push((peer.clone(), Bucket::full(l.per_peer_burst, now_ms)));
                self.peers.len() - 1
            }
            None => {
                // Forget the peer with the fullest bucket, if it is full: forgetting it gives
                // nothing away. Otherwise every remembered peer is still paying for its last
                // handshakes, and the new one waits like them.
                let fullest = self
                    .peers
                    .iter()
                    .enumerate()
                    .max_by_key(|(_, (_, b))| b.tokens)
                    .map(|(i, (_, b))| (i, b.tokens));
                match fullest {
                    Some((i, tokens)) if tokens >= l.per_peer_burst => {
                        self.peers[i] = (peer.clone(), Bucket::full(l.per_peer_burst, now_ms));
                        i
                    }
                    _ => return false,
                }
            }
        };
        let own = &mut self.peers[at].1;
        if own.tokens == 0 || total.tokens == 0 {
            return false;
        }
        own.tokens -= 1;
        total.tokens -= 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flooding_peer_gets_its_share_and_others_still_get_theirs() {
        let mut h = Handshakes::new(HandshakeLimits {
            total_burst: 4,
            total_every_ms: 1_000,
            ..HandshakeLimits::default()
        });
        let admitted = (0..1_000).filter(|i| h.admit(&"flood", *i)).count();
        // 1 s of flood: the burst of 2, nothing more (one refill every 5 s).
        assert_eq!(admitted, 2);
        // Two left of the total, and one more after a second.
        assert!(h.admit(&"alice", 1_000));
        assert!(h.admit(&"bob", 1_000));
        assert!(h.admit(&"carol", 1_000));
        // Everything taken; a second later the total has one more.
        assert!(!h.admit(&"dave", 1_000));
        assert!(h.admit(&"dave", 2_000));
        // The flood gets one every 5 s.
        assert!(!h.admit(&"flood", 4_999));
        assert!(h.admit(&"flood", 5_000 + 1_000));
    }

    #[test]
    fn the_peer_table_is_bounded_and_forgets_only_idle_peers() {
        let limits = HandshakeLimits {
            peers: 2,
            total_burst: 100,
            ..Default::default()
        };
        let mut h = Handshakes::new(limits);
        assert!(h.admit(&1, 0));
        assert!(h.admit(&2, 0));
        // Both are paying for a handshake: a third peer waits.
        assert!(!h.admit(&3, 0));
        assert_eq!(h.peers.len(), 2);
        // Once one of them is full again, it is forgotten for the newcomer.
        assert!(h.admit(&3, 5_000));
        assert_eq!(h.peers.len(), 2);
    }
}
