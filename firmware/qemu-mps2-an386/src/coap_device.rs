//! The CoAP device on the Cortex-M4 (feature `coap`; with `coap-oscore`, behind EDHOC + OSCORE and
//! an access policy): trevm-coap's server with the capsule sandbox, as `trevm serve` runs it on
//! the native board, keeping uploads in a `trevm-store` `FlashStore` on NOR flash (here RAM kept
//! across a reset: [`crate::retained`]). QEMU's mps2-an386 network interface is not wired up, so
//! the datagrams a client would send are handed to the server in memory; what it answers is
//! printed.
//!
//! First boot: format the store, upload a signed capsule (PUT, Block1) and run it (GET), show the
//! policy refusing a stranger, then reset the board ([`restart`]). Second boot
//! ([`after_restart`]): the capsule is restored from the store and answers again.
//!
//! The point: the layer builds and runs on the MCU (liboscore is C, cross-compiled), survives a
//! restart, and report.sh can measure what it costs in flash and instructions.

use alloc::format;
use alloc::string::{String, ToString};

use embedded_storage::nor_flash::ReadNorFlash as _;
use trevm::{EngineProfile, Runtime, RuntimeOptions, TrustPolicy, TrustedKey};
use trevm_coap::client::{Client, Limits, Reply, Request, Step, Timing};
use trevm_coap::message::code;
use trevm_coap::{Server, ServerLimits};
use trevm_slots::{Device, Sandbox, SandboxLimits};
use trevm_store::FlashStore;

use crate::console::board;
use crate::measure::HEAP;
use crate::retained::{self, RetainedFlash};
#[cfg(feature = "coap-oscore")]
use crate::time_driver::cycles;

/// The security layer in front of the sandbox: EDHOC + OSCORE with `coap-oscore`, none without.
#[cfg(feature = "coap-oscore")]
type Layer = trevm_coap::Security<u8>;
#[cfg(not(feature = "coap-oscore"))]
type Layer = trevm_coap::server::Plain;

/// A client the device has never seen.
const STRANGER: u8 = 1;

/// The sandbox payload, signed by the development key: what a developer would upload.
static HELLO: trevm::EmbeddedCapsule =
    trevm::include_capsule!(concat!(env!("OUT_DIR"), "/sandbox.signed.cwasm"));
const HELLO_ANSWER: &str = "Hello from the sandbox!";

/// The device: the sandbox on `store`, trusting the development key, and (with `coap-oscore`)
/// the security layer.
fn device(
    profile: EngineProfile,
    options: RuntimeOptions,
    store: FlashStore<RetainedFlash>,
) -> Result<Exchanges, String> {
    let runtime =
        Runtime::new(profile, options.with_grants(Sandbox::GRANTS)).map_err(|e| e.to_string())?;
    let key = TrustedKey::ed25519(crate::signed::TRUSTED_KEY)
        .map_err(|e| e.to_string())?
        .with_label("the development key");
    let mut sandbox = Sandbox::new(
        runtime,
        SandboxLimits::default(),
        TrustPolicy::new().trust(key),
    );
    let store = trevm_slots::storage::shared(store);
    for line in sandbox.restore(store.clone())? {
        board(&format!("coap: {line}"));
    }
    let server = Server::new(
        Device {
            sandbox,
            persistent: None,
            ephemeral: None,
            memory: None,
            logs: None,
        },
        ServerLimits::default(),
    );
    #[cfg(feature = "coap-oscore")]
    let server = secured(server, &store)?;
    // Bodies bounded by what the demo reads back (a capsule's answer, `/.well-known/core`).
    let client = Client::new(0, Timing::default(), Limits { max_body: 4096 });
    Ok(Exchanges { server, client })
}

/// First boot: everything, on a freshly formatted store.
pub async fn run(profile: EngineProfile, options: RuntimeOptions) -> Result<(), String> {
    let flash = retained::take().ok_or("the store's flash is taken")?;
    let size = flash.capacity() as u32;
    let store = FlashStore::format(flash, 0..size).map_err(|e| e.to_string())?;
    let mut exchanges = device(profile, options, store)?;

    let links = exchanges
        .send(code::GET, &[".well-known", "core"], &[])
        .await?;
    expect(&links, code::CONTENT, "GET /.well-known/core")?;
    board(&format!(
        "coap: GET /.well-known/core → 2.05 {}",
        String::from_utf8_lossy(&links.payload)
    ));
    let (base, start) = (HEAP.used(), crate::time_driver::cycles());
    HEAP.reset_peak();
    let created = exchanges
        .upload(&["sandbox", "hello"], HELLO.bytes())
        .await?;
    crate::figures::measure_cycles("cycles.coap.upload", crate::time_driver::cycles() - start);
    // Above what was in use before: Block1 reassembly, admission, the probe instance.
    crate::figures::measure_bytes("heap.coap.upload_peak", HEAP.peak() - base);
    expect(&created, code::CREATED, "PUT /sandbox/hello")?;
    board(&format!(
        "coap: PUT /sandbox/hello ({} B, signed) → 2.01, kept in the flash store",
        HELLO.bytes().len()
    ));
    let hello = exchanges
        .send(code::GET, &["sandbox", "hello"], &[])
        .await?;
    expect(&hello, code::CONTENT, "GET /sandbox/hello")?;
    board(&format!(
        "coap: GET /sandbox/hello → 2.05 {}",
        String::from_utf8_lossy(&hello.payload)
    ));
    #[cfg(feature = "coap-oscore")]
    {
        // The policy lets strangers list, upload and run, not delete.
        let delete = exchanges
            .send(code::DELETE, &["sandbox", "hello"], &[])
            .await?;
        expect(
            &delete,
            code::UNAUTHORIZED,
            "a stranger's DELETE /sandbox/hello",
        )?;
        board("coap: a stranger's DELETE /sandbox/hello → 4.01 Unauthorized");
        edhoc(&mut exchanges).await?;
    }
    #[cfg(not(feature = "coap-oscore"))]
    {
        // No security: anyone reaches the sandbox, which refuses what is not a capsule.
        let upload = exchanges
            .send(code::PUT, &["sandbox", "x"], b"not a capsule")
            .await?;
        expect(&upload, code::BAD_REQUEST, "PUT /sandbox/x of garbage")?;
        board("coap: PUT /sandbox/x of garbage → 4.00 (no security layer: anyone may upload)");
    }
    Ok(())
}

/// Resets the board, telling the next boot to check the store.
pub fn restart() -> ! {
    retained::set_boot_word(retained::RESTARTED);
    board("coap: resetting the board (SYSRESETREQ); the flash store keeps the capsule");
    cortex_m::peripheral::SCB::sys_reset()
}

/// Whether this boot follows [`restart`].
pub fn is_restart() -> bool {
    retained::boot_word() == retained::RESTARTED
}

/// Second boot: the uploaded capsule is restored from the store and answers.
pub async fn after_restart(profile: EngineProfile, options: RuntimeOptions) -> Result<(), String> {
    retained::set_boot_word(0);
    board("coap: after the reset: opening the flash store");
    let flash = retained::take().ok_or("the store's flash is taken")?;
    let size = flash.capacity() as u32;
    let store = FlashStore::open(flash, 0..size).map_err(|e| e.to_string())?;
    let base = HEAP.used();
    HEAP.reset_peak();
    let mut exchanges = device(profile, options, store)?;
    // The device made, its capsule restored from the store (read, verified, loaded).
    crate::figures::measure_bytes("heap.coap.restore_peak", HEAP.peak() - base);
    let hello = exchanges
        .send(code::GET, &["sandbox", "hello"], &[])
        .await?;
    expect(&hello, code::CONTENT, "GET /sandbox/hello after the reset")?;
    let text = String::from_utf8_lossy(&hello.payload);
    if text != HELLO_ANSWER {
        return Err(format!("the restored capsule answered `{text}`"));
    }
    board(&format!(
        "coap: after the reset: GET /sandbox/hello → 2.05 {text}"
    ));
    Ok(())
}

/// The device and trevm-coap's client, datagrams handed from one to the other in memory.
struct Exchanges {
    server: Server<u8, Device, Layer>,
    client: Client,
}

impl Exchanges {
    /// `PUT` of `body` (Block1, in the client's 1024-byte blocks); the last answer.
    async fn upload(&mut self, path: &[&str], body: &[u8]) -> Result<Reply, String> {
        let put = Request::new(code::PUT, path).with_payload(body.to_vec());
        self.request_from(STRANGER, put).await
    }

    /// One request from [`STRANGER`].
    async fn send(&mut self, code: u8, path: &[&str], payload: &[u8]) -> Result<Reply, String> {
        let request = Request::new(code, path).with_payload(payload.to_vec());
        self.request_from(STRANGER, request).await
    }

    /// One request from `peer` (not [`STRANGER`]).
    #[cfg(feature = "coap-oscore")]
    async fn send_from(
        &mut self,
        peer: u8,
        code: u8,
        path: &[&str],
        payload: &[u8],
    ) -> Result<Reply, String> {
        let request = Request::new(code, path).with_payload(payload.to_vec());
        self.request_from(peer, request).await
    }

    /// `request` from `peer`, through the client: each datagram it sends is handled by the
    /// server now, and the server's answer handed back.
    async fn request_from(&mut self, peer: u8, request: Request) -> Result<Reply, String> {
        let now = || embassy_time::Instant::now().as_millis();
        self.client
            .start(request, now())
            .map_err(|e| e.to_string())?;
        loop {
            match self.client.poll(now()) {
                Step::Send(datagram) => {
                    let answer = self.server.handle(&peer, datagram, now()).await;
                    let answer = answer.ok_or("the device did not answer")?;
                    self.client.receive(&answer, now());
                }
                Step::Progress { .. } => {}
                // In memory, an answer comes at once or never.
                Step::Wait { .. } | Step::Idle => return Err("the device did not answer".into()),
                Step::Done(reply) => return reply.map_err(|e| e.to_string()),
            }
        }
    }
}

fn expect(reply: &Reply, wanted: u8, what: &str) -> Result<(), String> {
    if reply.code == wanted {
        return Ok(());
    }
    Err(format!(
        "{what}: answered {} ({}), expected {}",
        code::dotted(reply.code),
        String::from_utf8_lossy(&reply.payload),
        code::dotted(wanted)
    ))
}

/// The security layer with a fresh identity and a policy letting strangers list, upload and run
/// sandbox capsules, and nothing else (no known clients here: the in-memory client cannot do
/// EDHOC as an initiator).
#[cfg(feature = "coap-oscore")]
fn secured(
    server: Server<u8, Device>,
    store: &trevm_slots::storage::SharedStore,
) -> Result<Server<u8, Device, Layer>, String> {
    use trevm_coap::secure::{Rule, Scope, methods};
    use trevm_coap::{Identity, Policy, Security};
    let policy = Policy {
        unauthenticated: Some(Scope::Rules(alloc::vec![
            Rule {
                path: "/.well-known/core".into(),
                methods: methods::GET,
            },
            Rule {
                path: "/sandbox/*".into(),
                methods: methods::GET | methods::PUT,
            },
        ])),
        peers: alloc::vec::Vec::new(),
    };
    // QEMU's MPS2 has no hardware RNG: the capsules' xorshift, from a fixed seed, is **predictable
    // and only for this demo**. A real device hands its hardware RNG to the security layer (on
    // Ariel OS, its `random` module's crypto RNG).
    let mut rng = crate::xorshift::XorShift(0x0c0a_9e55_5eed_0001);
    let identity = crate::identity::stored(store, || {
        let start = cycles();
        let identity = Identity::generate(&mut rng);
        crate::figures::measure_cycles("cycles.coap.identity", cycles() - start);
        identity
    })?;
    board(&format!("CoAP server identity: {}", identity.diag()));
    let security =
        Security::new(identity, &policy, alloc::boxed::Box::new(rng)).map_err(|e| e.to_string())?;
    Ok(server.with_security(security))
}

/// The x-coordinate of P-256's generator: a valid point for message 1's G_X.
#[cfg(feature = "coap-oscore")]
const G_X: [u8; 32] = [
    0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40, 0xf2,
    0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96,
];

/// EDHOC message 1 (method 3, cipher suite 2) as a client sends it; the device answers with
/// message 2, which costs it an ephemeral key pair and two P-256 Diffie-Hellman computations
/// (measured). A garbled message 1 gets an EDHOC error, and the device goes on.
#[cfg(feature = "coap-oscore")]
async fn edhoc(exchanges: &mut Exchanges) -> Result<(), String> {
    // `true` (no C_R yet, RFC 9528 A.2), then message 1: METHOD 3, SUITES_I 2, G_X (the P-256
    // generator's x: any valid point will do), C_I -24.
    let mut message_1: alloc::vec::Vec<u8> = alloc::vec![0xf5, 0x03, 0x02, 0x58, 0x20];
    message_1.extend_from_slice(&G_X);
    message_1.push(0x37);
    let start = cycles();
    let reply = exchanges
        .send(code::POST, &[".well-known", "edhoc"], &message_1)
        .await?;
    crate::figures::measure_cycles("cycles.coap.edhoc_message_2", cycles() - start);
    expect(&reply, code::CHANGED, "EDHOC message 1")?;
    board(&format!(
        "coap: EDHOC message 1 → 2.04 with message 2 ({} B)",
        reply.payload.len()
    ));
    let mut garbled = message_1;
    garbled[1] = 0x07; // no such method
    let reply = exchanges
        .send(code::POST, &[".well-known", "edhoc"], &garbled)
        .await?;
    if reply.code < 0x80 {
        return Err(format!(
            "a garbled EDHOC message 1 was answered {}",
            code::dotted(reply.code)
        ));
    }
    board(&format!(
        "coap: a garbled EDHOC message 1 → {} (an EDHOC error; the device goes on)",
        code::dotted(reply.code)
    ));
    // Issue 22: a G_X that is not on P-256 panicked lakers' crypto provider (a reset, on an MCU).
    let mut off_curve = garbled;
    off_curve[1] = 0x03;
    off_curve[5..37].fill(0x01);
    // From another peer: the stranger has started as many handshakes as a peer may at once.
    let reply = exchanges
        .send_from(0xf2, code::POST, &[".well-known", "edhoc"], &off_curve)
        .await?;
    expect(
        &reply,
        code::BAD_REQUEST,
        "EDHOC message 1 with G_X off the curve",
    )?;
    board(&format!(
        "coap: EDHOC message 1 whose G_X is not on P-256 → 4.00 {} (the device goes on)",
        String::from_utf8_lossy(&reply.payload)
    ));
    flood(exchanges, &off_curve[..]).await
}

/// 1,000 EDHOC message 1 from one peer: each would cost the device a key pair and two P-256
/// computations; the handshake limits let the peer start its burst and answer the rest 5.03
/// before any cryptography, while another client keeps being answered.
#[cfg(feature = "coap-oscore")]
async fn flood(exchanges: &mut Exchanges, template: &[u8]) -> Result<(), String> {
    const FLOOD: u8 = 0xf1;
    let mut message_1 = template.to_vec();
    // The generator's x again: a valid point, so an admitted one costs the full handshake.
    message_1[5..37].copy_from_slice(&G_X);
    let (mut started, mut busy) = (0u32, 0u32);
    let start = cycles();
    for i in 0..1_000u32 {
        let reply = exchanges
            .send_from(FLOOD, code::POST, &[".well-known", "edhoc"], &message_1)
            .await?;
        match reply.code {
            code::CHANGED => started += 1,
            code::SERVICE_UNAVAILABLE => busy += 1,
            other => return Err(format!("flood: message 1 answered {}", code::dotted(other))),
        }
        if i % 100 == 99 {
            let listed = exchanges
                .send(code::GET, &[".well-known", "core"], &[])
                .await?;
            expect(
                &listed,
                code::CONTENT,
                "GET /.well-known/core during the flood",
            )?;
        }
    }
    let spent = cycles() - start;
    crate::figures::measure_cycles("cycles.coap.edhoc_flood_1000", spent);
    if started > 4 {
        return Err(format!(
            "flood: {started} handshakes started, at most 4 expected"
        ));
    }
    board(&format!(
        "coap: a flood of 1000 EDHOC message 1 from one peer: {started} started a handshake, \
         {busy} got 5.03; GET /.well-known/core answered 2.05 throughout"
    ));
    Ok(())
}
