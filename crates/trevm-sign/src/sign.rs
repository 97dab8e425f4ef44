//! Manifests for capsules: attached unsigned, or signed into a COSE_Sign1 with what they state
//! ([`Claims`]: version, grants, exports), and verified as a device does.

use trevm::capsule::{self, TrailerKind};
use trevm::trust::{self, KeyId, TrustedKey, VerifiedCapsule, VersionLedger};
use trevm::{Capsule, ExportedFunc, Manifest, Target, TrustPolicy};

use crate::{SignError, SigningKey, default_version};

/// Makes the signature trailer for `manifest`: a COSE_Sign1 (RFC 9052) with `kid` in its
/// protected header, its signature computed by `sign` (Ed25519 over the bytes it is given), in
/// exactly the shape a device reads (`trevm::trust` module docs). The device never signs.
pub fn sign_manifest(
    manifest: &Manifest,
    kid: KeyId,
    sign: impl FnOnce(&[u8]) -> [u8; 64],
) -> Vec<u8> {
    use coset::{CoseSign1Builder, HeaderBuilder, TaggedCborSerializable, iana};
    let protected = HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .key_id(kid.0.to_vec())
        .build();
    CoseSign1Builder::new()
        .protected(protected)
        .payload(manifest.to_cbor())
        .create_signature(b"", |tbs| sign(tbs).to_vec())
        .build()
        .to_tagged_vec()
        // Encoding into a `Vec` cannot fail.
        .unwrap_or_default()
}

/// What a manifest states beyond what the capsule itself says (its name, profile and payload
/// digest): for [`sign_with`]. A field left `None` is taken from the manifest the capsule
/// already carries (from `trevm build`, or an earlier signature), whose digest must then match
/// the payload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claims {
    /// The anti-rollback version; `None`: [`default_version`] (never the carried one: a new
    /// signature is a new version).
    pub version: Option<u64>,
    /// The imports the capsule may have.
    pub grants: Option<Vec<String>>,
    /// The exported functions and their types (those of a plain-wasm capsule). `None` for a
    /// precompiled component without a carried manifest: none (its types are in the component).
    pub exports: Option<Vec<ExportedFunc>>,
}

/// Attaches an unsigned manifest (name, profile and digest from the capsule, with `version` and
/// `grants`, no exports) to a capsule: what `trevm build --unsigned` writes for a precompiled
/// component, and what [`sign`] can sign later. For a plain-wasm capsule see
/// [`attach_manifest_with`].
pub fn attach_manifest(
    capsule_bytes: &[u8],
    version: u64,
    grants: Vec<String>,
) -> Result<Vec<u8>, SignError> {
    attach_manifest_with(capsule_bytes, version, grants, Vec::new())
}

/// [`attach_manifest`] with the exported functions' types a plain-wasm capsule's manifest
/// carries (`trevm build --vm wasmi --unsigned`, and unsigned builds for `include_capsule!`).
pub fn attach_manifest_with(
    capsule_bytes: &[u8],
    version: u64,
    grants: Vec<String>,
    exports: Vec<ExportedFunc>,
) -> Result<Vec<u8>, SignError> {
    let capsule = Capsule::from_slice(capsule_bytes)?;
    let manifest = Manifest::describe(&capsule, version, grants).with_exports(exports);
    let cbor = readable(&manifest)?;
    Ok(capsule::with_trailer(
        &capsule,
        TrailerKind::Manifest,
        &cbor,
    )?)
}

/// The CBOR of `manifest`, if a device would read it (every bound respected: at most 32 grants,
/// 64 exports, …): refused here, where the capsule is made, rather than on the device.
fn readable(manifest: &Manifest) -> Result<Vec<u8>, SignError> {
    let cbor = manifest.to_cbor();
    Manifest::from_cbor(&cbor).map_err(|e| {
        SignError::Unsignable(format!(
            "a device would refuse this capsule's manifest: {e}"
        ))
    })?;
    Ok(cbor)
}

/// Signs a capsule with `key`. The grants are `grants` if given, else those of the manifest the
/// capsule carries (from `trevm build`, or an earlier signature), whose digest must match the
/// payload; so are the exported functions' types of a plain-wasm capsule. The version is
/// `version`, else [`default_version`]. [`sign_with`] says the exports too.
pub fn sign(
    capsule_bytes: &[u8],
    key: &SigningKey,
    version: Option<u64>,
    grants: Option<Vec<String>>,
) -> Result<Vec<u8>, SignError> {
    let claims = Claims {
        version,
        grants,
        exports: None,
    };
    sign_with(capsule_bytes, key, claims)
}

/// Signs a capsule with `key`, stating `claims` (each one not given is taken from the manifest
/// the capsule carries: see [`Claims`]).
pub fn sign_with(
    capsule_bytes: &[u8],
    key: &SigningKey,
    claims: Claims,
) -> Result<Vec<u8>, SignError> {
    let capsule = Capsule::from_slice(capsule_bytes)?;
    let wasm = capsule.profile().target == Target::Wasm;
    // The carried manifest is read only when something is taken from it.
    let needed = claims.grants.is_none() || (wasm && claims.exports.is_none());
    let carried = if needed { carried(&capsule)? } else { None };
    let (carried_grants, carried_exports) = match carried {
        Some(m) => (Some(m.grants), Some(m.exports)),
        None => (None, None),
    };
    let grants = claims.grants.or(carried_grants).ok_or_else(|| {
        SignError::Unsignable(
            "the capsule carries no manifest, so its imports are unknown: rebuild it with \
             `trevm build` or list them with --grant"
                .into(),
        )
    })?;
    let exports = match claims.exports.or(carried_exports) {
        Some(exports) => exports,
        None if wasm => {
            return Err(SignError::Unsignable(
                "the capsule is plain wasm for the wasmi provider and carries no manifest, so \
                 the types of its exports are unknown: rebuild it with `trevm build --vm wasmi`"
                    .into(),
            ));
        }
        None => Vec::new(),
    };
    let version = claims.version.unwrap_or_else(default_version);
    let manifest = Manifest::describe(&capsule, version, grants).with_exports(exports);
    readable(&manifest)?;
    let trailer = sign_manifest(&manifest, key.kid(), |tbs| key.sign_bytes(tbs));
    Ok(capsule::with_trailer(
        &capsule,
        TrailerKind::Signed,
        &trailer,
    )?)
}

/// The manifest `capsule` carries, if any, provided it describes this payload.
fn carried(capsule: &Capsule<'_>) -> Result<Option<Manifest>, SignError> {
    let Some((claimed, _)) = trust::claimed_manifest(capsule)? else {
        return Ok(None);
    };
    if claimed.digest != trevm::manifest::sha256(capsule.payload()) {
        return Err(SignError::Unsignable(
            "the capsule's payload does not match its manifest's digest: it was altered; \
             rebuild it instead of signing it"
                .into(),
        ));
    }
    Ok(Some(claimed))
}

/// Verifies a capsule against `keys` exactly as a device does (no installed versions).
pub fn verify(capsule_bytes: &[u8], keys: &[TrustedKey]) -> Result<trust::Signed, SignError> {
    let capsule = Capsule::from_slice(capsule_bytes)?;
    let policy = keys
        .iter()
        .cloned()
        .fold(TrustPolicy::new(), TrustPolicy::trust);
    let verified: VerifiedCapsule<'_> = policy.verify(capsule, &VersionLedger::new())?;
    verified
        .signed()
        .cloned()
        .ok_or_else(|| SignError::Unsignable("not signed".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use trevm::{EngineProfile, FuncType, Preemption, ValType};

    fn fib() -> Vec<ExportedFunc> {
        vec![ExportedFunc {
            name: "fib".into(),
            ty: FuncType {
                params: vec![("n".into(), ValType::U32)],
                results: vec![ValType::U32],
            },
        }]
    }

    fn wasm_capsule() -> Vec<u8> {
        // The signer does not read the payload: any bytes stand for a core module.
        capsule::encode(EngineProfile::wasmi(Preemption::Fuel), "fib", b"\0asm core").unwrap()
    }

    fn signed_manifest(capsule: &[u8], key: &SigningKey) -> Manifest {
        verify(capsule, &[key.trusted("test")]).unwrap().manifest
    }

    #[test]
    fn exports_survive_attaching_signing_and_re_signing() {
        let key = SigningKey::generate();
        let grants = vec!["ariel:wasm-bindings/log-api@0.0.1".to_string()];
        let unsigned = attach_manifest_with(&wasm_capsule(), 7, grants.clone(), fib()).unwrap();
        let signed = sign(&unsigned, &key, Some(8), None).unwrap();
        let m = signed_manifest(&signed, &key);
        assert_eq!((m.version, &m.grants, &m.exports), (8, &grants, &fib()));
        // Re-signing, with other grants or another key, keeps them.
        let other = SigningKey::generate();
        let resigned = sign(&signed, &other, Some(9), Some(Vec::new())).unwrap();
        let m = signed_manifest(&resigned, &other);
        assert_eq!((m.version, m.grants.len(), &m.exports), (9, 0, &fib()));
        // Unless new ones are given.
        let claims = Claims {
            exports: Some(Vec::new()),
            ..Claims::default()
        };
        let bare = sign_with(&resigned, &key, claims).unwrap();
        assert!(signed_manifest(&bare, &key).exports.is_empty());
    }

    #[test]
    fn a_wasm_capsule_without_a_manifest_is_not_signed_with_unknown_exports() {
        let key = SigningKey::generate();
        let err = sign(&wasm_capsule(), &key, Some(1), Some(Vec::new())).unwrap_err();
        assert!(err.to_string().contains("trevm build --vm wasmi"), "{err}");
        let claims = Claims {
            grants: Some(Vec::new()),
            exports: Some(fib()),
            ..Claims::default()
        };
        let signed = sign_with(&wasm_capsule(), &key, claims).unwrap();
        assert_eq!(signed_manifest(&signed, &key).exports, fib());
        // A precompiled component needs no exports in its manifest.
        let pulley =
            capsule::encode(EngineProfile::pulley32(Preemption::Fuel), "p", b"elf").unwrap();
        let signed = sign(&pulley, &key, Some(1), Some(Vec::new())).unwrap();
        assert!(signed_manifest(&signed, &key).exports.is_empty());
    }

    #[test]
    fn a_manifest_a_device_would_refuse_is_refused_when_made() {
        let many: Vec<String> = (0..33).map(|i| format!("g{i}")).collect();
        let err = attach_manifest(&wasm_capsule(), 1, many.clone()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a device would refuse this capsule's manifest: malformed capsule manifest: more \
             than 32 grants"
        );
        let key = SigningKey::generate();
        assert!(sign(&wasm_capsule(), &key, Some(1), Some(many)).is_err());
        let mut long = fib();
        long[0].name = "f".repeat(129);
        let err = attach_manifest_with(&wasm_capsule(), 1, Vec::new(), long).unwrap_err();
        assert!(err.to_string().contains("export name"), "{err}");
    }

    #[test]
    fn an_altered_payload_is_not_re_signed() {
        let unsigned = attach_manifest_with(&wasm_capsule(), 1, Vec::new(), fib()).unwrap();
        let capsule = Capsule::from_slice(&unsigned).unwrap();
        let claimed = trust::claimed_manifest(&capsule).unwrap().unwrap().0;
        let other =
            capsule::encode(EngineProfile::wasmi(Preemption::Fuel), "fib", b"other").unwrap();
        let other = Capsule::from_slice(&other).unwrap();
        let altered =
            capsule::with_trailer(&other, TrailerKind::Manifest, &claimed.to_cbor()).unwrap();
        let err = sign(&altered, &SigningKey::generate(), Some(2), None).unwrap_err();
        assert!(err.to_string().contains("altered"), "{err}");
    }
}
