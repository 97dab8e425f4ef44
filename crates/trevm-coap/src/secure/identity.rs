//! The device's own EDHOC credential: a P-256 key pair and the CWT Claims Set (CCS) clients know
//! it by, made on first start and kept by the application (a file on the native board).
//!
//! The CCS has the shape Ariel OS gives its devices, `{8: {1: {1: 2, 2: h'', -1: 1, -2: h'<x>'}}}`
//! (a COSE_Key: EC2, empty key id, P-256, x coordinate), and prints in CBOR diagnostic notation
//! so a client can paste it into its credentials as `"peer_cred": {14: …}`.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;

use lakers::CryptoTrait as _;

/// The device's credential and private key.
#[derive(Clone, PartialEq, Eq)]
pub struct Identity {
    x: [u8; 32],
    private_key: [u8; 32],
}

impl core::fmt::Debug for Identity {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print the private key.
        write!(f, "Identity({})", self.diag())
    }
}

/// Stored identity bytes that are not an identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityError(pub String);

impl core::fmt::Display for IdentityError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::error::Error for IdentityError {}

/// `to_bytes`'s format: a version byte, then x, then the private key.
const STORED_LEN: usize = 1 + 32 + 32;
const STORED_VERSION: u8 = 1;

impl Identity {
    /// A new key pair from `rng` (rand_core 0.9, as the device's RNG).
    pub fn generate(rng: &mut dyn rand_core::CryptoRng) -> Self {
        use rand_chacha::rand_core::SeedableRng as _;
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let mut crypto =
            lakers_crypto_rustcrypto::Crypto::new(rand_chacha::ChaCha20Rng::from_seed(seed));
        let (private_key, x) = crypto.p256_generate_key_pair();
        Identity { x, private_key }
    }

    /// The CCS in CBOR.
    pub fn ccs(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(46);
        // {8: {1: {1: 2, 2: h'', -1: 1, -2: h'<x>'}}}
        out.extend_from_slice(&[
            0xa1, 0x08, 0xa1, 0x01, 0xa4, 0x01, 0x02, 0x02, 0x40, 0x20, 0x01,
        ]);
        out.extend_from_slice(&[0x21, 0x58, 0x20]);
        out.extend_from_slice(&self.x);
        out
    }

    /// The CCS in CBOR diagnostic notation, as a client pastes it (`{8: {1: {…}}}`).
    pub fn diag(&self) -> String {
        let mut x = String::new();
        for b in self.x {
            let _ = write!(x, "{b:02x}");
        }
        alloc::format!("{{8: {{1: {{1: 2, 2: h'', -1: 1, -2: h'{x}'}}}}}}")
    }

    /// For storing: version, x, private key.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(STORED_LEN);
        out.push(STORED_VERSION);
        out.extend_from_slice(&self.x);
        out.extend_from_slice(&self.private_key);
        out
    }

    /// What [`Identity::to_bytes`] stored.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, IdentityError> {
        match bytes {
            [STORED_VERSION, rest @ ..] if rest.len() == 64 => {
                let mut x = [0u8; 32];
                let mut private_key = [0u8; 32];
                x.copy_from_slice(&rest[..32]);
                private_key.copy_from_slice(&rest[32..]);
                // Stored state is untrusted: a key that is no P-256 key pair would fail (or, in
                // lakers, panic) in every handshake.
                if !super::crypto::is_p256_scalar(&private_key) || !super::crypto::is_p256_x(&x) {
                    return Err(IdentityError(
                        "the stored device identity is not a P-256 key pair".into(),
                    ));
                }
                Ok(Identity { x, private_key })
            }
            _ => Err(IdentityError(alloc::format!(
                "not a stored device identity ({} bytes; {STORED_LEN} expected, version {STORED_VERSION})",
                bytes.len()
            ))),
        }
    }

    pub(super) fn credential(
        &self,
    ) -> Result<(lakers::Credential, lakers::BytesP256ElemLen), crate::policy::PolicyError> {
        let cred = lakers::Credential::parse_ccs(&self.ccs()).map_err(|e| {
            crate::policy::PolicyError(alloc::format!("the device's own credential: {e:?}"))
        })?;
        Ok((cred, self.private_key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter(u8);
    impl rand_core::RngCore for Counter {
        fn next_u32(&mut self) -> u32 {
            self.next_u64() as u32
        }
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(1);
            u64::from(self.0)
        }
        fn fill_bytes(&mut self, dst: &mut [u8]) {
            for b in dst {
                self.0 = self.0.wrapping_add(1);
                *b = self.0;
            }
        }
    }
    impl rand_core::CryptoRng for Counter {}

    #[test]
    fn an_identity_is_a_ccs_lakers_accepts_and_survives_storage() {
        let id = Identity::generate(&mut Counter(0));
        assert!(lakers::Credential::parse_ccs(&id.ccs()).is_ok());
        assert!(
            id.diag()
                .starts_with("{8: {1: {1: 2, 2: h'', -1: 1, -2: h'")
        );
        assert_eq!(Identity::from_bytes(&id.to_bytes()), Ok(id.clone()));
        assert!(Identity::from_bytes(&id.to_bytes()[1..]).is_err());
        let mut zero_key = id.to_bytes();
        zero_key[33..].fill(0);
        assert!(Identity::from_bytes(&zero_key).is_err());
        let mut off_curve = id.to_bytes();
        off_curve[1..33].fill(0xff);
        assert!(Identity::from_bytes(&off_curve).is_err());
    }
}
