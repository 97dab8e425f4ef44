//! lakers' cryptography with its panics on peer input taken out.
//!
//! `lakers-crypto-rustcrypto` 0.8 (the newest release) `expect`s that every public key it is
//! given is a point on P-256: a peer's ephemeral key `G_X` in message 1, or the static key in a
//! credential a stranger sends by value in message 3, that is not on the curve panics the device
//! (lakers issue 93 upstream: the trait's `p256_ecdh` cannot return an error). [`GuardedCrypto`]
//! wraps it and checks first:
//! - a public key that is not an x-coordinate on P-256 (or our own private key that is not a
//!   scalar, which only corrupted storage could give) yields a fresh random "shared secret"
//!   that nobody knows, so the handshake fails where EDHOC checks its MACs, as for any wrong
//!   key; the screen in `screen.rs` already refuses such a `G_X` before lakers sees it, so this
//!   is the second line;
//! - a ciphertext shorter than its tag, a digest or key stream longer than lakers' buffers: an
//!   error or a bounded result, never an out-of-range slice.

use lakers::{
    BufferCiphertext3, BufferPlaintext3, BytesCcmIvLen, BytesCcmKeyLen, BytesHashLen,
    BytesMaxBuffer, BytesMaxInfoBuffer, BytesP256ElemLen, Crypto as CryptoTrait, EDHOCError,
    MAX_BUFFER_LEN,
};
use p256::elliptic_curve::point::DecompressPoint as _;

/// The length of AES-CCM-16-64-128's tag (EDHOC cipher suite 2).
const TAG_LEN: usize = 8;
/// The largest output HKDF-SHA-256 may produce (RFC 5869: 255 hash lengths).
const HKDF_MAX: usize = 255 * 32;

/// Whether `x` is the x-coordinate of a point on P-256 (what EDHOC sends of a public key).
pub fn is_p256_x(x: &[u8; 32]) -> bool {
    let x = p256::FieldBytes::from(*x);
    // Either y will do: ECDH uses only the x-coordinate of the result.
    p256::AffinePoint::decompress(&x, 1u8.into())
        .is_some()
        .into()
}

/// Whether `k` is a valid P-256 private key (a scalar in 1..n).
pub fn is_p256_scalar(k: &[u8; 32]) -> bool {
    p256::NonZeroScalar::from_repr(p256::FieldBytes::from(*k))
        .is_some()
        .into()
}

/// A lakers crypto provider that refuses hostile input instead of panicking (see the module).
#[derive(Debug)]
pub struct GuardedCrypto<C>(pub C);

impl<C: CryptoTrait> GuardedCrypto<C> {
    /// 32 random bytes: a shared secret nobody knows.
    fn unknowable(&mut self) -> BytesP256ElemLen {
        let mut out = [0u8; 32];
        for b in &mut out {
            *b = self.0.get_random_byte();
        }
        out
    }
}

impl<C: CryptoTrait> CryptoTrait for GuardedCrypto<C> {
    fn supported_suites(&self) -> lakers::EdhocBuffer<{ lakers::MAX_SUITES_LEN }> {
        self.0.supported_suites()
    }

    fn sha256_digest(&mut self, message: &BytesMaxBuffer, message_len: usize) -> BytesHashLen {
        // lakers computes `message_len` from its own buffers; clamp rather than trust that.
        self.0
            .sha256_digest(message, message_len.min(MAX_BUFFER_LEN))
    }

    fn hkdf_expand(
        &mut self,
        prk: &BytesHashLen,
        info: &BytesMaxInfoBuffer,
        info_len: usize,
        length: usize,
    ) -> BytesMaxBuffer {
        let info_len = info_len.min(info.len());
        self.0.hkdf_expand(
            prk,
            info,
            info_len,
            length.min(MAX_BUFFER_LEN).min(HKDF_MAX),
        )
    }

    fn hkdf_extract(&mut self, salt: &BytesHashLen, ikm: &BytesP256ElemLen) -> BytesHashLen {
        self.0.hkdf_extract(salt, ikm)
    }

    fn aes_ccm_encrypt_tag_8(
        &mut self,
        key: &BytesCcmKeyLen,
        iv: &BytesCcmIvLen,
        ad: &[u8],
        plaintext: &BufferPlaintext3,
    ) -> BufferCiphertext3 {
        self.0.aes_ccm_encrypt_tag_8(key, iv, ad, plaintext)
    }

    fn aes_ccm_decrypt_tag_8(
        &mut self,
        key: &BytesCcmKeyLen,
        iv: &BytesCcmIvLen,
        ad: &[u8],
        ciphertext: &BufferCiphertext3,
    ) -> Result<BufferPlaintext3, EDHOCError> {
        // Shorter than its tag: the provider would subtract past zero and slice out of range.
        if ciphertext.len < TAG_LEN || ciphertext.len > ciphertext.content.len() {
            return Err(EDHOCError::MacVerificationFailed);
        }
        self.0.aes_ccm_decrypt_tag_8(key, iv, ad, ciphertext)
    }

    fn p256_ecdh(
        &mut self,
        private_key: &BytesP256ElemLen,
        public_key: &BytesP256ElemLen,
    ) -> BytesP256ElemLen {
        if !is_p256_x(public_key) || !is_p256_scalar(private_key) {
            return self.unknowable();
        }
        self.0.p256_ecdh(private_key, public_key)
    }

    fn get_random_byte(&mut self) -> u8 {
        self.0.get_random_byte()
    }

    fn p256_generate_key_pair(&mut self) -> (BytesP256ElemLen, BytesP256ElemLen) {
        self.0.p256_generate_key_pair()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng as _;

    fn crypto() -> GuardedCrypto<lakers_crypto_rustcrypto::Crypto<rand_chacha::ChaCha20Rng>> {
        GuardedCrypto(lakers_crypto_rustcrypto::Crypto::new(
            rand_chacha::ChaCha20Rng::from_seed([7; 32]),
        ))
    }

    #[test]
    fn a_public_key_off_the_curve_gives_an_unknowable_secret_not_a_panic() {
        let mut c = crypto();
        let (private_key, public_key) = c.p256_generate_key_pair();
        assert!(is_p256_x(&public_key) && is_p256_scalar(&private_key));
        // x = 0x0101…01 is not on P-256 (x³ - 3x + b is not a square); 0xff…ff is not even a
        // field element (it is above p).
        let off = [0x01u8; 32];
        assert!(!is_p256_x(&off));
        let over = [0xff; 32];
        assert!(!is_p256_x(&over));
        let a = c.p256_ecdh(&private_key, &off);
        let b = c.p256_ecdh(&private_key, &off);
        assert_ne!(a, b, "each refusal is a fresh random secret");
        // A valid key still agrees with the other side.
        let (k2, x2) = c.p256_generate_key_pair();
        assert_eq!(
            c.p256_ecdh(&private_key, &x2),
            c.p256_ecdh(&k2, &public_key)
        );
        // Zero is not a private key.
        assert!(!is_p256_scalar(&[0; 32]));
        let _ = c.p256_ecdh(&[0; 32], &public_key);
    }

    #[test]
    fn a_ciphertext_shorter_than_its_tag_fails_verification() {
        let mut c = crypto();
        let mut short = BufferCiphertext3::new();
        short.len = 3;
        let r = c.aes_ccm_decrypt_tag_8(&[0; 16], &[0; 13], b"", &short);
        assert!(matches!(r, Err(EDHOCError::MacVerificationFailed)));
    }
}
