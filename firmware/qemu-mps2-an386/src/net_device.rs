//! The network firmware's CoAP device (feature `net`): what `trevm serve` is on the native board,
//! on the Cortex-M4 — the capsule sandbox (`/sandbox/<name>`), the persistent slot
//! (`/vm-control`, `/vm/...`) and the ephemeral slot (`/ephemeral`), behind EDHOC + OSCORE and
//! the access policy compiled in from a `peers.yml` (build.rs, `TREVM_PEERS`), keeping uploads,
//! anti-rollback ledgers and the device's identity in the flash partition
//! ([`crate::retained::take_partition`]), served over a UDP socket of embassy-net
//! ([`crate::net`]) by trevm-coap's receive loop.
//!
//! Capsules must be built for `pulley32` and signed by a key the firmware trusts: the
//! development key of whoever built it (build.rs). The policy is the build's `peers.yml`; without
//! one, the secure default (unauthenticated clients may only `GET /.well-known/core`).

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;

use embassy_time::Duration;
use embedded_storage::nor_flash::ReadNorFlash as _;
use trevm::{
    EngineProfile, Grants, HostFnError, HostState, Limits, Preemption, Runtime, RuntimeOptions,
    TrustPolicy, TrustedKey, Val,
};
use trevm_coap::secure::{DeviceRng, Identity};
use trevm_coap::server::Transport;
use trevm_coap::{Security, Server, ServerLimits};
use trevm_slots::storage::SharedStore;
use trevm_slots::{Announced, Device, Ephemeral, Persistent, Sandbox, SandboxLimits};
use trevm_store::{FlashStore, StoreError};

use embassy_net::IpEndpoint;

use crate::console::board;
use crate::host_file::HostFile;
use crate::net_rd::RdArgs;

/// The host file the flash partition is kept in (in QEMU's working directory).
const FLASH_IMAGE: &core::ffi::CStr = c"trevm-flash.img";

/// The access policy: the `peers.yml` the firmware was built with.
fn policy() -> trevm_coap::Policy {
    include!(concat!(env!("OUT_DIR"), "/policy.rs"))
}

/// Serves the device on `transport` (described by `listening` in the ready line) until it
/// fails, registered with a Resource Directory over the socket and as the options `rd` give
/// ([`crate::net_rd`]) when they are given. Returns why the device could not start or stopped.
pub async fn run<T, R>(transport: &T, listening: &str, rd: Option<(&R, &RdArgs)>) -> String
where
    T: Transport<Peer = IpEndpoint>,
    T::Error: core::fmt::Debug,
    R: Transport<Peer = IpEndpoint>,
    R::Error: core::fmt::Debug,
{
    use futures_util::future::{Either, select};
    let links = trevm_coap::rd::LinksWatch::new();
    let (mut server, driver) = match start(links.clone()).await {
        Ok(started) => started,
        Err(e) => return e,
    };
    board(&format!("net: CoAP device listening on {listening}"));
    let now = || embassy_time::Instant::now().as_millis();
    let sleep_until = |ms| embassy_time::Timer::at(embassy_time::Instant::from_millis(ms));
    let serving = core::pin::pin!(trevm_coap::server::serve(
        transport,
        &mut server,
        now,
        sleep_until
    ));
    let serving = Apart(serving);
    // The ephemeral slot's capsule and the registration run beside the server, in this task.
    let registering = core::pin::pin!(async {
        match rd {
            Some((socket, args)) => crate::net_rd::register(socket, args, &links).await,
            None => core::future::pending().await,
        }
    });
    let registering = Apart(registering);
    match select(serving, select(core::pin::pin!(driver), registering)).await {
        Either::Left((error, _)) => format!("the CoAP socket failed: {error:?}"),
        Either::Right((Either::Left(((), _)), _)) => "the ephemeral slot's driver ended".into(),
        Either::Right((Either::Right((why, _)), _)) => why,
    }
}

/// Polls a future from a function of its own, never inlined into its caller's: the
/// registration's state machine inlined into the device task's poll function made that
/// function's frame, which every capsule run and handshake runs on top of, 12 KB larger
/// (the main stack's high-water went from 30 to 42 KB, measured with `serve.sh --measure`).
struct Apart<'a, F: ?Sized>(core::pin::Pin<&'a mut F>);

impl<F: core::future::Future + ?Sized> core::future::Future for Apart<'_, F> {
    type Output = F::Output;

    #[inline(never)]
    fn poll(
        mut self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<F::Output> {
        self.0.as_mut().poll(cx)
    }
}

/// The server with its three slots and security layer, restored from the flash partition, its
/// capsules' links kept in `links`, and the ephemeral slot's driver.
async fn start<P: PartialEq + Clone>(
    links: trevm_coap::rd::LinksWatch,
) -> Result<
    (
        alloc::boxed::Box<Server<P, Announced, Security<P>>>,
        impl core::future::Future<Output = ()>,
    ),
    String,
> {
    let flash = crate::retained::take_partition(FLASH_IMAGE).ok_or("the flash is taken")?;
    let size = flash.capacity() as u32;
    let store = match FlashStore::open(flash, 0..size) {
        Ok(store) => store,
        Err(StoreError::Corrupt(why)) => {
            return Err(format!(
                "the flash store is corrupt ({why}); delete trevm-flash.img to start afresh"
            ));
        }
        Err(e) => return Err(format!("opening the flash store: {e}")),
    };
    board(&format!(
        "net: flash store of {} KiB at {:#x}; heap of {} B",
        size / 1024,
        crate::retained::partition_start(),
        crate::measure::HEAP_SIZE
    ));
    let store = trevm_slots::storage::shared(store);

    let profile = EngineProfile::pulley32(Preemption::Fuel);
    let runtime = |grants: Grants| {
        Runtime::new(profile, RuntimeOptions::mcu().with_grants(grants)).map_err(|e| e.to_string())
    };
    let trust = trust()?;
    // Capsules' log lines go to the console and to /logs: a ring of LOG_RING bytes of lines.
    let console: Arc<dyn trevm::LogSink> = Arc::new(crate::console::SemihostingLog);
    let logs = trevm_slots::logs::Logs::new(
        LOG_RING,
        || embassy_time::Instant::now().as_millis(),
        Some(console),
    );
    let log: Arc<dyn trevm::LogSink> = Arc::new(logs.clone());
    let host = || {
        let log = log.clone();
        move |name: &str| HostState::new(name).with_log(log.clone())
    };

    let mut sandbox = Sandbox::new(
        runtime(Sandbox::GRANTS)?,
        SandboxLimits::default(),
        trust.clone(),
    );
    for line in sandbox.restore(store.clone())? {
        board(&format!("coap: {line}"));
    }
    // Capsules of the persistent and ephemeral slots may log and sleep (and the signer must
    // grant it too); the sandbox's get nothing, as on the native board.
    let grants = Grants::parse("log,time").map_err(|e| e.to_string())?;
    let mut persistent_rt = runtime(grants)?;
    // The world of upstream's `example-coap-server` imports `uppercase` from the application.
    persistent_rt
        .define_func("", "uppercase", |_host, args| match args {
            [Val::String(input)] => Ok(alloc::vec![Val::String(input.to_uppercase())]),
            _ => Err(HostFnError("uppercase takes one string".into())),
        })
        .map_err(|e| e.to_string())?;
    let limits = Limits::new().with_timeout(Duration::from_secs(2));
    let persistent =
        Persistent::new(persistent_rt, limits, host(), trust.clone()).map_err(|e| e.to_string())?;
    if let Some(line) = persistent.restore(store.clone()).await? {
        board(&format!("coap: {line}"));
    }
    let ephemeral =
        Ephemeral::new(runtime(grants)?, Limits::new(), host(), trust).with_log(log.clone());
    ephemeral.restore(store.clone())?;
    let driver = ephemeral.driver();

    let device = Device {
        sandbox,
        persistent: Some(persistent),
        ephemeral: Some(ephemeral),
        memory: Some(heap),
        logs: Some(logs),
    };
    let security = security(&store)?;
    // Announced: the device's capsules as Resource Directory links, kept current for
    // [`crate::net_rd`] (computed after requests that may change them; idle without an RD).
    let device = Announced::new(device, links);
    let server = Server::new(device, ServerLimits::mcu()).with_security(security);
    Ok((alloc::boxed::Box::new(server), driver))
}

/// Bytes of log lines `/logs` keeps (a dozen lines or so; each line is allocated on its own).
const LOG_RING: usize = 1024;

/// The public key this device trusts: the development key of whoever built the firmware.
static TRUSTED_KEY: [u8; 32] = *include_bytes!(concat!(env!("OUT_DIR"), "/trusted-key.bin"));

/// The heap as `/status` reports it.
fn heap() -> trevm_coap::status::Memory {
    use crate::measure::{HEAP, HEAP_SIZE};
    trevm_coap::status::Memory {
        heap_used: HEAP.used() as u64,
        heap_peak: HEAP.peak() as u64,
        heap_size: Some(HEAP_SIZE as u64),
    }
}

/// Capsules signed by the development key of whoever built the firmware.
fn trust() -> Result<TrustPolicy, String> {
    let key = TrustedKey::ed25519(TRUSTED_KEY)
        .map_err(|e| e.to_string())?
        .with_label("the firmware builder's development key");
    Ok(TrustPolicy::new().trust(key))
}

/// The security layer: the identity kept in the store (made on first start), the compiled-in
/// policy, and an RNG seeded from the host (see [`device_rng`]).
fn security<P: PartialEq + Clone>(store: &SharedStore) -> Result<Security<P>, String> {
    let mut rng = device_rng()?;
    let identity = crate::identity::stored(store, || Identity::generate(&mut *rng))?;
    let policy = policy();
    board(&format!(
        "access: {} known client(s) (EDHOC + OSCORE); unauthenticated clients: {}",
        policy.peers.len(),
        describe(policy.unauthenticated.as_ref())
    ));
    board(&format!("CoAP server identity: {}", identity.diag()));
    Security::new(identity, &policy, rng).map_err(|e| format!("the access policy: {e}"))
}

fn describe(scope: Option<&trevm_coap::secure::Scope>) -> String {
    use trevm_coap::secure::Scope;
    match scope {
        None => "nothing".into(),
        Some(Scope::AllowAll) => "EVERYTHING (an open device)".into(),
        Some(Scope::Rules(rules)) if rules.is_empty() => "nothing".into(),
        Some(Scope::Rules(rules)) => rules
            .iter()
            .map(|r| r.path.as_str())
            .collect::<alloc::vec::Vec<_>>()
            .join(", "),
    }
}

/// The device's cryptographic RNG: ChaCha20 seeded with 32 bytes of the host's `/dev/urandom`,
/// read through semihosting. QEMU's MPS2 has no hardware RNG; a real board seeds from its own
/// (on Ariel OS, the `random` module's crypto RNG), and never from a fixed seed: the identity
/// and every EDHOC ephemeral key come from here.
fn device_rng() -> Result<DeviceRng, String> {
    use rand_core::SeedableRng as _;
    let mut seed = [0u8; 32];
    let urandom =
        HostFile::open_read(c"/dev/urandom").ok_or("cannot open the host's /dev/urandom")?;
    if !urandom.read(&mut seed) {
        return Err("cannot read the host's /dev/urandom".into());
    }
    Ok(Box::new(rand_chacha::ChaCha20Rng::from_seed(seed)))
}
