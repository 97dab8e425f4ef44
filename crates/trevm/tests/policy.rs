//! The trust policy's verdicts on capsules signed the way `trevm-sign` signs them: trusted keys,
//! per-key names and grants, anti-rollback, the unsigned opt-in and hostile trailers. (Integration
//! tests, so that they sign with `trevm-sign` itself rather than a copy of it: `trevm-sign`
//! depends on this crate.)

use trevm::capsule::{Capsule, TrailerKind, encode, encode_with_trailer, with_trailer};
use trevm::manifest::Manifest;
use trevm::trust::{KeyId, Provenance, TrustError, TrustPolicy, TrustedKey, VersionLedger};
use trevm::{EngineProfile, Preemption};

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
        let trailer = trevm_sign::sign_manifest(&m, kid, |tbs| *self.0.sk.sign(tbs, None));
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
    let patched = encode_with_trailer(
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
    let renamed = encode_with_trailer(
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
