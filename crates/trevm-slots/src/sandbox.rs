//! The sandbox: ephemeral capsules uploaded, run, replaced and deleted over CoAP.
//!
//! - `PUT /sandbox/<name>` (block-wise for anything over one block) stores a capsule exporting
//!   `run: func() -> string` (world `example-sandbox-no-bindings`) after checking it: its header
//!   and CRC, that it was built for this device's profile, that a key the device's
//!   [`TrustPolicy`] trusts signed it (see [`crate::admit`]), that it links with the interfaces
//!   the sandbox grants (none by default), and that `run` has that signature — by type, without
//!   instantiating it. 2.01 Created (2.04 Changed when it replaces one); 4.01 or 4.03 when the
//!   trust policy refuses it, 5.03 when the device is out of memory, 4.00 for anything else,
//!   each with the reason. A refused upload leaves any capsule of that name in place.
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
    Grants, HostState, HostView, LoadedCapsule, Runtime, TrustPolicy, ValType, VerifiedCapsule,
};

use crate::admit::Refusal;
use crate::gate::{Gate, Keep, Owned};
pub use crate::sandbox_limits::SandboxLimits;
use crate::sandbox_limits::valid_name;
use crate::status::{CapsuleStats, CapsuleStatus, RunMeasure};
use crate::storage::{self, SharedStore};
use trevm_coap::message::code;
use trevm_coap::server::{Body, Handled, Request, Response, Run, TEXT_PLAIN};

/// Uploaded capsules by name. Runs and admissions are [`Run`]s: many may be in flight while the
/// server goes on answering (they share the capsules through an `Rc`; the device's executor is
/// single-threaded, as Ariel OS's CoAP task is). `T` is the runtime's store data (see
/// [`HostView`]).
#[derive(Debug)]
pub struct Sandbox<T: HostView = HostState> {
    shared: Rc<Shared<T>>,
}

struct Shared<T: HostView> {
    /// The runtime, the trust policy, the host state for each run (see [`Sandbox::with_host`])
    /// and the ledger.
    gate: Gate<T>,
    limits: SandboxLimits,
    state: RefCell<State>,
}

/// A stored capsule, what was verified about it, and what it has done.
#[derive(Clone)]
struct Entry {
    loaded: LoadedCapsule,
    installed: crate::admit::Installed,
    stats: CapsuleStats,
    /// Which install this is (a run's stats go to the capsule that ran, not to a replacement).
    serial: u64,
}

impl Entry {
    fn new(loaded: LoadedCapsule, verified: &VerifiedCapsule<'_>, state: &mut State) -> Self {
        state.installs += 1;
        Entry {
            installed: crate::admit::describe(verified),
            loaded,
            stats: CapsuleStats::default(),
            serial: state.installs,
        }
    }
}

#[derive(Default)]
struct State {
    capsules: BTreeMap<String, Entry>,
    runs: u64,
    installs: u64,
}

impl<T: HostView> core::fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Shared")
            .field("gate", &self.gate)
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
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// A sandbox whose capsules run on `runtime` and must pass `trust`. Upstream's sandbox
    /// capsules import nothing, so the runtime should grant nothing ([`Sandbox::GRANTS`]) unless
    /// the device means its sandbox capsules to reach peripherals (then see
    /// [`Sandbox::with_host`]).
    pub fn new(runtime: Runtime, limits: SandboxLimits, trust: TrustPolicy) -> Self {
        Sandbox::with_store_data(runtime, limits, trust, |name: &str| HostState::new(name))
    }

    /// The grants a sandbox runtime should have: none.
    pub const GRANTS: Grants = Grants::none();
}

impl<T: HostView> Sandbox<T> {
    /// A second handle on the same capsules (for work that outlives a request).
    pub(crate) fn share(&self) -> Self {
        Sandbox {
            shared: Rc::clone(&self.shared),
        }
    }

    /// Like [`Sandbox::new`], for a runtime whose store data is the embedder's `T`, made for
    /// each run by `host`.
    pub fn with_store_data(
        runtime: Runtime<T>,
        limits: SandboxLimits,
        trust: TrustPolicy,
        host: impl Fn(&str) -> T + 'static,
    ) -> Self {
        Sandbox {
            shared: Rc::new(Shared {
                gate: Gate::new(
                    runtime,
                    trust,
                    alloc::boxed::Box::new(host),
                    storage::SANDBOX_LEDGER,
                ),
                limits,
                state: RefCell::new(State::default()),
            }),
        }
    }

    /// Gives each run the host state `host` makes (by default [`HostState::new`]: nothing to
    /// act on), for a sandbox whose runtime grants interfaces.
    pub fn with_host(self, host: impl Fn(&str) -> T + 'static) -> Self {
        self.shared.gate.set_host(alloc::boxed::Box::new(host));
        self
    }

    /// Keeps uploads in `store` from now on, and loads the capsules stored there before (each
    /// verified again against the trust policy and the stored anti-rollback ledger). Returns a
    /// line per stored capsule, restored or not and why, for the device's log. An error when the
    /// store cannot be read, or its ledger is unreadable (starting without it would allow
    /// rollbacks).
    pub fn restore(&mut self, store: SharedStore) -> Result<Vec<String>, String> {
        let shared = &self.shared;
        shared.gate.attach(store.clone())?;
        let keys = store
            .borrow_mut()
            .keys()
            .map_err(|e| format!("listing the store: {e}"))?;
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
            if shared.state.borrow().capsules.len() >= shared.limits.max_capsules {
                lines.push(format!(
                    "stored sandbox capsule `{name}` not restored: the sandbox is full"
                ));
                continue;
            }
            // The stored bytes become the capsule's code memory (when aligned: see
            // `admit::admit_owned`), not copied again.
            let bytes = match store.borrow_mut().get(&key) {
                Ok(Some(bytes)) => bytes,
                Ok(None) => continue,
                Err(e) => {
                    lines.push(format!("stored sandbox capsule `{name}` not restored: {e}"));
                    continue;
                }
            };
            // The pipeline without its prepare step: what is in the store passed it once.
            let admitted = shared
                .gate
                .check((bytes, 0))
                .and_then(|a| Ok((shared.gate.commit(&a.verified, Keep::Stored)?, a)));
            match admitted {
                Ok((Some(unsaved), _)) => return Err(unsaved.message),
                Ok((None, admitted)) => {
                    lines.push(format!(
                        "restored sandbox capsule `{name}` ({})",
                        crate::admit::describe(&admitted.verified)
                    ));
                    let mut state = shared.state.borrow_mut();
                    let entry = Entry::new(admitted.loaded, &admitted.verified, &mut state);
                    state.capsules.insert(name.to_string(), entry);
                }
                Err(refusal) => lines.push(format!(
                    "stored sandbox capsule `{name}` not restored: {}",
                    refusal.message
                )),
            }
        }
        Ok(lines)
    }

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
            .map(|(name, e)| e.stats.status("sandbox", name, &e.installed))
            .collect()
    }

    /// How many runs have started (to check that duplicates are not run twice).
    pub fn runs(&self) -> u64 {
        self.shared.state.borrow().runs
    }

    /// Handles a request whose path starts with `sandbox`; `rest` is the path after it. An
    /// upload's body is taken from the request (moved, not copied: see [`Sandbox::install`]).
    pub fn handle(&mut self, mut request: Request<'_>, rest: &[&str]) -> Handled {
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
                code::PUT => self.put(name, request.payload.take()),
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
        if let Some(store) = self.shared.gate.store()
            && let Err(e) = storage::remove(&store, &storage::sandbox_key(name))
        {
            return Response::text(code::INTERNAL_SERVER_ERROR, e);
        }
        state.capsules.remove(name);
        Response::empty(code::DELETED)
    }

    fn put(&mut self, name: &str, body: Body) -> Handled {
        if let Some(refused) = self.shared.refuse_name(name) {
            return Response::text(refused.code, refused.message).into();
        }
        // Admission verifies (SHA-256, Ed25519), loads and stores the capsule: a run of its own,
        // so it does not hold up the server.
        let shared = self.shared.clone();
        let name = name.to_string();
        Handled::Later(Run::new(async move {
            shared.install(name, body.into_parts()).await
        }))
    }

    /// Installs capsule `bytes` as `name` exactly as a `PUT /sandbox/<name>` does (checked,
    /// verified, stored): how a device starts with capsules preloaded. The response says how it
    /// went (2.01/2.04, or the refusal's code and reason).
    ///
    /// `bytes` are not copied: they become the capsule's code memory when the allocation happens
    /// to be aligned to [`trevm::capsule::CODE_ALIGN`], else Wasmtime copies the code once (an
    /// upload's [`Body`] is always aligned).
    pub async fn install(&self, name: &str, bytes: Vec<u8>) -> Response {
        if let Some(refused) = self.shared.refuse_name(name) {
            return Response::text(refused.code, refused.message);
        }
        self.shared.install(name.to_string(), (bytes, 0)).await
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
                    .gate
                    .runtime
                    .instantiate(&loaded, shared.gate.host_state(&name), shared.limits.run)
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

impl<T: HostView> Shared<T> {
    /// 4.00 for a name that is not a capsule name, 5.03 when a new capsule would not fit.
    fn refuse_name(&self, name: &str) -> Option<Refusal> {
        if !valid_name(name, self.limits.max_name) {
            return Some(Refusal::bad_request(format!(
                "capsule names are 1–{} characters of a-z, 0-9, - and _",
                self.limits.max_name
            )));
        }
        self.full(name)
    }

    /// Admits, stores and installs `bytes` as `name` (see [`Sandbox::install`]) through the
    /// slots' pipeline.
    async fn install(&self, name: String, bytes: Owned) -> Response {
        let key = storage::sandbox_key(&name);
        let installed = self
            .gate
            .admit(
                bytes,
                Keep::Store(&key),
                async |loaded, verified| {
                    self.probe(loaded, verified).await?;
                    // Checked again: other uploads may have filled the sandbox meanwhile.
                    self.full(&name).map_or(Ok(()), Err)
                },
                |loaded, verified, ()| {
                    let mut state = self.state.borrow_mut();
                    let entry = Entry::new(loaded, verified, &mut state);
                    state.capsules.insert(name.clone(), entry).is_some()
                },
            )
            .await;
        match installed {
            Ok((replaced, None)) => Response::empty(if replaced {
                code::CHANGED
            } else {
                code::CREATED
            }),
            // Installed and stored; the ledger is rewritten at the next start.
            Ok((_, Some(refusal))) | Err(refusal) => Response::text(refusal.code, refusal.message),
        }
    }

    /// 5.03 when a new capsule `name` would not fit.
    fn full(&self, name: &str) -> Option<Refusal> {
        let state = self.state.borrow();
        let max = self.limits.max_capsules;
        (!state.capsules.contains_key(name) && state.capsules.len() >= max).then(|| Refusal {
            code: code::SERVICE_UNAVAILABLE,
            message: format!("the sandbox holds {max} capsules already"),
        })
    }

    /// The sandbox's own check: the capsule links with the sandbox's grants and exports
    /// `run: func() -> string`. By type only: instantiating it here would need a second instance's
    /// memory beside the capsules already running (on a 256 KiB device, the difference between
    /// taking an upload and 5.03); what only running shows (a start function that traps, memory
    /// over the run limit) is answered by the first `GET`, as every run is.
    async fn probe(
        &self,
        loaded: &LoadedCapsule,
        _verified: &VerifiedCapsule<'_>,
    ) -> Result<(), Refusal> {
        self.gate
            .runtime
            .check_links(loaded)
            .map_err(Refusal::from)?;
        const WORLD: &str = "sandbox capsules export `run: func() -> string` (world \
                             example-sandbox-no-bindings)";
        let exports = loaded.exported_funcs(&self.gate.runtime);
        let run = exports.iter().find(|f| f.name == "run").ok_or_else(|| {
            Refusal::bad_request(format!("the capsule has no `run` export: {WORLD}"))
        })?;
        if !run.ty.is(&[], &[ValType::String]) {
            return Err(Refusal::bad_request(format!(
                "the capsule's `run` has another signature: {WORLD}"
            )));
        }
        Ok(())
    }
}
