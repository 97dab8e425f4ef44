//! The sandbox: ephemeral capsules uploaded, run, replaced and deleted over CoAP.
//!
//! - `PUT /sandbox/<name>` (block-wise for anything over one block) stores a capsule exporting
//!   `run: func() -> string` (world `example-sandbox-no-bindings`) after checking it: its header
//!   and CRC, that it was built for this device's profile, that a key the device's
//!   [`TrustPolicy`] trusts signed it (see [`crate::admit`]), that it instantiates with the
//!   interfaces the sandbox grants (none by default), and that `run` has that signature. 2.01 Created (2.04 Changed when it replaces
//!   one); 4.01 or 4.03 when the trust policy refuses it, 4.00 for anything else, each with the
//!   reason. A refused upload leaves any capsule of that name in place.
//! - `GET /sandbox/<name>` runs it in a fresh instance under the sandbox's limits: 2.05 with the
//!   string; 5.03 when the timeout (or fuel) stopped it; 5.00 with the trap otherwise.
//! - `DELETE /sandbox/<name>`: 2.02, or 4.04.
//! - `GET /sandbox`: the names, one per line.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::RefCell;
use trevm::{
    Error, Grants, HostState, Limits, LoadedCapsule, Runtime, TrustPolicy, ValType, VersionLedger,
};

use crate::admit::{Refusal, admit};
use crate::status::{CapsuleStats, CapsuleStatus, RunMeasure};
use crate::storage::{self, SharedStore};
use trevm_coap::message::code;
use trevm_coap::server::{Handled, Request, Response, Run, TEXT_PLAIN};

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

/// Uploaded capsules by name. Runs and admissions are [`Run`]s: many may be in flight while the
/// server goes on answering (they share the capsules through an `Rc`; the device's executor is
/// single-threaded, as Ariel OS's CoAP task is).
#[derive(Debug)]
pub struct Sandbox {
    shared: Rc<Shared>,
}

struct Shared {
    runtime: Runtime,
    limits: SandboxLimits,
    trust: TrustPolicy,
    /// Host state for each run (see [`Sandbox::with_host`]).
    host: RefCell<crate::HostFactory>,
    state: RefCell<State>,
}

/// A stored capsule, what was verified about it, and what it has done.
#[derive(Clone)]
struct Entry {
    loaded: LoadedCapsule,
    installed: String,
    stats: CapsuleStats,
    /// Which install this is (a run's stats go to the capsule that ran, not to a replacement).
    serial: u64,
}

impl Entry {
    fn new(admitted: crate::admit::Admitted, state: &mut State) -> Self {
        state.installs += 1;
        Entry {
            installed: crate::admit::describe(&admitted.verified),
            loaded: admitted.loaded,
            stats: CapsuleStats::default(),
            serial: state.installs,
        }
    }
}

#[derive(Default)]
struct State {
    ledger: VersionLedger,
    capsules: BTreeMap<String, Entry>,
    runs: u64,
    installs: u64,
    /// Where uploads are kept across restarts, if anywhere.
    store: Option<SharedStore>,
}

impl core::fmt::Debug for Shared {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Shared")
            .field("limits", &self.limits)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl core::fmt::Debug for State {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("State")
            .field("capsules", &self.capsules.keys().collect::<Vec<_>>())
            .field("runs", &self.runs)
            .field("stored", &self.store.is_some())
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// A sandbox whose capsules run on `runtime` and must pass `trust`. Upstream's sandbox
    /// capsules import nothing, so the runtime should grant nothing ([`Sandbox::GRANTS`]) unless
    /// the device means its sandbox capsules to reach peripherals (then see
    /// [`Sandbox::with_host`]).
    pub fn new(runtime: Runtime, limits: SandboxLimits, trust: TrustPolicy) -> Self {
        Sandbox {
            shared: Rc::new(Shared {
                runtime,
                limits,
                trust,
                host: RefCell::new(alloc::boxed::Box::new(|name: &str| HostState::new(name))),
                state: RefCell::new(State::default()),
            }),
        }
    }

    /// Gives each run the host state `host` makes (by default [`HostState::new`]: nothing to
    /// act on), for a sandbox whose runtime grants interfaces.
    pub fn with_host(self, host: impl Fn(&str) -> HostState + 'static) -> Self {
        *self.shared.host.borrow_mut() = alloc::boxed::Box::new(host);
        self
    }

    /// Keeps uploads in `store` from now on, and loads the capsules stored there before (each
    /// verified again against the trust policy and the stored anti-rollback ledger). Returns a
    /// line per stored capsule, restored or not and why, for the device's log. An error when the
    /// store cannot be read, or its ledger is unreadable (starting without it would allow
    /// rollbacks).
    pub fn restore(&mut self, store: SharedStore) -> Result<Vec<String>, String> {
        let shared = &self.shared;
        let ledger = storage::load_ledger(&store, storage::SANDBOX_LEDGER)?;
        let keys = store
            .borrow_mut()
            .keys()
            .map_err(|e| format!("listing the store: {e}"))?;
        let mut state = shared.state.borrow_mut();
        state.ledger = ledger;
        let before = state.ledger.clone();
        let mut lines = Vec::new();
        for key in keys {
            let Some(name) = key.strip_prefix(storage::SANDBOX_PREFIX) else {
                continue;
            };
            if !valid_name(name, shared.limits.max_name) {
                lines.push(format!(
                    "stored sandbox entry `{key}` ignored: not a capsule name"
                ));
                continue;
            }
            if state.capsules.len() >= shared.limits.max_capsules {
                lines.push(format!(
                    "stored sandbox capsule `{name}` not restored: the sandbox is full"
                ));
                continue;
            }
            let bytes = match store.borrow_mut().get(&key) {
                Ok(Some(bytes)) => bytes,
                Ok(None) => continue,
                Err(e) => {
                    lines.push(format!("stored sandbox capsule `{name}` not restored: {e}"));
                    continue;
                }
            };
            match admit(&shared.runtime, &shared.trust, &state.ledger, &bytes) {
                Ok(admitted) => {
                    lines.push(format!(
                        "restored sandbox capsule `{name}` ({})",
                        crate::admit::describe(&admitted.verified)
                    ));
                    state.ledger.record(&admitted.verified);
                    let entry = Entry::new(admitted, &mut state);
                    state.capsules.insert(name.to_string(), entry);
                }
                Err(refusal) => lines.push(format!(
                    "stored sandbox capsule `{name}` not restored: {}",
                    refusal.message
                )),
            }
        }
        if state.ledger != before {
            storage::put(&store, storage::SANDBOX_LEDGER, &state.ledger.to_bytes())?;
        }
        state.store = Some(store);
        Ok(lines)
    }

    /// The grants a sandbox runtime should have: none.
    pub const GRANTS: Grants = Grants::none();

    /// Names of the stored capsules, sorted.
    pub fn names(&self) -> Vec<String> {
        self.shared
            .state
            .borrow()
            .capsules
            .keys()
            .cloned()
            .collect()
    }

    /// Each stored capsule's status (for `GET /status`), by name.
    pub fn status(&self) -> Vec<CapsuleStatus> {
        let state = self.shared.state.borrow();
        state
            .capsules
            .iter()
            .map(|(name, e)| CapsuleStatus {
                slot: "sandbox",
                name: name.clone(),
                installed: e.installed.clone(),
                stats: e.stats.clone(),
            })
            .collect()
    }

    /// How many runs have started (to check that duplicates are not run twice).
    pub fn runs(&self) -> u64 {
        self.shared.state.borrow().runs
    }

    /// Handles a request whose path starts with `sandbox`; `rest` is the path after it.
    pub fn handle(&mut self, request: &Request<'_>, rest: &[&str]) -> Handled {
        match (request.code, rest) {
            (code::GET, []) => {
                let mut list = String::new();
                for name in self.names() {
                    list.push_str(&name);
                    list.push('\n');
                }
                Response::text(code::CONTENT, list).into()
            }
            (_, []) => Response::text(code::METHOD_NOT_ALLOWED, "GET lists the capsules").into(),
            (c, [name]) => match c {
                code::PUT => self.put(name, request.payload),
                code::GET => self.run(name),
                code::DELETE => self.delete(name).into(),
                _ => Response::text(code::METHOD_NOT_ALLOWED, "PUT, GET or DELETE").into(),
            },
            _ => Response::text(code::NOT_FOUND, "/sandbox/<name>").into(),
        }
    }

    fn delete(&mut self, name: &str) -> Response {
        let mut state = self.shared.state.borrow_mut();
        if !state.capsules.contains_key(name) {
            return Response::text(code::NOT_FOUND, format!("no capsule `{name}`"));
        }
        // Gone from the store first: a capsule deleted is not back after a restart.
        if let Some(store) = &state.store
            && let Err(e) = storage::remove(store, &storage::sandbox_key(name))
        {
            return Response::text(code::INTERNAL_SERVER_ERROR, e);
        }
        state.capsules.remove(name);
        Response::empty(code::DELETED)
    }

    fn put(&mut self, name: &str, bytes: &[u8]) -> Handled {
        if let Some(refused) = self.shared.refuse_name(name) {
            return refused.into();
        }
        // Admission instantiates the capsule (which runs its start code, under the limits): a
        // run of its own, so it does not hold up the server.
        let shared = self.shared.clone();
        let name = name.to_string();
        let bytes = bytes.to_vec();
        Handled::Later(Run::new(async move { shared.install(name, bytes).await }))
    }

    /// Installs capsule `bytes` as `name` exactly as a `PUT /sandbox/<name>` does (checked,
    /// verified, stored): how a device starts with capsules preloaded. The response says how it
    /// went (2.01/2.04, or the refusal's code and reason).
    pub async fn install(&self, name: &str, bytes: Vec<u8>) -> Response {
        if let Some(refused) = self.shared.refuse_name(name) {
            return refused;
        }
        self.shared.install(name.to_string(), bytes).await
    }

    fn run(&mut self, name: &str) -> Handled {
        let (loaded, serial) = {
            let mut state = self.shared.state.borrow_mut();
            let Some((loaded, serial)) = state
                .capsules
                .get(name)
                .map(|e| (e.loaded.clone(), e.serial))
            else {
                return Response::text(code::NOT_FOUND, format!("no capsule `{name}`")).into();
            };
            state.runs += 1;
            (loaded, serial)
        };
        let shared = self.shared.clone();
        let name = name.to_string();
        Handled::Later(Run::new(async move {
            let started = embassy_time::Instant::now();
            let mut measure = RunMeasure::default();
            let outcome = async {
                let mut instance = shared
                    .runtime
                    .instantiate(&loaded, shared.host_state(&name), shared.limits.run)
                    .await?;
                let result = instance.call_typed::<(), (String,)>("run", ()).await;
                measure.fuel = instance.fuel_consumed();
                measure.peak_memory = instance.peak_memory();
                result
            }
            .await;
            measure.ms = started.elapsed().as_millis();
            // Counted for the capsule that ran (not for one that replaced it meanwhile).
            if let Some(entry) = shared.state.borrow_mut().capsules.get_mut(&name)
                && entry.serial == serial
            {
                entry.stats.record(&outcome, measure);
            }
            match outcome {
                Ok((s,)) => Response {
                    code: code::CONTENT,
                    payload: s.into_bytes(),
                    content_format: Some(TEXT_PLAIN),
                },
                Err(e) => crate::status::failed_run(&e),
            }
        }))
    }
}

/// Sandbox capsule names: 1 to `max` characters of a-z, A-Z, 0-9, - and _.
fn valid_name(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Shared {
    /// 4.00 for a name that is not a capsule name, 5.03 when a new capsule would not fit.
    fn refuse_name(&self, name: &str) -> Option<Response> {
        if !valid_name(name, self.limits.max_name) {
            return Some(Response::text(
                code::BAD_REQUEST,
                format!(
                    "capsule names are 1–{} characters of a-z, 0-9, - and _",
                    self.limits.max_name
                ),
            ));
        }
        self.full(name)
    }

    /// Admits, stores and installs `bytes` as `name` (see [`Sandbox::install`]).
    async fn install(&self, name: String, bytes: Vec<u8>) -> Response {
        let admitted = match self.check(&bytes).await {
            Ok(admitted) => admitted,
            Err(refusal) => return Response::text(refusal.code, refusal.message),
        };
        // Checked again: other uploads may have filled the sandbox meanwhile.
        if let Some(full) = self.full(&name) {
            return full;
        }
        let mut state = self.state.borrow_mut();
        if let Err(e) = state.ledger.admits(&admitted.verified) {
            let refusal = Refusal::from(Error::from(e));
            return Response::text(refusal.code, refusal.message);
        }
        // Durable before it is answered: the capsule, then the ledger (see `storage`).
        if let Some(store) = &state.store
            && let Err(e) = storage::put(store, &storage::sandbox_key(&name), &bytes)
        {
            return Response::text(code::INTERNAL_SERVER_ERROR, e);
        }
        state.ledger.record(&admitted.verified);
        let ledger_stored = match &state.store {
            Some(store) => storage::put(store, storage::SANDBOX_LEDGER, &state.ledger.to_bytes()),
            None => Ok(()),
        };
        let entry = Entry::new(admitted, &mut state);
        let replaced = state.capsules.insert(name, entry).is_some();
        match ledger_stored {
            Ok(()) => Response::empty(if replaced {
                code::CHANGED
            } else {
                code::CREATED
            }),
            // Installed and stored; the ledger is rewritten at the next start.
            Err(e) => Response::text(code::INTERNAL_SERVER_ERROR, e),
        }
    }

    /// 5.03 when a new capsule `name` would not fit.
    fn full(&self, name: &str) -> Option<Response> {
        let state = self.state.borrow();
        let max = self.limits.max_capsules;
        (!state.capsules.contains_key(name) && state.capsules.len() >= max).then(|| {
            Response::text(
                code::SERVICE_UNAVAILABLE,
                format!("the sandbox holds {max} capsules already"),
            )
        })
    }

    fn host_state(&self, name: &str) -> HostState {
        (self.host.borrow())(name)
    }

    /// Everything that can be checked before a capsule is stored.
    async fn check(&self, bytes: &[u8]) -> Result<crate::admit::Admitted, Refusal> {
        let admitted = {
            let state = self.state.borrow();
            admit(&self.runtime, &self.trust, &state.ledger, bytes)?
        };
        let bad = |e: Error| Refusal::bad_request(e.to_string());
        let mut instance = self
            .runtime
            .instantiate(
                &admitted.loaded,
                self.host_state(admitted.verified.name()),
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
}
