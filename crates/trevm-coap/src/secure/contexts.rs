//! Which of coapcore's security contexts belong to clients the policy knows, so that a stranger's
//! handshake never evicts one.
//!
//! coapcore 0.1 keeps 4 security contexts and puts the context of every EDHOC message 1 in with
//! `force_insert`: the least important entry goes (an empty one, then handshakes in progress, then
//! strangers' OSCORE contexts, least recently used first), but when all 4 belong to known clients,
//! one of *theirs* goes, and a stranger could log them out one datagram at a time. coapcore does
//! not let us see its pool, so this keeps a model of the part that matters: the kids of the
//! contexts known clients established, in the order coapcore last used them. A message 1 that
//! would evict one is refused (5.03 with Max-Age) unless that context has been idle for
//! [`IDLE_MS`]: a fifth known client still gets in, a stranger cannot cycle active clients out.
//!
//! The model follows coapcore's rules (every OSCORE request naming a context moves it to the
//! front; only a message 1 evicts), and errs on the side of refusing: if a context left without
//! the model seeing it, a message 1 waits at most [`IDLE_MS`] too long.

use alloc::vec::Vec;

use super::screen::MAX_ID_LEN;

/// How many security contexts coapcore keeps (its `MAX_CONTEXTS`).
pub const POOL: usize = 4;

/// A known client's context unused for this long may be evicted by a new handshake.
pub const IDLE_MS: u64 = 60_000;

/// A kid, inline: at most [`MAX_ID_LEN`] bytes (longer ones are no OSCORE IDs).
type Kid = heapless::Vec<u8, MAX_ID_LEN>;

/// One known client's security context: its kid (our recipient ID, C_R) and when it was last
/// named in a request.
#[derive(Debug, Clone)]
struct Known {
    kid: Kid,
    used_ms: u64,
}

/// The known clients' contexts, most recently used first (at most [`POOL`]).
#[derive(Debug, Default)]
pub struct KnownContexts(Vec<Known>);

impl KnownContexts {
    /// How many contexts known clients hold.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// A request named `kid` at `now_ms` (coapcore moved that context to the front).
    pub fn touch(&mut self, kid: &[u8], now_ms: u64) {
        if let Some(at) = self.0.iter().position(|k| k.kid.as_slice() == kid) {
            let mut k = self.0.remove(at);
            k.used_ms = now_ms;
            self.0.insert(0, k);
        }
    }

    /// A known client established a context with `kid` at `now_ms`.
    pub fn established(&mut self, kid: &[u8], now_ms: u64) {
        let Ok(kid) = Kid::from_slice(kid) else {
            return;
        };
        self.0.retain(|k| k.kid != kid);
        self.0.insert(
            0,
            Known {
                kid,
                used_ms: now_ms,
            },
        );
        self.0.truncate(POOL);
    }

    /// Whether a new handshake may start at `now_ms`: yes while a context is not a known
    /// client's; else only if the least recently used one is idle, which it then evicts.
    pub fn admit_handshake(&mut self, now_ms: u64) -> bool {
        if self.0.len() < POOL {
            return true;
        }
        match self.0.last() {
            Some(lru) if now_ms.saturating_sub(lru.used_ms) >= IDLE_MS => {
                self.0.pop();
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_active_known_clients_keep_their_contexts_until_one_idles() {
        let mut k = KnownContexts::default();
        for (i, kid) in [[1u8], [2], [3]].iter().enumerate() {
            k.established(kid, i as u64);
            assert!(k.admit_handshake(10), "a slot is not a known client's");
        }
        k.established(&[4], 3);
        assert!(
            !k.admit_handshake(1_000),
            "all four known clients are active"
        );
        // Client 1 keeps talking; client 2 is now the least recently used.
        k.touch(&[1], 50_000);
        assert!(!k.admit_handshake(60_000));
        assert!(k.admit_handshake(60_001), "client 2 idled for a minute");
        assert_eq!(k.len(), 3);
        assert!(k.admit_handshake(60_002));
    }

    #[test]
    fn kids_too_long_for_oscore_are_not_recorded() {
        let mut k = KnownContexts::default();
        k.established(&[0; 8], 0);
        assert_eq!(k.len(), 0);
    }
}
