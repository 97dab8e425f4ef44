//! Who may do what: the device's access policy (plain data, no_std, built without `oscore` too,
//! so a firmware's build script can make one from a `peers.yml`), in the shape of an Ariel OS `peers.yml` (a list of
//! entries, each for unauthenticated clients or for one client credential, each with a scope).
//!
//! A scope is `allow-all` or a list of rules, each a path and the methods allowed on it. A path is
//! matched exactly (as Ariel OS does), or, ending in `/*`, as a prefix of one or more segments
//! (`/sandbox/*` covers `/sandbox/hello`, not `/sandbox`): trevm's resources are created at run
//! time, which exact paths cannot name.

use alloc::string::String;
use alloc::vec::Vec;

/// Method bits of a rule, as in ACE's AIF (`1 << (code - 1)`): GET 1, POST 2, PUT 4, DELETE 8,
/// FETCH 16, PATCH 32, iPATCH 64.
pub mod methods {
    /// GET
    pub const GET: u8 = 1;
    /// POST
    pub const POST: u8 = 2;
    /// PUT
    pub const PUT: u8 = 4;
    /// DELETE
    pub const DELETE: u8 = 8;
    /// FETCH
    pub const FETCH: u8 = 16;
    /// PATCH
    pub const PATCH: u8 = 32;
    /// iPATCH
    pub const IPATCH: u8 = 64;

    /// The bit of a method by its name (`GET`, `iPATCH`, …; case-insensitive).
    pub fn by_name(name: &str) -> Option<u8> {
        Some(match name.to_ascii_uppercase().as_str() {
            "GET" => GET,
            "POST" => POST,
            "PUT" => PUT,
            "DELETE" => DELETE,
            "FETCH" => FETCH,
            "PATCH" => PATCH,
            "IPATCH" => IPATCH,
            _ => return None,
        })
    }

    /// The bit of a request code (0.01 GET … 0.07 iPATCH), or 0 for any other code.
    pub fn of_code(code: u8) -> u8 {
        match code {
            1..=7 => 1 << (code - 1),
            _ => 0,
        }
    }
}

/// What a client may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Everything.
    AllowAll,
    /// Only the listed paths and methods.
    Rules(Vec<Rule>),
}

/// One path (exact, or a prefix ending in `/*`) and the methods allowed on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `/.well-known/core`, `/sandbox/*`, …
    pub path: String,
    /// Bits of [`methods`].
    pub methods: u8,
}

impl Scope {
    /// Nothing at all.
    pub fn deny_all() -> Self {
        Scope::Rules(Vec::new())
    }

    /// Whether a request with `code` on `path` (its Uri-Path segments) is allowed.
    pub fn allows(&self, code: u8, path: &[&str]) -> bool {
        let rules = match self {
            Scope::AllowAll => return true,
            Scope::Rules(rules) => rules,
        };
        let bit = methods::of_code(code);
        bit != 0
            && rules
                .iter()
                .any(|r| r.methods & bit != 0 && path_matches(&r.path, path))
    }
}

fn path_matches(pattern: &str, path: &[&str]) -> bool {
    let pattern = pattern.strip_prefix('/').unwrap_or(pattern);
    match pattern.strip_suffix("/*") {
        Some(prefix) => {
            let prefix: Vec<&str> = if prefix.is_empty() {
                Vec::new()
            } else {
                prefix.split('/').collect()
            };
            path.len() > prefix.len() && path[..prefix.len()] == prefix[..]
        }
        None if pattern.is_empty() => path.is_empty(),
        None => pattern.split('/').eq(path.iter().copied()),
    }
}

/// One client the device knows: its credential (a CWT Claims Set holding its COSE_Key, as CBOR)
/// and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// The client's CCS, in CBOR (`{2: "subject", 8: {1: {COSE_Key}}}`).
    pub ccs: Vec<u8>,
    /// Its scope.
    pub scope: Scope,
}

/// The device's access policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// What clients without a known credential may do (`from: unauthenticated`), if anything.
    pub unauthenticated: Option<Scope>,
    /// The known clients.
    pub peers: Vec<Peer>,
}

impl Default for Policy {
    /// The secure default: unauthenticated clients may only `GET /.well-known/core`; nobody else
    /// is known.
    fn default() -> Self {
        Policy {
            unauthenticated: Some(Scope::Rules(alloc::vec![Rule {
                path: "/.well-known/core".into(),
                methods: methods::GET,
            }])),
            peers: Vec::new(),
        }
    }
}

impl Policy {
    /// Anyone may do anything, without security: for tests and closed networks only.
    pub fn open() -> Self {
        Policy {
            unauthenticated: Some(Scope::AllowAll),
            peers: Vec::new(),
        }
    }
}

/// A policy entry was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError(pub alloc::string::String);

impl core::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::error::Error for PolicyError {}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn rules_match_exact_paths_and_prefixes() {
        let s = Scope::Rules(vec![
            Rule {
                path: "/.well-known/core".into(),
                methods: methods::GET,
            },
            Rule {
                path: "/sandbox/*".into(),
                methods: methods::GET | methods::FETCH,
            },
        ]);
        assert!(s.allows(1, &[".well-known", "core"]));
        assert!(!s.allows(3, &[".well-known", "core"]));
        assert!(s.allows(1, &["sandbox", "hello"]));
        assert!(!s.allows(3, &["sandbox", "hello"]));
        assert!(!s.allows(1, &["sandbox"]));
        assert!(!s.allows(1, &["vm", "hello"]));
        assert!(Scope::AllowAll.allows(4, &["vm-control"]));
        assert!(!Scope::deny_all().allows(1, &[]));
        assert!(
            !s.allows(0x45, &["sandbox", "x"]),
            "a response code is no method"
        );
    }
}
