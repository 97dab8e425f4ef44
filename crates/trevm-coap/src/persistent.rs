//! The persistent capsule: a capsule exporting `ariel:wasm-bindings/coap-server-guest` serves the
//! resources it reports under `/vm/…`, and `PUT /vm-control` replaces it while the device runs.
//!
//! - At load the device calls the capsule's `initialize-handler`, then `report` for its paths
//!   (`hello` or `/hello`; served as `/vm/hello` and listed in `/.well-known/core`).
//! - A request to `/vm/<path…>` becomes `coap-run(code, observed-len, message)`: `message` holds
//!   the request's Uri-Path options (the path below `/vm`), its Content-Format and its payload in
//!   CoAP option encoding ([`crate::message::encode_options_payload`]) in its first
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
//! The slot is world-agnostic: the capsule may import what the runtime it is given links. For
//! upstream's `example-coap-server` world that is `log-api` plus the world's own
//! `uppercase: func(input: string) -> string`, which the application defines with
//! `Runtime::define_func` (see `examples/persistent`).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use trevm::{
    CoapGuestError, Error, HostState, Limits, LoadedCapsule, LogSink, Runtime, TrustPolicy,
    VerifiedCapsule, VersionLedger,
};

use crate::admit::{Refusal, admit};
use crate::message::{code, encode_options_payload, opt, parse_options_payload};
use crate::server::{Request, Response};

/// Bytes of room the capsule gets for its response in `coap-run`'s message buffer.
pub const RESPONSE_ROOM: usize = 1152;

/// The capsule serving now.
#[derive(Debug)]
struct Active {
    loaded: LoadedCapsule,
    /// Version and signer, for `GET /vm-control`.
    provenance: String,
    instance: Option<trevm::Instance>,
    paths: Vec<String>,
    serial: u32,
}

/// The `/vm` resources and `/vm-control`.
pub struct Persistent {
    runtime: Runtime,
    limits: Limits,
    trust: TrustPolicy,
    ledger: VersionLedger,
    log: Option<Arc<dyn LogSink>>,
    active: Option<Active>,
    loads: u32,
}

impl core::fmt::Debug for Persistent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Persistent")
            .field("active", &self.active.as_ref().map(|a| a.loaded.name()))
            .finish_non_exhaustive()
    }
}

impl Persistent {
    /// A persistent-capsule slot running capsules on `runtime` (with every import its capsules
    /// need already linked: granted `ariel:wasm-bindings` interfaces and the world's own
    /// functions), for capsules that pass `trust`.
    pub fn new(
        runtime: Runtime,
        limits: Limits,
        log: Option<Arc<dyn LogSink>>,
        trust: TrustPolicy,
    ) -> Result<Self, Error> {
        Ok(Persistent {
            runtime,
            limits,
            trust,
            ledger: VersionLedger::new(),
            log,
            active: None,
            loads: 0,
        })
    }

    /// The serving capsule's name and resource paths, if one is loaded.
    pub fn serving(&self) -> Option<(&str, &[String])> {
        self.active
            .as_ref()
            .map(|a| (a.loaded.name(), a.paths.as_slice()))
    }

    /// Verifies, loads, instantiates and initialises uploaded capsule bytes, then makes the
    /// capsule the serving one. On error the serving capsule is untouched.
    pub async fn replace(&mut self, bytes: &[u8]) -> Result<&[String], Refusal> {
        let admitted = admit(&self.runtime, &self.trust, &self.ledger, bytes)?;
        self.install(admitted.loaded, &admitted.verified).await
    }

    /// Like [`Persistent::replace`], for a capsule verified already (e.g. one built into the
    /// firmware: [`EmbeddedCapsule::check`](trevm::EmbeddedCapsule::check)).
    pub async fn replace_verified(
        &mut self,
        capsule: &VerifiedCapsule<'_>,
    ) -> Result<&[String], Refusal> {
        let loaded = self.runtime.load(capsule)?;
        self.install(loaded, capsule).await
    }

    async fn install(
        &mut self,
        loaded: LoadedCapsule,
        verified: &VerifiedCapsule<'_>,
    ) -> Result<&[String], Refusal> {
        let mut instance = self
            .runtime
            .instantiate(&loaded, host_state(&self.log, verified.name()), self.limits)
            .await
            .map_err(|e| Refusal::bad_request(e.to_string()))?;
        let paths = initialise(&mut instance)
            .await
            .map_err(Refusal::bad_request)?;
        self.ledger.record(verified);
        self.loads += 1;
        self.active = Some(Active {
            loaded,
            provenance: crate::admit::describe(verified),
            instance: Some(instance),
            paths,
            serial: self.loads,
        });
        Ok(self.active.as_ref().map_or(&[], |a| a.paths.as_slice()))
    }

    /// `/.well-known/core` links of the serving capsule's resources.
    pub fn links(&self) -> Vec<String> {
        let mut links = alloc::vec![String::from(
            "</vm-control>;title=\"PUT a capsule to replace the persistent one\""
        )];
        if let Some(a) = &self.active {
            links.extend(
                a.paths
                    .iter()
                    .map(|p| format!("</vm/{}>", p.trim_start_matches('/'))),
            );
        }
        links
    }

    /// Handles `/vm-control`.
    pub async fn control(&mut self, request: &Request<'_>) -> Response {
        match request.code {
            code::PUT => match self.replace(request.payload).await {
                Ok(paths) => Response::text(code::CHANGED, format!("serving {}", paths.join(", "))),
                Err(refusal) => Response::text(refusal.code, refusal.message),
            },
            code::GET => match &self.active {
                Some(a) => Response::text(
                    code::CONTENT,
                    format!(
                        "capsule `{}` (load {}, {}) serves: {}",
                        a.loaded.name(),
                        a.serial,
                        a.provenance,
                        a.paths.join(", ")
                    ),
                ),
                None => Response::text(code::CONTENT, "no persistent capsule"),
            },
            _ => Response::text(code::METHOD_NOT_ALLOWED, "PUT a capsule, or GET"),
        }
    }

    /// Handles `/vm/<rest…>`.
    pub async fn handle(&mut self, request: &Request<'_>, rest: &[&str]) -> Response {
        let Some(active) = self.active.as_mut() else {
            return Response::text(code::NOT_FOUND, "no persistent capsule is loaded");
        };
        // After a trap the old store cannot be trusted: start a fresh instance.
        if active
            .instance
            .as_ref()
            .is_none_or(trevm::Instance::is_stopped)
        {
            let host = match &self.log {
                Some(log) => HostState::new(active.loaded.name()).with_log(log.clone()),
                None => HostState::new(active.loaded.name()),
            };
            match self
                .runtime
                .instantiate(&active.loaded, host, self.limits)
                .await
            {
                Ok(mut instance) => {
                    if let Err(e) = initialise(&mut instance).await {
                        return Response::text(code::SERVICE_UNAVAILABLE, e);
                    }
                    active.instance = Some(instance);
                }
                Err(e) => return Response::text(code::SERVICE_UNAVAILABLE, e.to_string()),
            }
        }
        let Some(instance) = active.instance.as_mut() else {
            return Response::text(code::SERVICE_UNAVAILABLE, "no instance");
        };
        let mut options: Vec<(u16, Vec<u8>)> = rest
            .iter()
            .map(|s| (opt::URI_PATH, s.as_bytes().to_vec()))
            .collect();
        if let Some(cf) = request.content_format {
            let b = cf.to_be_bytes();
            let skip = b.iter().take_while(|x| **x == 0).count();
            options.push((opt::CONTENT_FORMAT, b[skip..].to_vec()));
        }
        let mut message = encode_options_payload(&options, request.payload);
        let observed = message.len() as u32;
        if message.len() < RESPONSE_ROOM {
            message.resize(RESPONSE_ROOM, 0);
        }
        let result = instance.coap_run(request.code, observed, &message).await;
        match result {
            Ok(answer) => decode_run(answer),
            Err(e @ (Error::Timeout { .. } | Error::OutOfFuel)) => {
                Response::text(code::SERVICE_UNAVAILABLE, format!("capsule stopped: {e}"))
            }
            Err(e) => Response::text(code::INTERNAL_SERVER_ERROR, e.to_string()),
        }
    }
}

/// Host state for a persistent capsule: its name and, if the device has one, the log.
fn host_state(log: &Option<Arc<dyn LogSink>>, name: &str) -> HostState {
    let host = HostState::new(name);
    match log {
        Some(log) => host.with_log(log.clone()),
        None => host,
    }
}

/// `initialize-handler`, then `report`.
async fn initialise(instance: &mut trevm::Instance) -> Result<Vec<String>, String> {
    const WORLD: &str = "a persistent capsule exports ariel:wasm-bindings/coap-server-guest \
                         (world example-coap-server)";
    let init = instance
        .coap_initialize_handler()
        .await
        .map_err(|e| match e {
            Error::MissingExport { .. } => format!("{e}: {WORLD}"),
            e => format!("initialize-handler: {e}"),
        })?;
    if init.is_err() {
        return Err("the capsule's initialize-handler returned its error".into());
    }
    instance
        .coap_report()
        .await
        .map_err(|e| format!("report: {e}"))?
        .map_err(|_| "the capsule's report returned its error".into())
}

/// `coap-run`'s result as a response.
fn decode_run(answer: Result<(u8, Vec<u8>), CoapGuestError>) -> Response {
    match answer {
        Ok((c, bytes)) => {
            let Ok((options, payload)) = parse_options_payload(&bytes) else {
                return Response::text(
                    code::INTERNAL_SERVER_ERROR,
                    "the capsule's response options are malformed",
                );
            };
            // Only response codes (class 2–5) may go back to a client.
            if !(0x40..0xc0).contains(&c) {
                return Response::text(
                    code::INTERNAL_SERVER_ERROR,
                    format!("the capsule answered with code {}", code::dotted(c)),
                );
            }
            let content_format = options
                .iter()
                .find(|(n, _)| *n == opt::CONTENT_FORMAT)
                .and_then(|(_, v)| {
                    (v.len() <= 4).then(|| v.iter().fold(0u32, |a, b| a << 8 | u32::from(*b)))
                });
            Response {
                code: c,
                payload,
                content_format,
            }
        }
        Err(CoapGuestError::NotFound) => Response::text(code::NOT_FOUND, "not found"),
        Err(CoapGuestError::HandlerNotBuilt) => Response::text(
            code::SERVICE_UNAVAILABLE,
            "the capsule's handler is not built",
        ),
        Err(CoapGuestError::InternalServerError) => Response::text(
            code::INTERNAL_SERVER_ERROR,
            "the capsule reported an internal error",
        ),
    }
}
