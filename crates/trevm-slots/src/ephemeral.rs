//! The ephemeral slot: a capsule uploaded to `/ephemeral` is started once in the background
//! (fire and forget), and `DELETE /ephemeral` stops it. Upstream's "ephemeral" examples do this
//! on their `/vm-control`; here `/vm-control` belongs to the persistent slot, so both can live on
//! one device.
//!
//! - `PUT /ephemeral` with a capsule (block-wise for anything over one block): the capsule must
//!   pass the device's [`TrustPolicy`] (4.01 or 4.03 with the reason, see [`crate::admit`]),
//!   instantiate with the interfaces the slot grants, and export a function the slot knows how to
//!   start (4.00 otherwise). Then 2.04 Changed, saying what was started, e.g.
//!   `started temperature-noise: mess-with-temperature()`; the answer does not wait for the call.
//!   A capsule still running is stopped first (the answer says so).
//! - What is started: the first of the slot's configured calls ([`Ephemeral::with_start`], e.g.
//!   `fibonacci(40)`) the capsule exports with that many parameters; else the capsule's one
//!   exported function without parameters (e.g. `mess-with-temperature`).
//! - `GET /ephemeral`: what runs or ran, and how it ended (returned what, failed why, stopped).
//! - `DELETE /ephemeral`: stops the running capsule at its next yield (its instance is dropped
//!   before it runs again): 2.02, also when none runs (RFC 7252 §5.8.4, as upstream does).
//!
//! The call runs under the slot's [`Limits`] (memory, fuel; no timeout unless the limits set
//! one) in [`Ephemeral::driver`], a future the application runs beside the server: the server
//! never waits for it. Nothing of the capsule is stored (it is ephemeral); its anti-rollback
//! ledger is, with a store ([`Ephemeral::restore`]).

use alloc::boxed::Box;
use alloc::format;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::Future;
use core::pin::pin;

use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::signal::Signal;
use futures_util::future::{Either, select};

use trevm::{
    Error, ExportedFunc, HostState, HostView, Instance, Limits, LogSink, Runtime, TrustPolicy, Val,
};

use crate::admit::Refusal;
use crate::gate::{Gate, Keep};
use crate::status::{CapsuleStats, CapsuleStatus, RunMeasure};
use crate::storage::{self, SharedStore};
use crate::values::{describe_call, show_values};
use trevm_coap::message::code;
use trevm_coap::server::{Handled, Request, Response, Run};

/// A call the slot may start: an export and its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Start {
    /// The export's name (`interface#name` for one inside an exported interface).
    pub export: String,
    /// Its arguments.
    pub args: Vec<Val>,
}

/// The `/ephemeral` resource and its background runner ([`Ephemeral::driver`]). `T` is the
/// runtime's store data (see [`HostView`]).
pub struct Ephemeral<T: HostView = HostState> {
    shared: Rc<Shared<T>>,
}

impl<T: HostView> core::fmt::Debug for Ephemeral<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let state = self.shared.state.borrow();
        f.debug_struct("Ephemeral")
            .field("current", &state.current.as_ref().map(|c| &c.call))
            .finish_non_exhaustive()
    }
}

struct Shared<T: HostView> {
    /// The runtime, the trust policy, the host state and the ledger.
    gate: Gate<T>,
    limits: Limits,
    starts: RefCell<Vec<Start>>,
    log: RefCell<Option<Arc<dyn LogSink>>>,
    state: RefCell<State>,
    /// The next capsule to start, for the driver.
    jobs: Signal<NoopRawMutex, Job<T>>,
    /// Wakes the driver to look at [`State::wanted`] again.
    wake: Signal<NoopRawMutex, ()>,
}

#[derive(Default)]
struct State {
    starts: u64,
    /// The start that should be running (0: none).
    wanted: u64,
    current: Option<Current>,
}

/// The capsule started last.
struct Current {
    serial: u64,
    name: String,
    installed: crate::admit::Installed,
    /// `fibonacci(40)`.
    call: String,
    started: embassy_time::Instant,
    phase: Phase,
    stats: CapsuleStats,
}

enum Phase {
    Running,
    Returned(String),
    Failed(String),
    Stopped,
}

struct Job<T: HostView> {
    serial: u64,
    instance: Instance<T>,
    start: Start,
}

impl<T: HostView> Ephemeral<T> {
    /// A second handle on the same slot (for work that outlives a request).
    pub(crate) fn share(&self) -> Self {
        Ephemeral {
            shared: Rc::clone(&self.shared),
        }
    }

    /// An ephemeral slot running capsules on `runtime` (whose [`Grants`](trevm::Grants) are the
    /// interfaces they may import) under `limits`, with the host state `host` makes, for
    /// capsules that pass `trust`. Nothing runs until the application runs
    /// [`Ephemeral::driver`].
    pub fn new(
        runtime: Runtime<T>,
        limits: Limits,
        host: impl Fn(&str) -> T + 'static,
        trust: TrustPolicy,
    ) -> Self {
        Ephemeral {
            shared: Rc::new(Shared {
                gate: Gate::new(runtime, trust, Box::new(host), storage::EPHEMERAL_LEDGER),
                limits,
                starts: RefCell::new(Vec::new()),
                log: RefCell::new(None),
                state: RefCell::new(State::default()),
                jobs: Signal::new(),
                wake: Signal::new(),
            }),
        }
    }

    /// Starts `export(args)` in capsules that export it with as many parameters (checked in the
    /// order given, before the one-function-without-parameters rule).
    pub fn with_start(self, export: impl Into<String>, args: Vec<Val>) -> Self {
        self.shared.starts.borrow_mut().push(Start {
            export: export.into(),
            args,
        });
        self
    }

    /// Says how each started capsule ended (`fibonacci(40) returned 102334155`) on `log`.
    pub fn with_log(self, log: Arc<dyn LogSink>) -> Self {
        *self.shared.log.borrow_mut() = Some(log);
        self
    }

    /// Keeps the slot's anti-rollback ledger in `store` from now on, starting from the one stored
    /// there. An error when the stored ledger is unreadable (starting without it would allow
    /// rollbacks).
    pub fn restore(&self, store: SharedStore) -> Result<(), String> {
        self.shared.gate.attach(store)
    }

    /// Runs the started capsules, one at a time, forever: run it beside the server (e.g. joined
    /// with [`trevm_coap::server::serve`], or as a task of its own on the same executor).
    pub fn driver(&self) -> impl Future<Output = ()> + use<T> {
        let shared = self.shared.clone();
        async move {
            loop {
                let job = shared.jobs.wait().await;
                if shared.state.borrow().wanted != job.serial {
                    continue; // replaced or stopped before it started
                }
                let serial = job.serial;
                // The instance lives in `run` and goes with it, before anything else runs.
                let outcome = {
                    let mut run = pin!(job.run());
                    loop {
                        // The stop check first: a stopped capsule does not run another slice.
                        match select(pin!(shared.wake.wait()), run.as_mut()).await {
                            Either::Left(_) if shared.state.borrow().wanted != serial => {
                                break None;
                            }
                            Either::Left(_) => {}
                            Either::Right((outcome, _)) => break Some(outcome),
                        }
                    }
                };
                shared.finish(serial, outcome);
            }
        }
    }

    /// The capsule started last, for `GET /status`.
    pub fn status(&self) -> Option<CapsuleStatus> {
        let state = self.shared.state.borrow();
        let current = state.current.as_ref()?;
        Some(
            current
                .stats
                .status("ephemeral", &current.name, &current.installed),
        )
    }

    /// The `/.well-known/core` link of `/ephemeral`.
    pub fn links(&self) -> Vec<String> {
        alloc::vec![String::from(
            "</ephemeral>;title=\"PUT a capsule to start it once in the background; DELETE stops it\""
        )]
    }

    /// Handles `/ephemeral`. An upload's body is taken from the request (moved, not copied: it
    /// becomes the capsule's code memory).
    pub fn handle(&mut self, mut request: Request<'_>) -> Handled {
        match request.code {
            code::PUT => {
                let shared = self.shared.clone();
                let body = request.payload.take();
                Handled::Later(Run::new(async move {
                    match shared.start(body.into_parts()).await {
                        Ok(said) => Response::text(code::CHANGED, said),
                        Err(refusal) => Response::text(refusal.code, refusal.message),
                    }
                }))
            }
            code::GET => Response::text(code::CONTENT, self.shared.describe()).into(),
            code::DELETE => self.stop().into(),
            _ => Response::text(
                code::METHOD_NOT_ALLOWED,
                "PUT a capsule to start it, GET, or DELETE to stop it",
            )
            .into(),
        }
    }

    fn stop(&self) -> Response {
        let mut state = self.shared.state.borrow_mut();
        let Some(current) = state
            .current
            .as_mut()
            .filter(|c| matches!(c.phase, Phase::Running))
        else {
            // RFC 7252 §5.8.4: 2.02 also when there was nothing to delete.
            return Response::text(code::DELETED, "no ephemeral capsule was running");
        };
        current.phase = Phase::Stopped;
        let said = format!("stopped {}: {}", current.name, current.call);
        state.wanted = 0;
        self.shared.wake.signal(());
        Response::text(code::DELETED, said)
    }
}

impl<T: HostView> Job<T> {
    async fn run(mut self) -> (Result<Vec<Val>, Error>, RunMeasure) {
        let started = embassy_time::Instant::now();
        let result = self
            .instance
            .call(&self.start.export, &self.start.args)
            .await;
        let measure = RunMeasure {
            ms: started.elapsed().as_millis(),
            fuel: self.instance.fuel_consumed(),
            peak_memory: self.instance.peak_memory(),
        };
        (result, measure)
    }
}

impl<T: HostView> Shared<T> {
    /// The slots' pipeline for `bytes`: admitted, instantiated, its call chosen, then handed to
    /// the driver.
    async fn start(&self, bytes: crate::gate::Owned) -> Result<String, Refusal> {
        let (said, unsaved) = self
            .gate
            .admit(
                bytes,
                Keep::Nowhere,
                async |loaded, verified| {
                    let name = verified.name().to_string();
                    let instance = self
                        .gate
                        .runtime
                        .instantiate(loaded, self.gate.host_state(&name), self.limits)
                        .await
                        .map_err(Refusal::from)?;
                    let start = self.choose(&loaded.exported_funcs(&self.gate.runtime))?;
                    Ok((name, instance, start))
                },
                |_, verified, (name, instance, start)| {
                    self.hand_over(name, crate::admit::describe(verified), instance, start)
                },
            )
            .await?;
        // A capsule not stored is refused when its ledger cannot be (see `gate.rs`).
        unsaved.map_or(Ok(said), Err)
    }

    /// Makes `instance` the one to run `start` and wakes the driver; what to answer.
    fn hand_over(
        &self,
        name: String,
        installed: crate::admit::Installed,
        instance: Instance<T>,
        start: Start,
    ) -> String {
        let call = describe_call(&start.export, &start.args);
        let mut state = self.state.borrow_mut();
        let mut said = format!("started {name}: {call}");
        if let Some(old) = state
            .current
            .as_mut()
            .filter(|c| matches!(c.phase, Phase::Running))
        {
            old.phase = Phase::Stopped;
            said.push_str(&format!(" (stopped {}: {})", old.name, old.call));
        }
        state.starts += 1;
        let serial = state.starts;
        state.wanted = serial;
        state.current = Some(Current {
            serial,
            name,
            installed,
            call,
            started: embassy_time::Instant::now(),
            phase: Phase::Running,
            stats: CapsuleStats::default(),
        });
        self.jobs.signal(Job {
            serial,
            instance,
            start,
        });
        self.wake.signal(());
        said
    }

    /// The configured call the capsule exports, else its one function without parameters.
    fn choose(&self, exported: &[ExportedFunc]) -> Result<Start, Refusal> {
        let starts = self.starts.borrow();
        if let Some(start) = starts.iter().find(|s| {
            exported
                .iter()
                .any(|f| f.name == s.export && f.ty.params.len() == s.args.len())
        }) {
            return Ok(start.clone());
        }
        if let Some(one) = ExportedFunc::sole_without_params(exported) {
            return Ok(Start {
                export: one.name.clone(),
                args: Vec::new(),
            });
        }
        let configured: Vec<String> = starts
            .iter()
            .map(|s| describe_call(&s.export, &s.args))
            .collect();
        let has: Vec<String> = exported.iter().map(ToString::to_string).collect();
        Err(Refusal::bad_request(format!(
            "nothing to start: this device starts {}one exported function without parameters; \
             the capsule exports {}",
            if configured.is_empty() {
                String::new()
            } else {
                format!("{}, or ", configured.join(", "))
            },
            if has.is_empty() {
                String::from("no function")
            } else {
                has.join(", ")
            }
        )))
    }

    /// Records how start `serial` ended (`None`: stopped).
    fn finish(&self, serial: u64, outcome: Option<(Result<Vec<Val>, Error>, RunMeasure)>) {
        let mut state = self.state.borrow_mut();
        if state.wanted == serial {
            state.wanted = 0;
        }
        let Some(current) = state.current.as_mut().filter(|c| c.serial == serial) else {
            return; // replaced meanwhile; the new one's record is its own
        };
        let line = match outcome {
            Some((result, measure)) => {
                current.stats.record(&result, measure);
                match result {
                    Ok(values) => {
                        let shown = show_values(&values);
                        let line = if shown.is_empty() {
                            format!("{} returned", current.call)
                        } else {
                            format!("{} returned {shown}", current.call)
                        };
                        current.phase = Phase::Returned(shown);
                        line
                    }
                    Err(e) => {
                        let line = format!("{} failed: {e}", current.call);
                        current.phase = Phase::Failed(e.to_string());
                        line
                    }
                }
            }
            None => {
                let stats = &mut current.stats;
                stats.runs = stats.runs.saturating_add(1);
                stats.stopped = stats.stopped.saturating_add(1);
                stats.last_error = Some(String::from("stopped by DELETE /ephemeral"));
                stats.last_run_ms = Some(current.started.elapsed().as_millis());
                current.phase = Phase::Stopped;
                format!("{} stopped", current.call)
            }
        };
        if let Some(log) = self.log.borrow().as_ref() {
            log.log(&current.name, &format!("ephemeral: {line}"));
        }
    }

    /// `GET /ephemeral`'s answer.
    fn describe(&self) -> String {
        let state = self.state.borrow();
        let Some(c) = state.current.as_ref() else {
            return String::from("no ephemeral capsule has been started");
        };
        let how = match &c.phase {
            Phase::Running => format!("running for {} ms", c.started.elapsed().as_millis()),
            Phase::Returned(v) if v.is_empty() => String::from("returned"),
            Phase::Returned(v) => format!("returned {v}"),
            Phase::Failed(e) => format!("failed: {e}"),
            Phase::Stopped => String::from("stopped"),
        };
        format!("{} ({}): {} {how}", c.name, c.installed, c.call)
    }
}
