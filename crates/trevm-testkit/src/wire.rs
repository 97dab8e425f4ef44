//! Malformed CoAP datagrams for tests of a device over the wire: random bytes, truncated headers,
//! option deltas and lengths using the reserved nibble 15, token lengths 9–15 (reserved), and
//! options that run past the datagram's end. Deterministic (a seed), so a failure repeats.

/// xorshift64*: enough randomness for garbage, no dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced by a fixed non-zero value).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// The kinds of malformed datagram [`malformed`] makes, in turn.
pub const KINDS: usize = 6;

/// The `i`-th malformed datagram of a burst (kind `i % KINDS`), at most 1280 bytes:
/// 0 random bytes (0–1280); 1 a header cut short (0–3 bytes); 2 a confirmable GET whose token
/// length is 9–15 (reserved); 3 an option delta of 15 that is not the payload marker; 4 an option
/// length of 15; 5 an option whose extended length runs past the end.
pub fn malformed(rng: &mut Rng, i: usize) -> Vec<u8> {
    let mid = rng.next_u64() as u16;
    let header = |tkl: u8| {
        let [a, b] = mid.to_be_bytes();
        vec![0x40 | tkl, 0x01, a, b]
    };
    match i % KINDS {
        0 => {
            let len = rng.below(1281);
            rng.bytes(len)
        }
        1 => {
            let len = rng.below(4);
            let mut h = header(0);
            h.truncate(len);
            h
        }
        2 => {
            let tkl = 9 + rng.below(7) as u8;
            let mut d = header(tkl);
            d.extend({
                let n = rng.below(16);
                rng.bytes(n)
            });
            d
        }
        3 => {
            let mut d = header(0);
            // Delta 15, length 0..14: reserved unless the whole byte is 0xff.
            d.push(0xf0 | rng.below(15) as u8);
            d.extend({
                let n = rng.below(8);
                rng.bytes(n)
            });
            d
        }
        4 => {
            let mut d = header(0);
            // Uri-Path (11) with length nibble 15: reserved.
            d.push(0xbf);
            d.extend({
                let n = rng.below(8);
                rng.bytes(n)
            });
            d
        }
        _ => {
            let mut d = header(0);
            // Uri-Path with a 2-byte extended length (269 + n) and far fewer bytes after it.
            d.extend([0xbe, 0xff, 0xff]);
            d.extend({
                let n = rng.below(32);
                rng.bytes(n)
            });
            d
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_made_and_bounded() {
        let mut rng = Rng::new(7);
        for i in 0..600 {
            let d = malformed(&mut rng, i);
            assert!(d.len() <= 1280);
            match i % KINDS {
                1 => assert!(d.len() < 4),
                2 => assert!(d[0] & 0x0f >= 9),
                3 => assert_eq!(d[4] >> 4, 15),
                4 => assert_eq!(d[4] & 0x0f, 15),
                5 => assert!(d.len() < 4 + 3 + 269),
                _ => {}
            }
        }
    }
}
