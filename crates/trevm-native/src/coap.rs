//! A CoAP server for the native board: a real UDP socket in front of a
//! [`trevm_coap::Server`], driven by the embassy executor like everything else on the board.

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;

use trevm_coap::rd::LinksWatch;
use trevm_coap::server::Layer;
use trevm_coap::{Resources, Server};

pub use crate::rd::RdConfig;
use crate::reactor::Reactor;

/// Serves `server` on `socket` until the socket fails ([`trevm_coap::server::serve`]):
/// datagrams are received while capsules run, and the task is parked until the OS says one
/// arrived (async-io's reactor), so other tasks keep running and nothing polls on a timer.
pub async fn serve<R: Resources, L: Layer<SocketAddr>>(
    socket: UdpSocket,
    server: &mut Server<SocketAddr, R, L>,
) -> std::io::Error {
    let socket = match Reactor::new(socket) {
        Ok(s) => s,
        Err(e) => return e,
    };
    trevm_coap::server::serve(
        &socket,
        server,
        || embassy_time::Instant::now().as_millis(),
        |ms| embassy_time::Timer::at(embassy_time::Instant::from_millis(ms)),
    )
    .await
}

/// What a native-board CoAP device serves, and where it keeps its state.
#[derive(Debug, Clone)]
pub struct DeviceConfig {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Who may sign capsules it accepts (see [`crate::trust::development_policy`]).
    pub trust: trevm::TrustPolicy,
    /// Who may talk to it (see [`crate::access`]).
    pub access: trevm_coap::Policy,
    /// Its state: the EDHOC identity and, under `capsules/`, every capsule uploaded to it and
    /// the anti-rollback ledgers, kept across restarts (default [`crate::access::state_dir`]).
    pub state_dir: PathBuf,
    /// The persistent capsule it serves when none was uploaded (one uploaded to `/vm-control`
    /// and stored wins over it).
    pub persistent: Option<trevm::EmbeddedCapsule>,
    /// Capsules to put in the sandbox at start, as if uploaded (checked, verified and stored
    /// like an upload): (name, capsule bytes).
    pub preload: Vec<(String, Vec<u8>)>,
    /// A capsule to serve in the persistent slot at start, as if PUT to `/vm-control`.
    pub preload_persistent: Option<Vec<u8>>,
    /// The interfaces each slot's capsules may import (see [`SlotGrants`]).
    pub grants: SlotGrants,
    /// Calls the ephemeral slot starts when a capsule exports them (see
    /// [`trevm_slots::Ephemeral::with_start`]), e.g. `("fibonacci", vec![Val::U32(40)])`.
    pub ephemeral_starts: Vec<(String, Vec<trevm::Val>)>,
    /// How the program measures its heap, for `/status` (see
    /// [`trevm_slots::Device::with_memory`]), e.g. from a counting global allocator; `None`
    /// (the default): `/status` has no memory section.
    pub memory: Option<fn() -> trevm_slots::status::Memory>,
    /// A Resource Directory to register with (see [`RdConfig`]); `None` (the default): none.
    pub rd: Option<RdConfig>,
}

/// Which `ariel:wasm-bindings` interfaces each slot of a device links for its capsules. A signed
/// capsule gets at most these *and* what its manifest lists (which its signer may restrict with
/// [`trevm::TrustedKey::only_grants`]); importing anything else refuses it. The board gives
/// every granted interface its peripherals ([`crate::NativeBoard::host_state`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotGrants {
    /// `/sandbox` (default none: upstream's sandbox capsules import nothing).
    pub sandbox: trevm::Grants,
    /// `/vm` and `/vm-control` (default `log`).
    pub persistent: trevm::Grants,
    /// `/ephemeral` (default `log`).
    pub ephemeral: trevm::Grants,
}

impl Default for SlotGrants {
    fn default() -> Self {
        let log = trevm::Grants {
            log: true,
            ..trevm::Grants::none()
        };
        SlotGrants {
            sandbox: trevm_slots::Sandbox::GRANTS,
            persistent: log,
            ephemeral: log,
        }
    }
}

impl SlotGrants {
    /// Sets one slot's grants from `SLOT=LIST` (`persistent=log,sensors,rng`; see
    /// [`trevm::Grants::parse`] for the list), as `trevm serve --grant` takes them.
    pub fn set(&mut self, entry: &str) -> Result<(), String> {
        let (slot, list) = entry.split_once('=').ok_or_else(|| {
            format!("`{entry}`: expected SLOT=INTERFACES, e.g. persistent=log,sensors,rng")
        })?;
        let grants = trevm::Grants::parse(list).map_err(|e| format!("`{entry}`: {e}"))?;
        match slot.trim() {
            "sandbox" => self.sandbox = grants,
            "persistent" => self.persistent = grants,
            "ephemeral" => self.ephemeral = grants,
            other => {
                return Err(format!(
                    "`{entry}`: no slot `{other}` (sandbox, persistent or ephemeral)"
                ));
            }
        }
        Ok(())
    }
}

impl DeviceConfig {
    /// A device on `addr` accepting capsules `trust` accepts, from the clients `access` lets
    /// in, keeping its state in [`crate::access::state_dir`], without a built-in persistent
    /// capsule.
    pub fn new(addr: SocketAddr, trust: trevm::TrustPolicy, access: trevm_coap::Policy) -> Self {
        DeviceConfig {
            addr,
            trust,
            access,
            state_dir: crate::access::state_dir(),
            persistent: None,
            preload: Vec::new(),
            preload_persistent: None,
            grants: SlotGrants::default(),
            ephemeral_starts: Vec::new(),
            memory: None,
            rd: None,
        }
    }
}

/// Runs a CoAP device until its socket fails: a sandbox (see [`trevm_slots::Sandbox`]), a
/// persistent-capsule slot (see [`trevm_slots::Persistent`]) and an ephemeral slot (see
/// [`trevm_slots::Ephemeral`]), with what was uploaded to the first two before restored from the
/// state directory. Uploaded capsules must be built for this machine's default profile and pass
/// the config's trust policy.
///
/// Each slot links the interfaces the config grants it ([`SlotGrants`]), acting on this board's
/// peripherals; `link_persistent` adds the application's own imports for its persistent
/// capsules' world (e.g. upstream's `example-coap-server` imports `uppercase`, which
/// `examples/persistent` defines with [`trevm::Runtime::define_func_typed`]).
///
/// Every request passes EDHOC/OSCORE and the access policy first (see [`crate::access`]); the
/// device's identity is made on first start in the state directory and printed for clients.
pub async fn serve_device(
    board: &crate::NativeBoard,
    config: DeviceConfig,
    link_persistent: impl FnOnce(&mut trevm::Runtime) -> Result<(), trevm::Error>,
) -> Result<(), String> {
    use std::sync::Arc;
    use trevm::{EngineProfile, Limits, Runtime, RuntimeOptions};
    use trevm_coap::ServerLimits;
    use trevm_slots::{Device, Ephemeral, Persistent, Sandbox, SandboxLimits};
    let DeviceConfig {
        addr,
        trust,
        access,
        state_dir: state,
        persistent,
        preload,
        preload_persistent,
        grants,
        ephemeral_starts,
        memory,
        rd,
    } = config;
    // Refused before anything starts: a configuration the RD cannot be sent.
    let registration = match &rd {
        Some(rd) => Some((rd, rd.registrar()?, crate::rd::bind(rd)?)),
        None => None,
    };
    let profile = EngineProfile::for_this_machine();
    let runtime = |grants| {
        Runtime::new(profile, RuntimeOptions::host().with_grants(grants)).map_err(|e| e.to_string())
    };
    // Capsules' log lines go to the console and to /logs (a ring of 4 KiB of lines).
    let console: Arc<dyn trevm::LogSink> = board.log().clone();
    let logs = trevm_slots::logs::Logs::new(
        trevm_slots::logs::DEFAULT_CAPACITY,
        || embassy_time::Instant::now().as_millis(),
        Some(console),
    );
    let host = || {
        let board = board.clone();
        let sink: Arc<dyn trevm::LogSink> = Arc::new(logs.clone());
        move |name: &str| board.host_state(name).with_log(sink.clone())
    };
    let sandbox_rt = runtime(grants.sandbox)?;
    let mut persistent_rt = runtime(grants.persistent)?;
    link_persistent(&mut persistent_rt).map_err(|e| e.to_string())?;
    // How ephemeral capsules ended goes to /logs too.
    let log: Arc<dyn trevm::LogSink> = Arc::new(logs.clone());
    let limits = Limits::new().with_timeout(embassy_time::Duration::from_secs(2));
    let trusted = crate::trust::describe_policy(&trust);

    // What was uploaded before, from the state directory.
    let capsules = state.join("capsules");
    let store = trevm_store::FileStore::open(&capsules)
        .map_err(|e| format!("cannot open the capsule store {}: {e}", capsules.display()))?;
    let store = trevm_slots::storage::shared(store);
    // Said after the device's first lines (address, identity, access), which clients read.
    let mut notes = vec![format!(
        "state in {} (device identity, uploaded capsules)",
        state.display()
    )];
    let mut sandbox =
        Sandbox::new(sandbox_rt, SandboxLimits::default(), trust.clone()).with_host(host());
    notes.extend(sandbox.restore(store.clone())?);
    let slot =
        Persistent::new(persistent_rt, limits, host(), trust.clone()).map_err(|e| e.to_string())?;
    notes.extend(slot.restore(store.clone()).await?);
    // Fire and forget: no timeout; DELETE /ephemeral stops it.
    let mut ephemeral =
        Ephemeral::new(runtime(grants.ephemeral)?, Limits::new(), host(), trust).with_log(log);
    for (export, args) in ephemeral_starts {
        ephemeral = ephemeral.with_start(export, args);
    }
    ephemeral.restore(store)?;
    notes.push(format!(
        "grants: sandbox {}; persistent {}; ephemeral {}",
        grants.sandbox, grants.persistent, grants.ephemeral
    ));
    for (name, bytes) in preload {
        let answer = sandbox.install(&name, bytes).await;
        if answer.code >= 0x80 {
            return Err(format!(
                "preloading sandbox capsule `{name}`: {} {}",
                trevm_coap::message::code::dotted(answer.code),
                String::from_utf8_lossy(&answer.payload)
            ));
        }
        notes.push(format!("preloaded sandbox capsule `{name}`"));
    }
    if let Some(bytes) = preload_persistent {
        let paths = slot
            .replace(&bytes)
            .await
            .map_err(|e| format!("preloading the persistent capsule: {}", e.message))?;
        notes.push(format!(
            "preloaded persistent capsule, serving /vm/{}",
            paths.join(", /vm/")
        ));
    }
    match (slot.serving(), persistent) {
        (None, Some(embedded)) => {
            let capsule = embedded
                .check()
                .map_err(|e| format!("the persistent capsule: {e}"))?;
            let paths = slot
                .replace_verified(&capsule)
                .await
                .map_err(|e| format!("the persistent capsule: {}", e.message))?;
            notes.push(format!(
                "persistent capsule serves /vm/{}",
                paths.join(", /vm/")
            ));
        }
        (Some((name, _)), Some(_)) => notes.push(format!(
            "the uploaded persistent capsule `{name}` serves instead of the built-in one"
        )),
        _ => {}
    }
    let driver = ephemeral.driver();
    let device = Device {
        sandbox,
        persistent: Some(slot),
        ephemeral: Some(ephemeral),
        memory,
        logs: Some(logs),
    };
    let (identity, made) = crate::access::load_or_create_identity(&state)?;
    if made {
        eprintln!(
            "notice: made this device's EDHOC identity in {}",
            state.join("device-identity.bin").display()
        );
    }
    let rng: trevm_coap::secure::DeviceRng =
        Box::new(rand_core::TryRngCore::unwrap_err(rand_core::OsRng));
    let who = describe_access(&access);
    let security = trevm_coap::Security::new(identity, &access, rng)
        .map_err(|e| format!("the access policy: {e}"))?;
    let identity = security.identity().diag();
    let socket = UdpSocket::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    board.log().board(&format!(
        "CoAP device on coap://{addr} — capsules must be built for {profile} and {trusted}; \
         e.g. trevm push payloads/sandbox coap://{addr}/sandbox/hello"
    ));
    board
        .log()
        .board(&format!("CoAP server identity: {identity}"));
    board.log().board(&format!("access: {who}"));
    for note in notes {
        board.log().board(&note);
    }
    let error = match registration {
        Some((rd, registrar, rd_socket)) => {
            board.log().board(&format!(
                "rd: registering with {} as {} (base {}, lifetime {} s)",
                rd.uri, rd.endpoint, rd.base, rd.lifetime_s
            ));
            let links = LinksWatch::new();
            let device = trevm_slots::Announced::new(device, links.clone());
            let mut server = Server::new(device, ServerLimits::default()).with_security(security);
            let registering = crate::rd::register(board, rd, registrar, rd_socket, &links);
            run(socket, &mut server, driver, registering).await
        }
        None => {
            let mut server = Server::new(device, ServerLimits::default()).with_security(security);
            run(socket, &mut server, driver, core::future::pending()).await
        }
    };
    Err(format!("the CoAP socket failed: {error}"))
}

/// Serves `server` on `socket` with the ephemeral slot's `driver` and `registering` (the RD
/// registration, or nothing) beside it, on the same executor, until one of them ends.
async fn run<R: Resources, L: Layer<SocketAddr>>(
    socket: UdpSocket,
    server: &mut Server<SocketAddr, R, L>,
    driver: impl Future<Output = ()>,
    registering: impl Future<Output = std::io::Error>,
) -> std::io::Error {
    use futures_util::future::{Either, select};
    use std::pin::pin;
    let (driver, registering) = (pin!(driver), pin!(registering));
    let serving = pin!(serve(socket, server));
    match select(serving, select(driver, registering)).await {
        Either::Left((error, _)) => error,
        Either::Right((Either::Left(((), _)), _)) => {
            std::io::Error::other("the ephemeral slot's driver ended")
        }
        Either::Right((Either::Right((error, _)), _)) => {
            std::io::Error::other(format!("the RD registration's socket failed: {error}"))
        }
    }
}

fn describe_access(policy: &trevm_coap::Policy) -> String {
    use trevm_coap::secure::Scope;
    let unauth = match &policy.unauthenticated {
        None => "unauthenticated clients nothing".to_string(),
        Some(Scope::AllowAll) => {
            "unauthenticated clients EVERYTHING (an open device: anyone on the network may upload, \
             run and delete capsules)"
                .to_string()
        }
        Some(Scope::Rules(rules)) => format!(
            "unauthenticated clients {}",
            if rules.is_empty() {
                "nothing".to_string()
            } else {
                rules
                    .iter()
                    .map(|r| r.path.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ),
    };
    format!(
        "{unauth}; {} known client(s) (EDHOC + OSCORE)",
        policy.peers.len()
    )
}
