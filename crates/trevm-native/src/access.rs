//! Who may talk to a native-board device: its access policy, read from a `peers.yml` in the
//! format Ariel OS applications use, and its EDHOC identity, made on first start and kept in a
//! file.
//!
//! `peers.yml` is a list of entries; each is either for unauthenticated clients or for one
//! client credential, and has a scope:
//!
//! ```yaml
//! - from: unauthenticated
//!   scope:
//!     /.well-known/core: GET
//!     /sandbox/*: [GET]          # trevm's extension: a path ending in /* is a prefix
//! - kccs: |
//!     {2: "admin", 8: {1: {1: 2, 2: h'2b', -1: 1, -2: h'…', -3: h'…'}}}
//!   scope: allow-all
//! ```
//!
//! `kccs` is the client's CWT Claims Set in CBOR diagnostic notation (what `aiocoap-keygen`
//! prints inside `{14: …}`); a scope is `allow-all` or a map from path to a method or a list of
//! methods.

use std::path::{Path, PathBuf};

use trevm_coap::secure::{Identity, Peer, Policy, Rule, Scope, methods};

/// Reads a `peers.yml`.
pub fn load_policy(path: &Path) -> Result<Policy, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the policy {}: {e}", path.display()))?;
    parse_policy(&text).map_err(|e| format!("{}: {e}", path.display()))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    from: Option<String>,
    kccs: Option<String>,
    scope: RawScope,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum RawScope {
    Named(String),
    Map(std::collections::BTreeMap<String, RawMethods>),
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum RawMethods {
    One(String),
    Many(Vec<String>),
}

/// Parses the text of a `peers.yml`.
pub fn parse_policy(yaml: &str) -> Result<Policy, String> {
    let entries: Vec<Entry> =
        serde_norway::from_str(yaml).map_err(|e| format!("not a peers.yml policy: {e}"))?;
    let mut policy = Policy {
        unauthenticated: None,
        peers: Vec::new(),
    };
    for (i, entry) in entries.into_iter().enumerate() {
        let n = i + 1;
        let scope = scope(entry.scope).map_err(|e| format!("entry {n}: {e}"))?;
        match (entry.from.as_deref(), entry.kccs) {
            (Some("unauthenticated"), None) => {
                if policy.unauthenticated.is_some() {
                    return Err(format!(
                        "entry {n}: a second `from: unauthenticated` entry (only one is allowed)"
                    ));
                }
                policy.unauthenticated = Some(scope);
            }
            (None, Some(kccs)) => {
                let ccs = cbor_edn::StandaloneItem::parse(&kccs)
                    .map_err(|e| format!("entry {n}: `kccs` is not CBOR diagnostic notation: {e}"))?
                    .to_cbor()
                    .map_err(|e| format!("entry {n}: `kccs` cannot be encoded as CBOR: {e}"))?;
                policy.peers.push(Peer { ccs, scope });
            }
            (Some(other), None) => {
                return Err(format!(
                    "entry {n}: `from: {other}` (only `from: unauthenticated` is known)"
                ));
            }
            _ => {
                return Err(format!(
                    "entry {n}: needs exactly one of `from: unauthenticated` and `kccs`"
                ));
            }
        }
    }
    Ok(policy)
}

fn scope(raw: RawScope) -> Result<Scope, String> {
    match raw {
        RawScope::Named(s) if s == "allow-all" => Ok(Scope::AllowAll),
        RawScope::Named(s) => Err(format!(
            "scope `{s}`: a scope is `allow-all` or a map from path to methods"
        )),
        RawScope::Map(map) => {
            let mut rules = Vec::new();
            for (path, m) in map {
                if !path.starts_with('/') {
                    return Err(format!("path `{path}` does not start with /"));
                }
                let names = match m {
                    RawMethods::One(s) => vec![s],
                    RawMethods::Many(v) => v,
                };
                let mut bits = 0u8;
                for name in names {
                    bits |= methods::by_name(&name)
                        .ok_or_else(|| format!("`{name}` on {path} is not a CoAP method"))?;
                }
                rules.push(Rule {
                    path,
                    methods: bits,
                });
            }
            Ok(Scope::Rules(rules))
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ariel_os_policy_parses() {
        let policy = parse_policy(
            r#"
- from: unauthenticated
  scope:
    /.well-known/core: GET
    /sandbox/*: [GET, FETCH]
- kccs: |
    {2: "admin", 8: {1: {1: 2, 2: h'2b', -1: 1, -2: h'ac75e9ece3e50bfc8ed60399889522405c47bf16df96660a41298cb4307f7eb6'}}}
  scope: allow-all
"#,
        )
        .unwrap();
        let unauth = policy.unauthenticated.unwrap();
        assert!(unauth.allows(1, &[".well-known", "core"]));
        assert!(unauth.allows(5, &["sandbox", "x"]));
        assert!(!unauth.allows(3, &["sandbox", "x"]));
        assert_eq!(policy.peers.len(), 1);
        assert_eq!(policy.peers[0].scope, Scope::AllowAll);
        assert_eq!(
            policy.peers[0].ccs[0], 0xa2,
            "a map of two: subject and cnf"
        );
    }

    #[test]
    fn bad_policies_say_what_is_wrong() {
        for (yaml, says) in [
            (
                "- from: anyone\n  scope: allow-all\n",
                "only `from: unauthenticated`",
            ),
            ("- scope: allow-all\n", "exactly one of"),
            (
                "- from: unauthenticated\n  scope: everything\n",
                "scope `everything`",
            ),
            (
                "- from: unauthenticated\n  scope:\n    /x: JUMP\n",
                "`JUMP` on /x",
            ),
            (
                "- kccs: \"{8: \"\n  scope: allow-all\n",
                "diagnostic notation",
            ),
            (
                "- from: unauthenticated\n  scope: allow-all\n- from: unauthenticated\n  scope: allow-all\n",
                "second",
            ),
            ("just text", "not a peers.yml"),
        ] {
            let e = parse_policy(yaml).unwrap_err();
            assert!(e.contains(says), "{yaml:?} → {e}");
        }
    }
}
