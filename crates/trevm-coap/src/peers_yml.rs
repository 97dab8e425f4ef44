//! Ariel OS's `peers.yml`, read into a [`Policy`] (feature `peers-yml`, `std`): by the native
//! board at start, and by a firmware's build script, which writes the policy as Rust source
//! ([`to_rust`]) because a device has no YAML parser.
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

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt::Write as _;

use crate::policy::{Peer, Policy, Rule, Scope, methods};

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
    Map(BTreeMap<String, RawMethods>),
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum RawMethods {
    One(String),
    Many(Vec<String>),
}

/// Parses the text of a `peers.yml`; the error says which entry is wrong and why.
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

/// `policy` as a Rust expression of type `trevm_coap::Policy` (paths through `trevm_coap::`), for
/// a firmware's build script to write into `OUT_DIR` and `include!`: the device then holds the
/// policy as code, as an Ariel OS build holds its `peers.yml`.
pub fn to_rust(policy: &Policy) -> String {
    let mut out = String::from("trevm_coap::policy::Policy { unauthenticated: ");
    match &policy.unauthenticated {
        Some(scope) => {
            out.push_str("Some(");
            scope_to_rust(scope, &mut out);
            out.push(')');
        }
        None => out.push_str("None"),
    }
    out.push_str(", peers: alloc::vec![");
    for peer in &policy.peers {
        let _ = write!(
            out,
            "trevm_coap::policy::Peer {{ ccs: alloc::vec!{:?}, scope: ",
            peer.ccs
        );
        scope_to_rust(&peer.scope, &mut out);
        out.push_str(" }, ");
    }
    out.push_str("] }");
    out
}

fn scope_to_rust(scope: &Scope, out: &mut String) {
    match scope {
        Scope::AllowAll => out.push_str("trevm_coap::policy::Scope::AllowAll"),
        Scope::Rules(rules) => {
            out.push_str("trevm_coap::policy::Scope::Rules(alloc::vec![");
            for rule in rules {
                let _ = write!(
                    out,
                    "trevm_coap::policy::Rule {{ path: alloc::string::String::from({:?}), methods: {} }}, ",
                    rule.path, rule.methods
                );
            }
            out.push_str("])");
        }
    }
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
        let unauth = policy.unauthenticated.clone().unwrap();
        assert!(unauth.allows(1, &[".well-known", "core"]));
        assert!(unauth.allows(5, &["sandbox", "x"]));
        assert!(!unauth.allows(3, &["sandbox", "x"]));
        assert_eq!(policy.peers.len(), 1);
        assert_eq!(policy.peers[0].scope, Scope::AllowAll);
        assert_eq!(
            policy.peers[0].ccs[0], 0xa2,
            "a map of two: subject and cnf"
        );
        let rust = to_rust(&policy);
        assert!(
            rust.starts_with("trevm_coap::policy::Policy { unauthenticated: Some(trevm_coap::policy::Scope::Rules(alloc::vec![trevm_coap::policy::Rule { path: alloc::string::String::from(\"/.well-known/core\"), methods: 1 }, "),
            "{rust}"
        );
        assert!(
            rust.contains("peers: alloc::vec![trevm_coap::policy::Peer { ccs: alloc::vec![162, "),
            "{rust}"
        );
        assert!(
            rust.ends_with("scope: trevm_coap::policy::Scope::AllowAll }, ] }"),
            "{rust}"
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
                "- from: unauthenticated\n  scope:\n    x: GET\n",
                "does not start with /",
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
