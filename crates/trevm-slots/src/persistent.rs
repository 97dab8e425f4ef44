//! The persistent capsule: a capsule exporting `ariel:wasm-bindings/coap-server-guest` serves the
//! resources it reports under `/vm/…`, and `PUT /vm-control` replaces it while the device runs.
//!
//! - At load the device calls the capsule's `initialize-handler`, then `report` for its paths
//!   (`hello` or `/hello`; served as `/vm/hello` and listed in `/.well-known/core`).
//! - A request to `/vm/<path…>` becomes `coap-run(code, observed-len, message)`: `message` holds
//!   the request's Uri-Path options (the path below `/vm`), its Content-Format and its payload in
//!   CoAP option encoding ([`trevm_coap::message::encode_options_payload`]) in its first
//!   `observed-len` bytes, and is [`RESPONSE_ROOM`] bytes long at least: the room the capsule may
//!   use for its answer. The capsule returns the response code and the response's options and
//!   payload in the same encoding. `not-found` → 4.04, `internal-server-error` → 5.00,
//!   `handler-not-built` → 5.03; a trap → 5.00, and the next request gets a fresh instance.
//! - `PUT /vm-control` with a capsule (block-wise) loads, instantiates and initialises the new
//!   capsule *while the old one keeps serving*; only once all of that succeeded does it take the
//!   old one's place (2.04). The capsule must pass the device's [`TrustPolicy`] first: refused,
//!   it gets 4.01 or 4.03 with the reason (see [`crate::admit`]). Anything else wrong — not a
//!   capsule, another profile, another world, a failing `initialize-handler` or `report` —
//!   answers 4.00 with the reason. Either way the old capsule keeps serving. `GET /vm-control`
//!   says which capsule serves, what, its version and signer.
//!
//! The slot is world-agnostic: the capsule may import what the runtime it is given links (its
//! grants) and its signer granted. For upstream's `example-coap-server` world that is `log-api`
//! plus the world's own `uppercase: func(input: string) -> string`, which the application defines
//! with `Runtime::define_func` (see `examples/persistent`); `example-persistent-with-bindings`
//! needs `sensors-api`, `rng-api` and `log-api`; `example-persistent-no-bindings` nothing.

use alloc::format;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::RefCell;

use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::mutex::Mutex;

use trevm::{
    Error, HostState, HostView, Instance, Limits, LoadedCapsule, Runtime, TrustPolicy,
    VerifiedCapsule,
};

use crate::admit::Refusal;
use crate::gate::{Gate, Keep, Owned};
use crate::guest::{decode_run, initialise};
use crate::status::{CapsuleStats, CapsuleStatus, RunMeasure};
use crate::storage::{self, SharedStore};
use trevm_coap::message::{code, encode_options_payload, opt};
use trevm_coap::server::{Handled, Request, Response, Run};

/// Bytes of room the capsule gets for its response in `coap-run`'s message buffer.
pub const RESPONSE_ROOM: usize = 1152;

/// The capsule serving now.
#[derive(Debug, Clone)]
struct Active {
    loaded: LoadedCapsule,
    /// Version and signer, for `GET /vm-control`.
    provenance: crate::admit::Installed,
    paths: Vec<String>,
    serial: u32,
}

/// The serving capsule's instance, for the load `serial` it was made from.
struct Live<T: HostView> {
    serial: u32,
    instance: Instance<T>,
}

#[derive(Default)]
struct Meta {
    active: Option<Active>,
    loads: u32,
    /// What the serving capsule has done since it was installed.
    stats: CapsuleStats,
}

struct Slot<T: HostView> {
    /// The runtime, the trust policy, the host state and the ledger.
    gate: Gate<T>,
    limits: Limits,
    meta: RefCell<Meta>,
    /// One request at a time reaches the capsule's instance (it has one store); others wait
    /// here, without holding up the server.
    live: Mutex<NoopRawMutex, Option<Live<T>>>,
}

/// The `/vm` resources and `/vm-control`. Requests and replacements are [`Run`]s: they wait for
/// each other on the capsule's one instance, not on the server. `T` is the runtime's store data
/// (see [`HostView`]).
pub struct Persistent<T: HostView = HostState> {
    slot: Rc<Slot<T>>,
}

impl<T: HostView> core::fmt::Debug for Persistent<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Persistent")
            .field("serving", &self.serving().map(|(name, _)| name))
            .finish_non_exhaustive()
    }
}

impl<T: HostView> Persistent<T> {
    /// A second handle on the same slot (for work that outlives a request).
    pub(crate) fn share(&self) -> Self {
        Persistent {
            slot: Rc::clone(&self.slot),
        }
    }

    /// A persistent-capsule slot running capsules on `runtime`, for capsules that pass `trust`.
    ///
    /// The runtime links every import its capsules may have: the `ariel:wasm-bindings`
    /// interfaces its [`Grants`](trevm::Grants) name, and the world's own functions
    /// ([`Runtime::define_func`]). `host` makes each instance's [`HostState`], what those
    /// interfaces act on (`|name| HostState::new(name)` for none; with a runtime whose store
    /// data is the embedder's own `T`, a `T`).
    pub fn new(
        runtime: Runtime<T>,
        limits: Limits,
        host: impl Fn(&str) -> T + 'static,
        trust: TrustPolicy,
    ) -> Result<Self, Error> {
        Ok(Persistent {
            slot: Rc::new(Slot {
                gate: Gate::new(
                    runtime,
                    trust,
                    alloc::boxed::Box::new(host),
                    storage::PERSISTENT_LEDGER,
                ),
                limits,
                meta: RefCell::new(Meta::default()),
                live: Mutex::new(None),
            }),
        })
    }

    /// The serving capsule's name and resource paths, if one is loaded.
    pub fn serving(&self) -> Option<(String, Vec<String>)> {
        let meta = self.slot.meta.borrow();
        let active = meta.active.as_ref()?;
        Some((active.loaded.name().to_string(), active.paths.clone()))
    }

    /// Verifies, loads, instantiates and initialises uploaded capsule bytes, then makes the
    /// capsule the serving one (and, with a store, the one a restart serves); returns its
    /// resource paths. On error the serving capsule is untouched. The bytes are copied once (the
    /// copy becomes the capsule's code memory); an upload to `/vm-control` is not copied.
    pub async fn replace(&self, bytes: &[u8]) -> Result<Vec<String>, Refusal> {
        let body = trevm_coap::server::Body::copy_of(bytes);
        self.slot
            .replace(body.into_parts(), Keep::Store(storage::PERSISTENT))
            .await
    }

    /// Keeps replacements in `store` from now on, and starts the capsule stored there before,
    /// if any (verified again against the trust policy and the stored anti-rollback ledger).
    /// Returns a line for the device's log when something was stored: restored, or not and
    /// why ([`Persistent::serving`] tells which). An error when the store cannot be read or its
    /// ledger is unreadable (starting without it would allow rollbacks).
    pub async fn restore(&self, store: SharedStore) -> Result<Option<String>, String> {
        self.slot.gate.attach(store.clone())?;
        let stored = store
            .borrow_mut()
            .get(storage::PERSISTENT)
            .map_err(|e| format!("reading the persistent capsule from the store: {e}"))?;
        let Some(bytes) = stored else {
            return Ok(None);
        };
        // The stored bytes become the capsule's code memory (when aligned: see
        // `admit::admit_owned`), not copied again.
        Ok(Some(
            match self.slot.replace((bytes, 0), Keep::Stored).await {
                Ok(paths) => {
                    let (name, _) = self.serving().unwrap_or_default();
                    format!(
                        "restored persistent capsule `{name}`, serving /vm/{}",
                        paths.join(", /vm/")
                    )
                }
                Err(refusal) => format!(
                    "stored persistent capsule not restored: {}",
                    refusal.message
                ),
            },
        ))
    }

    /// Like [`Persistent::replace`], for a capsule verified already (e.g. one built into the
    /// firmware: [`EmbeddedCapsule::check`](trevm::EmbeddedCapsule::check)).
    pub async fn replace_verified(
        &self,
        capsule: &VerifiedCapsule<'_>,
    ) -> Result<Vec<String>, Refusal> {
        let loaded = self.slot.gate.runtime.load(capsule)?;
        self.slot.install(loaded, capsule, Keep::Nowhere).await
    }

    /// The serving capsule's status (for `GET /status`), if one is loaded.
    pub fn status(&self) -> Option<CapsuleStatus> {
        let meta = self.slot.meta.borrow();
        let active = meta.active.as_ref()?;
        Some(
            meta.stats
                .status("persistent", active.loaded.name(), &active.provenance),
        )
    }

    /// `/.well-known/core` links of the serving capsule's resources.
    pub fn links(&self) -> Vec<String> {
        let mut links = alloc::vec![String::from(
            "</vm-control>;title=\"PUT a capsule to replace the persistent one\""
        )];
        if let Some((_, paths)) = self.serving() {
            links.extend(
                paths
                    .iter()
                    .map(|p| format!("</vm/{}>", p.trim_start_matches('/'))),
            );
        }
        links
    }

    /// Handles `/vm-control`. An upload's body is taken from the request (moved, not copied: it
    /// becomes the capsule's code memory).
    pub fn control(&mut self, mut request: Request<'_>) -> Handled {
        match request.code {
            code::PUT => {
                let slot = self.slot.clone();
                let body = request.payload.take();
                Handled::Later(Run::new(async move {
                    let keep = Keep::Store(storage::PERSISTENT);
                    match slot.replace(body.into_parts(), keep).await {
                        Ok(paths) => {
                            Response::text(code::CHANGED, format!("serving {}", paths.join(", ")))
                        }
                        Err(refusal) => Response::text(refusal.code, refusal.message),
                    }
                }))
            }
            code::GET => match &self.slot.meta.borrow().active {
                Some(a) => Response::text(
                    code::CONTENT,
                    format!(
                        "capsule `{}` (load {}, {}) serves: {}",
                        a.loaded.name(),
                        a.serial,
                        a.provenance,
                        a.paths.join(", ")
                    ),
                )
                .into(),
                None => Response::text(code::CONTENT, "no persistent capsule").into(),
            },
            _ => Response::text(code::METHOD_NOT_ALLOWED, "PUT a capsule, or GET").into(),
        }
    }

    /// Handles `/vm/<rest…>`.
    pub fn handle(&mut self, request: &Request<'_>, rest: &[&str]) -> Handled {
        if self.slot.meta.borrow().active.is_none() {
            return Response::text(code::NOT_FOUND, "no persistent capsule is loaded").into();
        }
        let mut options: Vec<(u16, Vec<u8>)> = rest
            .iter()
            .map(|s| (opt::URI_PATH, s.as_bytes().to_vec()))
            .collect();
        if let Some(cf) = request.content_format {
            let b = cf.to_be_bytes();
            let skip = b.iter().take_while(|x| **x == 0).count();
            options.push((opt::CONTENT_FORMAT, b[skip..].to_vec()));
        }
        let mut message = encode_options_payload(&options, &request.payload);
        let observed = message.len() as u32;
        if message.len() < RESPONSE_ROOM {
            message.resize(RESPONSE_ROOM, 0);
        }
        let slot = self.slot.clone();
        let code = request.code;
        Handled::Later(Run::new(
            async move { slot.run(code, observed, message).await },
        ))
    }
}

impl<T: HostView> Slot<T> {
    /// Admits and installs uploaded (or stored) `bytes`, kept as `keep` says.
    async fn replace(&self, bytes: Owned, keep: Keep<'_>) -> Result<Vec<String>, Refusal> {
        let admitted = self.gate.check(bytes)?;
        self.install(admitted.loaded, &admitted.verified, keep)
            .await
    }

    /// The slots' pipeline from its prepare step: instantiates and initialises `loaded` while
    /// the old capsule keeps serving, waits until no request uses the old instance, then swaps.
    async fn install(
        &self,
        loaded: LoadedCapsule,
        verified: &VerifiedCapsule<'_>,
        keep: Keep<'_>,
    ) -> Result<Vec<String>, Refusal> {
        let (paths, unsaved) = self
            .gate
            .install(
                loaded,
                verified,
                keep,
                async |loaded, verified| {
                    let host = self.gate.host_state(verified.name());
                    let mut instance = self
                        .gate
                        .runtime
                        .instantiate(loaded, host, self.limits)
                        .await
                        .map_err(Refusal::from)?;
                    let paths = initialise(&mut instance)
                        .await
                        .map_err(Refusal::bad_request)?;
                    // Wait until no request is using the old instance.
                    let live = self.live.lock().await;
                    Ok((instance, paths, live))
                },
                |loaded, verified, (instance, paths, mut live)| {
                    let mut meta = self.meta.borrow_mut();
                    meta.loads += 1;
                    let serial = meta.loads;
                    meta.stats = CapsuleStats::default();
                    meta.active = Some(Active {
                        loaded,
                        provenance: crate::admit::describe(verified),
                        paths: paths.clone(),
                        serial,
                    });
                    *live = Some(Live { serial, instance });
                    paths
                },
            )
            .await?;
        match unsaved {
            // Serving, but the ledger is not stored: say so (a 2.04 means durable).
            Some(refusal) => Err(refusal),
            None => Ok(paths),
        }
    }

    /// One `coap-run` on the serving capsule, after the requests before it.
    async fn run(&self, code: u8, observed: u32, message: Vec<u8>) -> Response {
        let mut live = self.live.lock().await;
        let Some(active) = self.meta.borrow().active.clone() else {
            return Response::text(code::NOT_FOUND, "no persistent capsule is loaded");
        };
        // After a trap the old store cannot be trusted: start a fresh instance.
        let fresh = live
            .as_ref()
            .is_none_or(|l| l.serial != active.serial || l.instance.is_stopped());
        if fresh {
            let host = self.gate.host_state(active.loaded.name());
            match self
                .gate
                .runtime
                .instantiate(&active.loaded, host, self.limits)
                .await
            {
                Ok(mut instance) => {
                    if let Err(e) = initialise(&mut instance).await {
                        return Response::text(code::SERVICE_UNAVAILABLE, e);
                    }
                    *live = Some(Live {
                        serial: active.serial,
                        instance,
                    });
                }
                Err(e) => return Response::text(code::SERVICE_UNAVAILABLE, e.to_string()),
            }
        }
        let Some(live) = live.as_mut() else {
            return Response::text(code::SERVICE_UNAVAILABLE, "no instance");
        };
        let started = embassy_time::Instant::now();
        let fuel_before = live.instance.fuel_consumed();
        let result = live.instance.coap_run(code, observed, &message).await;
        let measure = RunMeasure {
            ms: started.elapsed().as_millis(),
            fuel: live
                .instance
                .fuel_consumed()
                .map(|after| after.saturating_sub(fuel_before.unwrap_or(0))),
            peak_memory: live.instance.peak_memory(),
        };
        {
            let mut meta = self.meta.borrow_mut();
            if meta
                .active
                .as_ref()
                .is_some_and(|a| a.serial == live.serial)
            {
                meta.stats.record(&result, measure);
            }
        }
        match result {
            Ok(answer) => decode_run(answer),
            Err(e) => crate::status::failed_run(&e),
        }
    }
}
