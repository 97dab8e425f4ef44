//! The sandbox: ephemeral capsules uploaded, run, replaced and deleted over CoAP.
//!
//! - `PUT /sandbox/<name>` (block-wise for anything over one block) stores a capsule exporting
//!   `run: func() -> string` (world `example-sandbox-no-bindings`) after checking it: its header
//!   and CRC, that it was built for this device's profile, that a key the device's
//!   [`TrustPolicy`] trusts signed it (see [`crate::admit`]), that it instantiates with no host
//!   interface, and that `run` has that signature. 2.01 Created (2.04 Changed when it replaces
//!   one); 4.01 or 4.03 when the trust policy refuses it, 4.00 for anything else, each with the
//!   reason. A refused upload leaves any capsule of that name in place.
//! - `GET /sandbox/<name>` runs it in a fresh instance under the sandbox's limits: 2.05 with the
//!   string; 5.03 when the timeout (or fuel) stopped it; 5.00 with the trap otherwise.
//! - `DELETE /sandbox/<name>`: 2.02, or 4.04.
//! - `GET /sandbox`: the names, one per line.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use trevm::{
    Error, Grants, HostState, Limits, LoadedCapsule, Runtime, TrustPolicy, ValType, VersionLedger,
};

use crate::admit::{Refusal, admit};
use crate::message::code;
use crate::server::{Request, Response, TEXT_PLAIN};

/// The sandbox's settings.
#[derive(Debug, Clone, Copy)]
pub struct SandboxLimits {
    /// Limits of each run (timeout, fuel, memory).
    pub run: Limits,
    /// Most capsules stored at once.
    pub max_capsules: usize,
    /// Longest capsule name.
    pub max_name: usize,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        SandboxLimits {
            run: Limits::new()
                .with_timeout(trevm::Duration::from_secs(2))
                .with_max_memory(256 * 1024),
            max_capsules: 8,
            max_name: 32,
        }
    }
}

/// Uploaded capsules by name.
#[derive(Debug)]
pub struct Sandbox {
    runtime: Runtime,
    limits: SandboxLimits,
    trust: TrustPolicy,
    ledger: VersionLedger,
    capsules: BTreeMap<String, LoadedCapsule>,
    runs: u64,
}

impl Sandbox {
    /// A sandbox whose capsules run on `runtime` (which should grant no host interface: sandbox
    /// capsules import none) and must pass `trust`.
    pub fn new(runtime: Runtime, limits: SandboxLimits, trust: TrustPolicy) -> Self {
        Sandbox {
            runtime,
            limits,
            trust,
            ledger: VersionLedger::new(),
            capsules: BTreeMap::new(),
            runs: 0,
        }
    }

    /// The grants a sandbox runtime should have: none.
    pub const GRANTS: Grants = Grants::none();

    /// Names of the stored capsules.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.capsules.keys().map(String::as_str)
    }

    /// How many times a capsule has been run (to check that duplicates are not run twice).
    pub fn runs(&self) -> u64 {
        self.runs
    }

    /// Handles a request whose path starts with `sandbox`; `rest` is the path after it.
    pub async fn handle(&mut self, request: &Request<'_>, rest: &[&str]) -> Response {
        match (request.code, rest) {
            (code::GET, []) => {
                let mut list = String::new();
                for name in self.names() {
                    list.push_str(name);
                    list.push('\n');
                }
                Response::text(code::CONTENT, list)
            }
            (_, []) => Response::text(code::METHOD_NOT_ALLOWED, "GET lists the capsules"),
            (c, [name]) => match c {
                code::PUT => self.put(name, request.payload).await,
                code::GET => self.run(name).await,
                code::DELETE => match self.capsules.remove(*name) {
                    Some(_) => Response::empty(code::DELETED),
                    None => Response::text(code::NOT_FOUND, format!("no capsule `{name}`")),
                },
                _ => Response::text(code::METHOD_NOT_ALLOWED, "PUT, GET or DELETE"),
            },
            _ => Response::text(code::NOT_FOUND, "/sandbox/<name>"),
        }
    }

    async fn put(&mut self, name: &str, bytes: &[u8]) -> Response {
        let valid_name = !name.is_empty()
            && name.len() <= self.limits.max_name
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid_name {
            return Response::text(
                code::BAD_REQUEST,
                format!(
                    "capsule names are 1–{} characters of a-z, 0-9, - and _",
                    self.limits.max_name
                ),
            );
        }
        let replacing = self.capsules.contains_key(name);
        if !replacing && self.capsules.len() >= self.limits.max_capsules {
            return Response::text(
                code::SERVICE_UNAVAILABLE,
                format!(
                    "the sandbox holds {} capsules already",
                    self.limits.max_capsules
                ),
            );
        }
        match self.check(bytes).await {
            Ok(admitted) => {
                self.ledger.record(&admitted.verified);
                self.capsules.insert(name.to_string(), admitted.loaded);
                Response::empty(if replacing {
                    code::CHANGED
                } else {
                    code::CREATED
                })
            }
            Err(refusal) => Response::text(refusal.code, refusal.message),
        }
    }

    /// Everything that can be checked before a capsule is stored.
    async fn check(&self, bytes: &[u8]) -> Result<crate::admit::Admitted, Refusal> {
        let admitted = admit(&self.runtime, &self.trust, &self.ledger, bytes)?;
        let bad = |e: Error| Refusal::bad_request(e.to_string());
        let mut instance = self
            .runtime
            .instantiate(
                &admitted.loaded,
                HostState::new(admitted.verified.name()),
                self.limits.run,
            )
            .await
            .map_err(bad)?;
        const WORLD: &str = "sandbox capsules export `run: func() -> string` (world \
                             example-sandbox-no-bindings)";
        let run = instance.signature("run").map_err(|_| {
            Refusal::bad_request(format!("the capsule has no `run` export: {WORLD}"))
        })?;
        if !run.is(&[], &[ValType::String]) {
            return Err(Refusal::bad_request(format!(
                "the capsule's `run` has another signature: {WORLD}"
            )));
        }
        Ok(admitted)
    }

    async fn run(&mut self, name: &str) -> Response {
        let Some(loaded) = self.capsules.get(name) else {
            return Response::text(code::NOT_FOUND, format!("no capsule `{name}`"));
        };
        self.runs += 1;
        let outcome = async {
            let mut instance = self
                .runtime
                .instantiate(loaded, HostState::new(name), self.limits.run)
                .await?;
            instance.call_typed::<(), (String,)>("run", ()).await
        }
        .await;
        match outcome {
            Ok((s,)) => Response {
                code: code::CONTENT,
                payload: s.into_bytes(),
                content_format: Some(TEXT_PLAIN),
            },
            Err(e @ (Error::Timeout { .. } | Error::OutOfFuel)) => {
                Response::text(code::SERVICE_UNAVAILABLE, format!("capsule stopped: {e}"))
            }
            Err(e) => Response::text(code::INTERNAL_SERVER_ERROR, e.to_string()),
        }
    }
}
