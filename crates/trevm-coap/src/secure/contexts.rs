//! Which of coapcore's security contexts belong to clients the policy knows, so that a stranger's
//! handshake never evicts one.
//!
//! coapcore 0.1 keeps 4 security contexts and puts the context of every EDHOC message 1 in with
//! `force_insert`: the least important entry goes (an empty one, then handshakes in progress, then
//! strangers' OSCORE contexts, least recently used first), but when all 4 belong to known clients,
//! one of *theirs* goes, and a stranger could log them out one datagram at a time. So known
//! clients hold at most [`KNOWN_MAX`] = 3 of the 4: when a fourth establishes a context, the
//! least recently used known one is retired (the security layer asks coapcore to drop it), and
//! the fourth place always holds something a stranger's handshake may evict. A known client whose
//! context was retired runs EDHOC again, as after any eviction; strangers never cause it.
//!
//! coapcore does not let us see its pool, so this keeps a model of the part that matters: the
//! kids of the contexts known clients established, in the order coapcore last used them (every
//! OSCORE request naming a context moves it to the front, forged ones included).

use alloc::vec::Vec;

use super::screen::MAX_ID_LEN;

/// How many security contexts coapcore keeps (its `MAX_CONTEXTS`).
pub const POOL: usize = 4;

/// How many of them known clients may hold.
pub const KNOWN_MAX: usize = POOL - 1;

/// A kid, inline: at most [`MAX_ID_LEN`] bytes (longer ones are no OSCORE IDs).
pub type Kid = heapless::Vec<u8, MAX_ID_LEN>;

/// The known clients' contexts' kids (our recipient IDs, C_R), most recently used first.
#[derive(Debug, Default)]
pub struct KnownContexts(Vec<Kid>);

impl KnownContexts {
    /// How many contexts known clients hold.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// A request named `kid` (coapcore moved that context to the front).
    pub fn touch(&mut self, kid: &[u8]) {
        if let Some(at) = self.0.iter().position(|k| k.as_slice() == kid) {
            let k = self.0.remove(at);
            self.0.insert(0, k);
        }
    }

    /// A known client established a context with `kid`. Returns the kid of the context to
    /// retire, if known clients now hold more than [`KNOWN_MAX`].
    #[must_use]
    pub fn established(&mut self, kid: &[u8]) -> Option<Kid> {
        let kid = Kid::from_slice(kid).ok()?;
        self.0.retain(|k| *k != kid);
        self.0.insert(0, kid);
        (self.0.len() > KNOWN_MAX).then(|| self.0.pop()).flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fourth_known_context_retires_the_least_recently_used() {
        let mut k = KnownContexts::default();
        assert_eq!(k.established(&[1]), None);
        assert_eq!(k.established(&[2]), None);
        assert_eq!(k.established(&[3]), None);
        // Client 1 keeps talking: client 2 is now the least recently used.
        k.touch(&[1]);
        assert_eq!(k.established(&[4]).as_deref(), Some(&[2u8][..]));
        assert_eq!(k.len(), KNOWN_MAX);
    }

    #[test]
    fn kids_too_long_for_oscore_are_not_recorded() {
        let mut k = KnownContexts::default();
        assert_eq!(k.established(&[0; 8]), None);
        assert_eq!(k.len(), 0);
    }
}
