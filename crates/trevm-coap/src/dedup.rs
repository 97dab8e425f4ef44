//! Message deduplication (RFC 7252 §4.5): a confirmable or non-confirmable request that arrives
//! again with the same message ID from the same peer gets the same response again, without being
//! processed twice.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// How long a message ID stays remembered: EXCHANGE_LIFETIME with the default transmission
/// parameters (RFC 7252 §4.8.2), 247 s.
pub const EXCHANGE_LIFETIME_MS: u64 = 247_000;

/// Remembers the responses to recent requests, per `(peer, message ID)`, for
/// [`EXCHANGE_LIFETIME_MS`] or until `capacity` newer entries push them out.
#[derive(Debug)]
pub struct Dedup<P> {
    entries: VecDeque<Entry<P>>,
    capacity: usize,
}

#[derive(Debug)]
struct Entry<P> {
    peer: P,
    mid: u16,
    at_ms: u64,
    response: Vec<u8>,
}

impl<P: PartialEq + Clone> Dedup<P> {
    /// A cache of at most `capacity` responses.
    pub fn new(capacity: usize) -> Self {
        Dedup {
            entries: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// The response already sent for this request, if it is a duplicate.
    pub fn lookup(&mut self, peer: &P, mid: u16, now_ms: u64) -> Option<&[u8]> {
        self.expire(now_ms);
        self.entries
            .iter()
            .find(|e| e.mid == mid && e.peer == *peer)
            .map(|e| e.response.as_slice())
    }

    /// Remembers the response sent for a request.
    pub fn remember(&mut self, peer: &P, mid: u16, now_ms: u64, response: Vec<u8>) {
        self.expire(now_ms);
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(Entry {
            peer: peer.clone(),
            mid,
            at_ms: now_ms,
            response,
        });
    }

    /// How many responses are remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn expire(&mut self, now_ms: u64) {
        while self
            .entries
            .front()
            .is_some_and(|e| now_ms.saturating_sub(e.at_ms) > EXCHANGE_LIFETIME_MS)
        {
            self.entries.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn duplicates_within_the_lifetime_are_answered_from_the_cache() {
        let mut d = Dedup::new(2);
        d.remember(&"a", 1, 0, vec![1]);
        assert_eq!(d.lookup(&"a", 1, 1000), Some(&[1u8][..]));
        assert_eq!(d.lookup(&"b", 1, 1000), None, "another peer's message ID");
        assert_eq!(d.lookup(&"a", 1, EXCHANGE_LIFETIME_MS + 1), None, "expired");
        d.remember(&"a", 2, 0, vec![2]);
        d.remember(&"a", 3, 0, vec![3]);
        d.remember(&"a", 4, 0, vec![4]);
        assert_eq!(d.len(), 2);
        assert_eq!(d.lookup(&"a", 2, 0), None, "pushed out by newer entries");
    }
}
