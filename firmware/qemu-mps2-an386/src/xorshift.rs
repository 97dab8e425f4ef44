//! A stand-in RNG for the demos: QEMU's MPS2 has no hardware RNG.

/// xorshift64*: QEMU's MPS2 has no hardware RNG. Fine for a demo, not for cryptography.
pub(crate) struct XorShift(pub(crate) u64);

impl rand_core::RngCore for XorShift {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        rand_core::impls::fill_bytes_via_next(self, dst)
    }
}

// Not true (see above): the CoAP demo's security layer needs a `CryptoRng` and the QEMU board has
// nothing better. This firmware never leaves QEMU; a real device uses its hardware RNG.
#[cfg(feature = "coap-oscore")]
impl rand_core::CryptoRng for XorShift {}
