//! Fuzzing "bytes → verify → load" on stable: a proptest harness that CI runs for a fixed number
//! of cases (`TREVM_FUZZ_CASES`, default 10,000 per property; docs/security.md records the runs).
//!
//! It feeds the device path everything an attacker on the network could send — random bytes,
//! a real signed capsule with bytes flipped (with and without the CRC recomputed), truncated or
//! extended, its trailer replaced, its payload patched and re-signed with an untrusted key — and
//! checks that nothing panics, that only the unaltered capsule verifies, and that what verifies
//! loads and runs.

mod common;

use std::sync::OnceLock;

use common::*;
use proptest::prelude::*;
use trevm::capsule::{TrailerKind, encode_with_trailer};
use trevm::{Capsule, EngineProfile, HostState, Limits, TrustPolicy, VersionLedger};

fn signed() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| capsule_bytes("sandbox", EngineProfile::for_this_machine()))
}

fn device_policy() -> &'static TrustPolicy {
    static POLICY: OnceLock<TrustPolicy> = OnceLock::new();
    POLICY.get_or_init(policy)
}

fn cases() -> u32 {
    std::env::var("TREVM_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000)
}

/// The device's path for uploaded bytes. Returns whether the capsule was admitted (and ran).
fn admit_and_run(bytes: Vec<u8>) -> bool {
    let Ok(capsule) = Capsule::from_vec(bytes) else {
        return false;
    };
    let Ok(verified) = device_policy().verify(capsule, &VersionLedger::new()) else {
        return false;
    };
    // Only code whose SHA-256 is the signed one may get here.
    let original = Capsule::from_slice(signed()).unwrap();
    assert_eq!(
        verified.payload(),
        original.payload(),
        "an altered payload passed verification"
    );
    let rt = runtime();
    let loaded = rt.load(&verified).expect("a verified capsule loads");
    let out = block_on(async {
        let mut inst = rt
            .instantiate(&loaded, HostState::new("fuzz"), Limits::new())
            .await?;
        inst.call("run", &[]).await
    });
    assert!(out.is_ok(), "{out:?}");
    true
}

/// Rebuilds the capsule around `payload` and `trailer` with a valid CRC.
fn with_valid_crc(payload: &[u8], trailer: &[u8]) -> Vec<u8> {
    let c = Capsule::from_slice(signed()).unwrap();
    let kind = if trailer.is_empty() {
        TrailerKind::None
    } else {
        TrailerKind::Signed
    };
    encode_with_trailer(c.profile(), c.name(), payload, kind, trailer).unwrap()
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_bytes_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        prop_assert!(!admit_and_run(bytes));
    }

    #[test]
    fn random_bytes_behind_a_valid_header_are_refused(
        payload in proptest::collection::vec(any::<u8>(), 0..1024),
        trailer in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        prop_assert!(!admit_and_run(with_valid_crc(&payload, &trailer)));
    }

    #[test]
    fn flipped_bytes_are_refused_with_or_without_a_recomputed_crc(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..8),
        fix_crc in any::<bool>(),
    ) {
        let mut bytes = signed().to_vec();
        for (at, mask) in &flips {
            let i = at.index(bytes.len());
            bytes[i] ^= mask;
        }
        if fix_crc && let Ok(c) = Capsule::from_slice(&bytes) {
            // Only meaningful while the header still parses: recompute over the altered body.
            bytes = encode_with_trailer(
                c.profile(), c.name(), c.payload(), c.header().trailer_kind, c.trailer(),
            ).unwrap_or(bytes.clone());
        } else if fix_crc {
            let c = Capsule::from_slice(signed()).unwrap();
            let body = &bytes[trevm::capsule::HEADER_LEN..];
            let payload_len = c.payload().len();
            if body.len() >= payload_len {
                bytes = with_valid_crc(&body[..payload_len], &body[payload_len..]);
            }
        }
        // A flip may only land where it changes nothing a device relies on; then the capsule is
        // the same code and runs. Everything else is refused.
        let admitted = admit_and_run(bytes.clone());
        if admitted {
            let c = Capsule::from_slice(&bytes).unwrap();
            let original = Capsule::from_slice(signed()).unwrap();
            prop_assert_eq!(c.payload(), original.payload());
        }
    }

    #[test]
    fn cut_or_extended_capsules_are_refused(cut in 0usize..64_000, extra in proptest::collection::vec(any::<u8>(), 1..64)) {
        let s = signed();
        let cut = cut % s.len();
        prop_assert!(!admit_and_run(s[..cut].to_vec()));
        let mut longer = s.to_vec();
        longer.extend_from_slice(&extra);
        prop_assert!(!admit_and_run(longer));
    }

    #[test]
    fn patched_code_is_refused_even_when_re_signed_by_a_stranger(
        at in any::<prop::sample::Index>(),
        mask in 1u8..=255,
    ) {
        let c = Capsule::from_slice(signed()).unwrap();
        let mut payload = c.payload().to_vec();
        let i = at.index(payload.len());
        payload[i] ^= mask;
        let patched = with_valid_crc(&payload, c.trailer());
        prop_assert!(!admit_and_run(patched.clone()));
        let stranger = trevm_sign::SigningKey::generate();
        let resigned = trevm_sign::sign(&patched, &stranger, Some(u64::MAX), Some(Vec::new())).unwrap();
        prop_assert!(!admit_and_run(resigned));
    }
}

#[test]
fn the_unaltered_capsule_is_admitted_and_runs() {
    assert!(admit_and_run(signed().to_vec()));
}
