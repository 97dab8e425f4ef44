//! Message deduplication (RFC 7252 §4.5): a confirmable or non-confirmable request that arrives
//! again with the same message ID from the same peer gets the same response again, without being
//! processed twice.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// How long a message ID stays remembered: EXCHANGE_LIFETIME with the default transmission
/// parameters (RFC 7252 §4.8.2), 247 s.
pub const EXCHANGE_LIFETIME_MS: u64 = 247_000;

/// Remembers the responses to recent requests, per `(peer, message ID)`, for
/// [`EXCHANGE_LIFETIME_MS`] or until newer entries push them out: at most `capacity` entries
/// holding at most `max_bytes` bytes of responses together.
#[derive(Debug)]
pub struct Dedup<P> {
    entries: VecDeque<Entry<P>>,
    capacity: usize,
    max_bytes: usize,
    /// Bytes of the responses remembered.
    bytes: usize,
}

#[derive(Debug)]
struct Entry<P> {
    peer: P,
    mid: u16,
    at_ms: u64,
    response: Vec<u8>,
}

impl<P: PartialEq + Clone> Dedup<P> {
    /// A cache of at most `capacity` responses, however long.
    pub fn new(capacity: usize) -> Self {
        Self::with_budget(capacity, usize::MAX)
    }

    /// A cache of at most `capacity` responses holding at most `max_bytes` bytes together. A
    /// response longer than `max_bytes` is not remembered (a duplicate of its request is then
    /// handled again).
    pub fn with_budget(capacity: usize, max_bytes: usize) -> Self {
        Dedup {
            entries: VecDeque::new(),
            capacity: capacity.max(1),
            max_bytes,
            bytes: 0,
        }
    }

    /// Bytes of the responses remembered.
    pub fn bytes(&self) -> usize {
        self.bytes
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
        let len = response.capacity();
        if len > self.max_bytes {
            return;
        }
        while self.entries.len() >= self.capacity || self.bytes + len > self.max_bytes {
            self.pop();
        }
        self.bytes += len;
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
            self.pop();
        }
    }

    /// Forgets the oldest entry.
    fn pop(&mut self) {
        if let Some(e) = self.entries.pop_front() {
            self.bytes -= e.response.capacity();
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

    #[test]
    fn the_responses_remembered_are_bounded_in_bytes() {
        let mut d = Dedup::with_budget(10, 100);
        d.remember(&"a", 1, 0, vec![1; 40]);
        d.remember(&"a", 2, 0, vec![2; 40]);
        assert_eq!(d.bytes(), 80);
        d.remember(&"b", 3, 0, vec![3; 40]);
        assert_eq!((d.len(), d.bytes()), (2, 80), "the oldest made room");
        assert_eq!(d.lookup(&"a", 1, 0), None);
        assert_eq!(d.lookup(&"b", 3, 0), Some(&[3u8; 40][..]));
        d.remember(&"a", 4, 0, vec![4; 101]);
        assert_eq!(d.lookup(&"a", 4, 0), None, "longer than the whole budget");
        assert_eq!(d.len(), 2);
        d.lookup(&"a", 9, EXCHANGE_LIFETIME_MS + 1);
        assert_eq!(
            (d.len(), d.bytes()),
            (0, 0),
            "expired entries give their bytes back"
        );
    }
}
