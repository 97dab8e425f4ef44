//! Host-side signing of trevm capsules.
//!
//! - **Keys** are Ed25519, in the files OpenSSL and most tools read: the private key as PKCS#8
//!   PEM (`-----BEGIN PRIVATE KEY-----`, written with mode 0600), the public key as SPKI PEM
//!   (`-----BEGIN PUBLIC KEY-----`). `openssl pkey -in key.pem -pubout` gives the same public key.
//! - **The key id** (`kid`) a signature carries is the first 8 bytes of the SHA-256 of the raw
//!   public key ([`trevm::trust::KeyId`]), so a public key file is all a device needs.
//! - **The development key** ([`dev_key`]) is made on first use under the user's config
//!   directory, and devices started on this machine (`trevm serve`, the examples) trust it, so
//!   `trevm build` → `trevm push` works out of the box and stays signed.
//! - **Versions** default to the UTC build time as `YYYYMMDDhhmmss` ([`default_version`]): a newer
//!   build supersedes an older one without anybody counting.
//!
//! The capsule format, the manifest and the checks a device makes are in the `trevm` crate
//! ([`trevm::capsule`], [`trevm::manifest`], [`trevm::trust`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_compact::{KeyPair, PublicKey};
use trevm::capsule::{self, TrailerKind};
use trevm::trust::{self, KeyId, TrustedKey, VerifiedCapsule, VersionLedger};
use trevm::{Capsule, ExportedFunc, Manifest, Target, TrustPolicy};

/// What can go wrong handling keys and signatures.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// A key or capsule file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A key file is not what it should be.
    #[error("{path}: {why}")]
    BadKey {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// The bytes are not a valid capsule.
    #[error(transparent)]
    Capsule(#[from] trevm::CapsuleError),
    /// The capsule's manifest or signature was refused.
    #[error(transparent)]
    Trust(#[from] trevm::TrustError),
    /// Signing needs something the capsule does not have.
    #[error("{0}")]
    Unsignable(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SignError + '_ {
    move |source| SignError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// An Ed25519 signing key.
#[derive(Clone)]
pub struct SigningKey {
    pair: KeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new random key (from the operating system's generator).
    pub fn generate() -> Self {
        SigningKey {
            pair: KeyPair::generate(),
        }
    }

    /// Reads a PKCS#8 PEM private key.
    pub fn read(path: &Path) -> Result<Self, SignError> {
        let text = std::fs::read_to_string(path).map_err(io_err(path))?;
        let pair = KeyPair::from_pem(&text).map_err(|_| SignError::BadKey {
            path: path.to_path_buf(),
            why: "not an Ed25519 private key in PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`; \
                  make one with `trevm keygen`)"
                .into(),
        })?;
        Ok(SigningKey { pair })
    }

    /// The raw public key.
    pub fn public_key(&self) -> [u8; 32] {
        *self.pair.pk
    }

    /// The key id its signatures carry.
    pub fn kid(&self) -> KeyId {
        KeyId::of(&self.public_key())
    }

    /// The private key as PKCS#8 PEM.
    pub fn to_pem(&self) -> String {
        self.pair.sk.to_pem()
    }

    /// The public key as SPKI PEM.
    pub fn public_pem(&self) -> String {
        self.pair.pk.to_pem()
    }

    /// A device-side trust entry for this key.
    pub fn trusted(&self, label: &str) -> TrustedKey {
        // A key pair we hold always has a valid public key.
        TrustedKey::ed25519(self.public_key())
            .map(|k| k.with_label(label))
            .unwrap_or_else(|e| unreachable!("own public key refused: {e}"))
    }

    /// Ed25519 signature of `message` (deterministic, RFC 8032).
    pub fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        *self.pair.sk.sign(message, None)
    }

    /// Writes the private key (mode 0600, refusing to overwrite) and the public key.
    pub fn write_files(&self, private: &Path, public: &Path) -> Result<(), SignError> {
        write_private(private, self.to_pem().as_bytes())?;
        std::fs::write(public, self.public_pem()).map_err(io_err(public))
    }
}

fn write_private(path: &Path, pem: &[u8]) -> Result<(), SignError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io_err(path))?;
    file.write_all(pem)
        .and_then(|()| file.sync_all())
        .map_err(io_err(path))
}

/// Reads a public key: SPKI PEM (`-----BEGIN PUBLIC KEY-----`), or a PKCS#8 private key whose
/// public half is taken.
pub fn read_public_key(path: &Path) -> Result<[u8; 32], SignError> {
    let text = std::fs::read_to_string(path).map_err(io_err(path))?;
    if let Ok(pk) = PublicKey::from_pem(&text) {
        return Ok(*pk);
    }
    if let Ok(pair) = KeyPair::from_pem(&text) {
        return Ok(*pair.pk);
    }
    Err(SignError::BadKey {
        path: path.to_path_buf(),
        why: "not an Ed25519 public key in SPKI PEM (`-----BEGIN PUBLIC KEY-----`) nor a \
              PKCS#8 private key"
            .into(),
    })
}

/// A trust entry for the public key in `path`, labelled with the file name.
pub fn trusted_key_file(path: &Path) -> Result<TrustedKey, SignError> {
    let public = read_public_key(path)?;
    let label = format!(
        "key {} ({})",
        KeyId::of(&public),
        path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into()
        )
    );
    TrustedKey::ed25519(public)
        .map(|k| k.with_label(label))
        .map_err(|e| SignError::BadKey {
            path: path.to_path_buf(),
            why: e.to_string(),
        })
}

/// The development key and where it lives.
#[derive(Debug, Clone)]
pub struct DevKey {
    /// The key.
    pub key: SigningKey,
    /// Its private key file.
    pub path: PathBuf,
}

impl DevKey {
    /// A trust entry for it, labelled as the development key.
    pub fn trusted(&self) -> TrustedKey {
        self.key
            .trusted(&format!("the development key {}", self.key.kid()))
    }
}

/// Where the development key lives: `$TREVM_DEV_KEY_DIR`, else `$XDG_CONFIG_HOME/trevm`, else
/// `~/.config/trevm`.
pub fn dev_key_dir() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("TREVM_DEV_KEY_DIR")
        .or_else(|| env("XDG_CONFIG_HOME").map(|d| d.join("trevm")))
        .or_else(|| env("HOME").map(|d| d.join(".config").join("trevm")))
        .unwrap_or_else(|| PathBuf::from(".trevm"))
}

/// The development key (`dev-key.pem`, with `dev-key.pub.pem` beside it in [`dev_key_dir`]),
/// created on first use with a one-line notice on stderr. Safe against several processes
/// creating it at once: the first to finish wins, the others read it.
pub fn dev_key() -> Result<DevKey, SignError> {
    dev_key_in(&dev_key_dir())
}

/// [`dev_key`] in another directory.
pub fn dev_key_in(dir: &Path) -> Result<DevKey, SignError> {
    let path = dir.join("dev-key.pem");
    if path.exists() {
        return Ok(DevKey {
            key: SigningKey::read(&path)?,
            path,
        });
    }
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let key = SigningKey::generate();
    // Write under a unique name, then link it into place: `hard_link` fails if another process
    // got there first, and nobody ever reads a half-written key.
    // Unique per process and per attempt (threads of one process race here too).
    let tmp = dir.join(format!(".dev-key.{}.{}.tmp", std::process::id(), key.kid()));
    let _ = std::fs::remove_file(&tmp);
    write_private(&tmp, key.to_pem().as_bytes())?;
    let linked = std::fs::hard_link(&tmp, &path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            let public = dir.join("dev-key.pub.pem");
            std::fs::write(&public, key.public_pem()).map_err(io_err(&public))?;
            eprintln!(
                "trevm: created the development signing key {} (kid {}); devices started on this \
                 machine trust it — use `trevm keygen` for keys you deploy",
                path.display(),
                key.kid()
            );
            Ok(DevKey { key, path })
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(DevKey {
            key: SigningKey::read(&path)?,
            path,
        }),
        Err(e) => Err(io_err(&path)(e)),
    }
}

/// The default version of a new signature: the UTC time as the decimal number
/// `YYYYMMDDhhmmss` (e.g. 20261130061502), so later builds supersede earlier ones.
pub fn default_version() -> u64 {
    version_at(std::time::SystemTime::now())
}

fn version_at(t: std::time::SystemTime) -> u64 {
    use chrono::{Datelike, Timelike};
    // Before 1970 (a clock that is badly wrong) counts as 1970-01-01 00:00:00.
    let t = chrono::DateTime::<chrono::Utc>::from(t.max(std::time::UNIX_EPOCH));
    let date = u64::try_from(t.year()).unwrap_or(0) * 10_000
        + u64::from(t.month()) * 100
        + u64::from(t.day());
    let time = u64::from(t.hour()) * 10_000 + u64::from(t.minute()) * 100 + u64::from(t.second());
    date * 1_000_000 + time
}

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

    #[test]
    fn versions_are_utc_timestamps() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_796_019_302);
        assert_eq!(version_at(t), 20261130061502);
        assert_eq!(version_at(std::time::UNIX_EPOCH), 19700101000000);
        // 2024-02-29 (leap day) 23:59:59.
        let leap = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_709_251_199);
        assert_eq!(version_at(leap), 20240229235959);
    }

    #[test]
    fn the_development_key_is_made_once_even_when_threads_race() {
        let dir = tempfile::tempdir().unwrap();
        let kids: Vec<KeyId> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| dev_key_in(dir.path()).unwrap().key.kid()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(kids.windows(2).all(|w| w[0] == w[1]), "{kids:?}");
        assert!(dir.path().join("dev-key.pub.pem").exists());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn keys_round_trip_through_pem_files_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::generate();
        let (private, public) = (dir.path().join("k.pem"), dir.path().join("k.pub.pem"));
        key.write_files(&private, &public).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&private).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(SigningKey::read(&private).unwrap().kid(), key.kid());
        assert_eq!(read_public_key(&public).unwrap(), key.public_key());
        assert_eq!(read_public_key(&private).unwrap(), key.public_key());
        // Never overwrites a key.
        assert!(key.write_files(&private, &public).is_err());
        assert!(
            std::fs::read_to_string(&private)
                .unwrap()
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );
        assert!(
            std::fs::read_to_string(&public)
                .unwrap()
                .starts_with("-----BEGIN PUBLIC KEY-----")
        );
    }
}
