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
use trevm::trust::{KeyId, TrustedKey};

mod sign;

pub use sign::{
    Claims, attach_manifest, attach_manifest_with, sign, sign_manifest, sign_with, verify,
};

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

#[cfg(test)]
mod tests {
    use super::*;

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
