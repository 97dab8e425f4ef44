//! Who may talk to a native-board device: its access policy, read from a `peers.yml` in the
//! format Ariel OS applications use, and its EDHOC identity, made on first start and kept in a
//! file.
//!
//! The format is read by [`trevm_coap::peers_yml`] (the same code a firmware's build script
//! uses).

use std::path::{Path, PathBuf};

use trevm_coap::secure::{Identity, Policy};

/// Reads a `peers.yml`.
pub fn load_policy(path: &Path) -> Result<Policy, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the policy {}: {e}", path.display()))?;
    parse_policy(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses the text of a `peers.yml` (see [`trevm_coap::peers_yml`]).
pub use trevm_coap::peers_yml::parse_policy;

/// For the example programs: the `peers.yml` named by the second command-line argument, or the
/// secure default ([`Policy::default`]: unauthenticated clients may only `GET /.well-known/core`).
pub fn policy_from_second_arg() -> Result<Policy, String> {
    match std::env::args_os().nth(2) {
        Some(path) => load_policy(Path::new(&path)),
        None => Ok(Policy::default()),
    }
}

/// For the example programs: the state directory named by the third command-line argument, or
/// [`state_dir`].
pub fn state_dir_from_third_arg() -> PathBuf {
    std::env::args_os()
        .nth(3)
        .map(PathBuf::from)
        .unwrap_or_else(state_dir)
}

/// Where a native-board device keeps its state: `$TREVM_STATE_DIR`, else
/// `$XDG_STATE_HOME/trevm`, else `~/.local/state/trevm`.
pub fn state_dir() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("TREVM_STATE_DIR")
        .or_else(|| env("XDG_STATE_HOME").map(|d| d.join("trevm")))
        .or_else(|| env("HOME").map(|d| d.join(".local").join("state").join("trevm")))
        .unwrap_or_else(|| PathBuf::from(".trevm-state"))
}

/// The device's EDHOC identity from `dir/device-identity.bin`, made (and stored, readable by
/// the owner only) on first start. Says whether it was made now.
pub fn load_or_create_identity(dir: &Path) -> Result<(Identity, bool), String> {
    let path = dir.join("device-identity.bin");
    match std::fs::read(&path) {
        Ok(bytes) => Identity::from_bytes(&bytes)
            .map(|id| (id, false))
            .map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut rng = rand_core::TryRngCore::unwrap_err(rand_core::OsRng);
            let identity = Identity::generate(&mut rng);
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            write_private(&path, &identity.to_bytes())
                .map_err(|e| format!("cannot store {}: {e}", path.display()))?;
            Ok((identity, true))
        }
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Writes `bytes` to a new file only its owner can read, atomically (a temporary file renamed).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)
}
