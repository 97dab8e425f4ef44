//! [`TrustPolicy`]: the keys a device trusts, and the checks a capsule passes.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use super::cose::Sign1;
use super::error::TrustError;
use super::key::TrustedKey;
use super::kid::KeyId;
use super::ledger::VersionLedger;
use super::verified::{Provenance, Signed, VerifiedCapsule};
use crate::capsule::{Capsule, TrailerKind};
use crate::manifest::{Manifest, sha256};

/// The keys a device trusts, and whether it runs unsigned capsules (it should not).
#[derive(Debug, Clone, Default)]
pub struct TrustPolicy {
    keys: Vec<TrustedKey>,
    accept_unsigned: bool,
}

impl TrustPolicy {
    /// A policy trusting nobody: every capsule is refused until a key is added.
    pub const fn new() -> Self {
        TrustPolicy {
            keys: Vec::new(),
            accept_unsigned: false,
        }
    }

    /// Adds a trusted key.
    pub fn trust(mut self, key: TrustedKey) -> Self {
        self.keys.push(key);
        self
    }

    /// Lets [`TrustPolicy::verify`] pass capsules without a signature (with
    /// [`Provenance::Unchecked`]); signed ones are still checked. For development only.
    ///
    /// # Safety
    ///
    /// Wasmtime runs precompiled code as it is: an unsigned capsule can read and write any host
    /// memory or freeze the device. The caller guarantees that every capsule this policy will be
    /// asked to verify comes from a trusted source (e.g. a developer's own build on a device on
    /// their desk), as [`VerifiedCapsule::assume_trusted`] requires.
    pub unsafe fn accept_unsigned(mut self) -> Self {
        self.accept_unsigned = true;
        self
    }

    /// Whether unsigned capsules pass.
    pub fn accepts_unsigned(&self) -> bool {
        self.accept_unsigned
    }

    /// The trusted keys.
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// Checks a capsule's signature and manifest (steps 1–7 of the [module docs](self)) against
    /// this policy and `ledger`. Wasmtime sees nothing of it here.
    pub fn verify<'a>(
        &self,
        capsule: Capsule<'a>,
        ledger: &VersionLedger,
    ) -> Result<VerifiedCapsule<'a>, TrustError> {
        if capsule.header().trailer_kind != TrailerKind::Signed {
            return if self.accept_unsigned {
                Ok(VerifiedCapsule::new(capsule, Provenance::Unchecked))
            } else {
                Err(TrustError::Unsigned)
            };
        }
        let sign1 = Sign1::decode(capsule.trailer())?;
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == sign1.kid)
            .ok_or(TrustError::UnknownSigner { kid: sign1.kid })?;
        if !sign1.verify_signature(&key.public) {
            return Err(TrustError::BadSignature {
                signer: key.label.clone(),
            });
        }
        let m = &sign1.manifest;
        if sha256(capsule.payload()) != *m.digest {
            return Err(TrustError::DigestMismatch);
        }
        if m.name != capsule.name() {
            return Err(TrustError::HeaderMismatch("name"));
        }
        if m.profile != capsule.header().stamp {
            return Err(TrustError::HeaderMismatch("engine profile"));
        }
        if !key.names.permits(m.name) {
            return Err(TrustError::NameNotAllowed {
                name: String::from(m.name),
                signer: key.label.clone(),
            });
        }
        if let Some(grant) = m.grants().iter().find(|g| !key.grants.permits(g)) {
            return Err(TrustError::GrantNotAllowed {
                grant: String::from(*grant),
                signer: key.label.clone(),
            });
        }
        ledger.check(m.name, m.version, m.digest)?;
        // Passed: only now is anything allocated (the record of who vouched for what).
        let signed = Signed {
            kid: sign1.kid,
            signer: key.label.clone(),
            manifest: m.to_owned(),
        };
        Ok(VerifiedCapsule::new(
            capsule,
            Provenance::Signed(Box::new(signed)),
        ))
    }
}

/// Reads the manifest a capsule carries, signed or not, *without* checking anything: for tools
/// that show what a capsule claims (`trevm inspect`) or re-sign it (`trevm sign`).
pub fn claimed_manifest(
    capsule: &Capsule<'_>,
) -> Result<Option<(Manifest, Option<KeyId>)>, TrustError> {
    match capsule.header().trailer_kind {
        TrailerKind::None => Ok(None),
        TrailerKind::Manifest => Ok(Some((Manifest::from_cbor(capsule.trailer())?, None))),
        TrailerKind::Signed => {
            let sign1 = Sign1::decode(capsule.trailer())?;
            Ok(Some((sign1.manifest.to_owned(), Some(sign1.kid))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capsule::{encode, with_trailer};
    use crate::profile::{EngineProfile, Preemption};
    use crate::trust::KeyId;
    use alloc::string::ToString;

    /// What `trevm_sign::sign_manifest` does (trevm-sign depends on this crate, so its tests
    /// cannot): coset writes the COSE_Sign1.
    fn sign_manifest(m: &Manifest, kid: KeyId, sign: impl FnOnce(&[u8]) -> [u8; 64]) -> Vec<u8> {
        use coset::{CoseSign1Builder, HeaderBuilder, TaggedCborSerializable, iana};
        let protected = HeaderBuilder::new()
            .algorithm(iana::Algorithm::EdDSA)
            .key_id(kid.0.to_vec())
            .build();
        CoseSign1Builder::new()
            .protected(protected)
            .payload(m.to_cbor())
            .create_signature(b"", |tbs| sign(tbs).to_vec())
            .build()
            .to_tagged_vec()
            .unwrap()
    }

    struct Key(ed25519_compact::KeyPair);

    impl Key {
        fn new(seed: u8) -> Self {
            Key(ed25519_compact::KeyPair::from_seed(
                ed25519_compact::Seed::new([seed; 32]),
            ))
        }
        fn trusted(&self) -> TrustedKey {
            TrustedKey::ed25519(*self.0.pk).unwrap()
        }
        fn sign(&self, capsule: &[u8], version: u64, grants: &[&str]) -> Vec<u8> {
            let c = Capsule::from_slice(capsule).unwrap();
            let m = Manifest::describe(&c, version, grants.iter().map(|g| g.to_string()).collect());
            let kid = KeyId::of(&self.0.pk);
            let trailer = sign_manifest(&m, kid, |tbs| *self.0.sk.sign(tbs, None));
            with_trailer(&c, TrailerKind::Signed, &trailer).unwrap()
        }
    }

    fn unsigned() -> Vec<u8> {
        encode(
            EngineProfile::pulley32(Preemption::Fuel),
            "hello",
            b"pretend precompiled code",
        )
        .unwrap()
    }

    fn verify(policy: &TrustPolicy, bytes: &[u8]) -> Result<u64, TrustError> {
        let c = Capsule::from_slice(bytes).unwrap();
        policy
            .verify(c, &VersionLedger::new())
            .map(|v| v.signed().unwrap().manifest.version)
    }

    #[test]
    fn signed_by_a_trusted_key_passes_and_everything_else_is_refused() {
        let key = Key::new(1);
        let policy = TrustPolicy::new().trust(key.trusted());
        let signed = key.sign(&unsigned(), 7, &["ariel:wasm-bindings/log-api@0.0.1"]);
        assert_eq!(verify(&policy, &signed), Ok(7));

        assert_eq!(verify(&policy, &unsigned()), Err(TrustError::Unsigned));

        let stranger = Key::new(2).sign(&unsigned(), 7, &[]);
        assert!(matches!(
            verify(&policy, &stranger),
            Err(TrustError::UnknownSigner { .. })
        ));

        // Payload patched after signing, CRC recomputed.
        let c = Capsule::from_slice(&signed).unwrap();
        let mut payload = c.payload().to_vec();
        payload[3] ^= 0x40;
        let patched = crate::capsule::encode_with_trailer(
            c.profile(),
            c.name(),
            &payload,
            TrailerKind::Signed,
            c.trailer(),
        )
        .unwrap();
        assert_eq!(verify(&policy, &patched), Err(TrustError::DigestMismatch));

        // A signature byte flipped, CRC recomputed.
        let mut trailer = c.trailer().to_vec();
        let last = trailer.len() - 1;
        trailer[last] ^= 1;
        let forged = with_trailer(&c, TrailerKind::Signed, &trailer).unwrap();
        assert!(matches!(
            verify(&policy, &forged),
            Err(TrustError::BadSignature { .. })
        ));

        // Renamed in the header after signing.
        let renamed = crate::capsule::encode_with_trailer(
            c.profile(),
            "other",
            c.payload(),
            TrailerKind::Signed,
            c.trailer(),
        )
        .unwrap();
        assert_eq!(
            verify(&policy, &renamed),
            Err(TrustError::HeaderMismatch("name"))
        );
    }

    #[test]
    fn per_key_names_and_grants() {
        let key = Key::new(3);
        let policy = TrustPolicy::new().trust(
            key.trusted()
                .with_label("sensor key")
                .only_names(["sensor-*"])
                .only_grants(["ariel:wasm-bindings/log-api@0.0.1"]),
        );
        let err = verify(&policy, &key.sign(&unsigned(), 1, &[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "sensor key is not allowed to sign capsules named `hello` on this device"
        );
        let named = encode(
            EngineProfile::pulley32(Preemption::Fuel),
            "sensor-1",
            b"code",
        )
        .unwrap();
        assert!(
            verify(
                &policy,
                &key.sign(&named, 1, &["ariel:wasm-bindings/log-api@0.0.1"])
            )
            .is_ok()
        );
        let err = verify(
            &policy,
            &key.sign(&named, 1, &["ariel:wasm-bindings/udp-api@0.0.1"]),
        )
        .unwrap_err();
        assert!(matches!(err, TrustError::GrantNotAllowed { .. }), "{err}");
        assert!(!err.is_authentication_failure());
    }

    #[test]
    fn anti_rollback() {
        let key = Key::new(4);
        let policy = TrustPolicy::new().trust(key.trusted());
        let mut ledger = VersionLedger::new();
        let v2 = key.sign(&unsigned(), 2, &[]);
        let verified = policy
            .verify(Capsule::from_slice(&v2).unwrap(), &ledger)
            .unwrap();
        ledger.record(&verified);
        assert_eq!(ledger.installed("hello"), Some(2));
        // The same capsule again is fine.
        assert!(
            policy
                .verify(Capsule::from_slice(&v2).unwrap(), &ledger)
                .is_ok()
        );
        let v1 = key.sign(&unsigned(), 1, &[]);
        let err = policy
            .verify(Capsule::from_slice(&v1).unwrap(), &ledger)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "version 1 of `hello` is older than the installed version 2 (anti-rollback)"
        );
        let other = encode(
            EngineProfile::pulley32(Preemption::Fuel),
            "hello",
            b"new code",
        )
        .unwrap();
        let same_version = key.sign(&other, 2, &[]);
        assert!(matches!(
            policy.verify(Capsule::from_slice(&same_version).unwrap(), &ledger),
            Err(TrustError::Rollback { installed: 2, .. })
        ));
    }

    #[test]
    fn unsigned_only_with_the_unsafe_opt_in() {
        // SAFETY: test bytes are never loaded.
        let policy = unsafe { TrustPolicy::new().accept_unsigned() };
        let bytes = unsigned();
        let v = policy
            .verify(Capsule::from_slice(&bytes).unwrap(), &VersionLedger::new())
            .unwrap();
        assert_eq!(v.provenance(), &Provenance::Unchecked);
    }

    #[test]
    fn hostile_trailers_are_refused_without_panicking() {
        let c = Capsule::from_slice(&unsigned()).unwrap().into_owned();
        let policy = TrustPolicy::new().trust(Key::new(5).trusted());
        let cases: [&[u8]; 6] = [
            &[0xd2],
            &[0xd2, 0x84, 0x40, 0xa0, 0x40, 0x40],
            &[0xd2, 0x98, 0xff],
            &[0xc6, 0x00],
            &[0xd2, 0x84, 0x43, 0xa1, 0x01, 0x27, 0xa0, 0xf6, 0x40],
            &[0xff; 100],
        ];
        for trailer in cases {
            let bytes = with_trailer(&c, TrailerKind::Signed, trailer).unwrap();
            let err = verify(&policy, &bytes).unwrap_err();
            assert!(err.is_authentication_failure(), "{err}");
        }
    }
}
