//! The CoAP device on the Cortex-M4 (feature `coap`; with `coap-oscore`, behind EDHOC + OSCORE and
//! the default access policy): trevm-coap's server with the capsule sandbox, as `trevm serve`
//! runs it on the native board. QEMU's mps2-an386 network interface is not wired up here, so the
//! datagrams a client would send are handed to the server in memory; what it answers is printed.
//! The point is that the layer builds and runs on the MCU (liboscore is C, cross-compiled) and
//! that report.sh can measure what it costs in flash and instructions.

use alloc::format;
use alloc::string::{String, ToString};

use trevm::{EngineProfile, Runtime, RuntimeOptions, TrustPolicy};
use trevm_coap::message::{code, opt};
use trevm_coap::{Device, Message, MsgType, Sandbox, SandboxLimits, Server, ServerLimits};

use crate::board;
#[cfg(feature = "coap-oscore")]
use crate::time_driver::cycles;

/// A client the device has never seen.
const STRANGER: u8 = 1;

/// Runs the exchanges; an error when an answer is not the expected one.
pub async fn run(profile: EngineProfile, options: RuntimeOptions) -> Result<(), String> {
    let runtime =
        Runtime::new(profile, options.with_grants(Sandbox::GRANTS)).map_err(|e| e.to_string())?;
    let device = Device {
        // Trusts no key: nothing uploaded here would be admitted (none is, in this demo).
        sandbox: Sandbox::new(runtime, SandboxLimits::default(), TrustPolicy::new()),
        persistent: None,
    };
    let server = Server::new(device, ServerLimits::default());
    #[cfg(feature = "coap-oscore")]
    let server = secured(server)?;
    let mut exchanges = Exchanges { server, mid: 0 };

    let links = exchanges
        .send(code::GET, &[".well-known", "core"], &[])
        .await?;
    expect(&links, code::CONTENT, "GET /.well-known/core")?;
    board(&format!(
        "coap: GET /.well-known/core → 2.05 {}",
        String::from_utf8_lossy(&links.payload)
    ));
    let upload = exchanges
        .send(code::PUT, &["sandbox", "x"], b"not a capsule")
        .await?;
    #[cfg(feature = "coap-oscore")]
    {
        // The default policy: a stranger may not upload; nothing reaches the sandbox.
        expect(&upload, code::UNAUTHORIZED, "a stranger's PUT /sandbox/x")?;
        board("coap: a stranger's PUT /sandbox/x → 4.01 Unauthorized");
        edhoc(&mut exchanges).await?;
    }
    #[cfg(not(feature = "coap-oscore"))]
    {
        // No security: anyone reaches the sandbox, which refuses what is not a capsule.
        expect(&upload, code::BAD_REQUEST, "PUT /sandbox/x of garbage")?;
        board("coap: PUT /sandbox/x of garbage → 4.00 (no security layer: anyone may upload)");
    }
    Ok(())
}

struct Exchanges {
    server: Server<u8, Device>,
    mid: u16,
}

impl Exchanges {
    /// One confirmable request from [`STRANGER`]; the reply parsed.
    async fn send(&mut self, code: u8, path: &[&str], payload: &[u8]) -> Result<Message, String> {
        self.mid = self.mid.wrapping_add(1);
        let request = Message {
            ty: MsgType::Con,
            code,
            mid: self.mid,
            token: self.mid.to_be_bytes().to_vec(),
            options: path
                .iter()
                .map(|p| (opt::URI_PATH, p.as_bytes().to_vec()))
                .collect(),
            payload: payload.to_vec(),
        };
        let now = embassy_time::Instant::now().as_millis();
        let reply = self
            .server
            .handle(&STRANGER, &request.encode(), now)
            .await
            .ok_or("the device did not answer")?;
        Message::parse(&reply).map_err(|e| format!("the device's reply does not parse: {e:?}"))
    }
}

fn expect(reply: &Message, wanted: u8, what: &str) -> Result<(), String> {
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

/// The security layer with a fresh identity and the default policy (only `GET /.well-known/core`
/// without credentials).
#[cfg(feature = "coap-oscore")]
fn secured(server: Server<u8, Device>) -> Result<Server<u8, Device>, String> {
    use trevm_coap::{Identity, Policy, Security};
    // QEMU's MPS2 has no hardware RNG: the capsules' xorshift, from a fixed seed, is **predictable
    // and only for this demo**. A real device hands its hardware RNG to the security layer (on
    // Ariel OS, its `random` module's crypto RNG).
    let mut rng = crate::capsules::XorShift(0x0c0a_9e55_5eed_0001);
    let start = cycles();
    let identity = Identity::generate(&mut rng);
    crate::capsules::measure_cycles("cycles.coap.identity", cycles() - start);
    // A device made on first start and kept (the native board keeps it in a file; here it is
    // made at every boot: the firmware has no storage yet).
    board(&format!("CoAP server identity: {}", identity.diag()));
    let security = Security::new(identity, &Policy::default(), alloc::boxed::Box::new(rng))
        .map_err(|e| e.to_string())?;
    Ok(server.with_security(security))
}

/// EDHOC message 1 (method 3, cipher suite 2) as a client sends it; the device answers with
/// message 2, which costs it an ephemeral key pair and two P-256 Diffie-Hellman computations
/// (measured). A garbled message 1 gets an EDHOC error, and the device goes on.
#[cfg(feature = "coap-oscore")]
async fn edhoc(exchanges: &mut Exchanges) -> Result<(), String> {
    // `true` (no C_R yet, RFC 9528 A.2), then message 1: METHOD 3, SUITES_I 2, G_X (the P-256
    // generator's x: any valid point will do), C_I -24.
    const G_X: [u8; 32] = [
        0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40,
        0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98,
        0xc2, 0x96,
    ];
    let mut message_1: alloc::vec::Vec<u8> = alloc::vec![0xf5, 0x03, 0x02, 0x58, 0x20];
    message_1.extend_from_slice(&G_X);
    message_1.push(0x37);
    let start = cycles();
    let reply = exchanges
        .send(code::POST, &[".well-known", "edhoc"], &message_1)
        .await?;
    crate::capsules::measure_cycles("cycles.coap.edhoc_message_2", cycles() - start);
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
    Ok(())
}
