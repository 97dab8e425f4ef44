//! What CoAP security costs: the EDHOC handshake with the first OSCORE-protected request, and the
//! request rate with OSCORE against plain CoAP, on the same device and the same client.
//!
//! The device is trevm-coap's [`Server`] with the sandbox [`Device`] and the security layer
//! (`coapcore`: `lakers` for EDHOC, `liboscore` for OSCORE), as `trevm serve` builds it; the
//! client is the `trevm` command's own (`trevm_cli::oscore_client`: `lakers` as initiator,
//! `liboscore`). Both run in this process and datagrams go from one to the other by a function
//! call, so the figures are CPU time of the two ends without sockets or scheduling: what the
//! security layer itself costs. The device's share (the time spent inside `Server::handle`) is
//! shown separately, since that is what a microcontroller pays.

use std::time::Instant;

use anyhow::{Context as _, anyhow};
use futures_executor::block_on;
use trevm::{EngineProfile, Runtime, RuntimeOptions, TrustPolicy};
use trevm_cli::credentials::{EdhocCredentials, PeerCred};
use trevm_cli::oscore_client::{self, Session};
use trevm_coap::message::{code, opt};
use trevm_coap::secure::{Peer, Scope};
use trevm_coap::{BlockOpt, Identity, Message, MsgType, Policy, Security, Server, ServerLimits};
use trevm_slots::{Device, Sandbox, SandboxLimits};

use crate::report::{Samples, Table, time};

/// The peer address of the plain client and of the OSCORE client (distinct, as two hosts would be).
const PLAIN: &str = "plain client";
const SECURE: &str = "oscore client";

/// How many of each measurement.
#[derive(Debug, Clone, Copy)]
pub struct CoapPlan {
    /// Full handshakes (EDHOC + the first protected request), each with a fresh key exchange.
    pub handshakes: usize,
    /// Requests per batch in the rate rows.
    pub requests: usize,
    /// Batches per rate row (the median batch is shown).
    pub batches: usize,
}

/// The device under test and the time spent inside it.
struct Bench {
    device: Server<&'static str, Device, Security<&'static str>>,
    mid: u16,
    /// Nanoseconds spent in `Server::handle` since the last reset.
    device_ns: f64,
}

impl Bench {
    /// One confirmable exchange with the device, as `peer`; the reply parsed.
    fn exchange(&mut self, peer: &'static str, request: &Message) -> anyhow::Result<Message> {
        self.mid = self.mid.wrapping_add(1);
        let mut m = request.clone();
        m.ty = MsgType::Con;
        m.mid = self.mid;
        m.token = self.mid.to_be_bytes().to_vec();
        let datagram = m.encode();
        let start = Instant::now();
        let reply = block_on(self.device.handle(&peer, &datagram, 0));
        self.device_ns += start.elapsed().as_nanos() as f64;
        let reply = reply.ok_or_else(|| anyhow!("the device did not answer"))?;
        Message::parse(&reply).map_err(|e| anyhow!("the device's reply does not parse: {e:?}"))
    }

    /// A plain request.
    fn plain(&mut self, request: &Message) -> anyhow::Result<Message> {
        self.exchange(PLAIN, request)
    }

    /// A request protected with `session`'s OSCORE context; the inner (decrypted) answer.
    fn protected(&mut self, session: &mut Session, request: &Message) -> anyhow::Result<Message> {
        let (outer, mut correlation) = session.protect(request)?;
        let reply = self.exchange(SECURE, &outer)?;
        session.unprotect(reply, &mut correlation)
    }

    /// EDHOC with the device, as the `trevm` command does it.
    fn handshake(&mut self, creds: &EdhocCredentials) -> anyhow::Result<Session> {
        oscore_client::handshake(creds, "device", |m| self.exchange(SECURE, &m))
    }
}

/// A GET (its message ID and token are set when it is sent).
fn get(path: &[&str]) -> Message {
    Message::request(code::GET, 0, path)
}

/// A device RNG from the OS, as the native board has it.
fn os_rng() -> trevm_coap::secure::DeviceRng {
    Box::new(rand_core::TryRngCore::unwrap_err(rand_core::OsRng))
}

/// Measures and returns the section, markdown.
pub fn measure(
    plan: CoapPlan,
    profile: EngineProfile,
    trust: TrustPolicy,
    hello: &[u8],
) -> anyhow::Result<String> {
    // The client's key: a P-256 pair with its CCS, sent by value.
    let client = Identity::generate(&mut rand_core::TryRngCore::unwrap_err(rand_core::OsRng));
    let stored = client.to_bytes();
    let mut private_key = [0u8; 32];
    private_key.copy_from_slice(&stored[33..65]);
    let creds = EdhocCredentials {
        pattern: "coap://device/*".into(),
        own_cred: client.ccs(),
        own_by_value: true,
        private_key,
        peer: PeerCred::Unauthenticated,
    };
    // The same device answers both clients: anyone may do anything unauthenticated (so the plain
    // client is served like the protected one), and the OSCORE client is a known peer.
    let policy = Policy {
        unauthenticated: Some(Scope::AllowAll),
        peers: vec![Peer {
            ccs: client.ccs(),
            scope: Scope::AllowAll,
        }],
    };
    let runtime = Runtime::new(profile, RuntimeOptions::host().with_grants(Sandbox::GRANTS))
        .map_err(|e| anyhow!("{e}"))?;
    let device = Device {
        sandbox: Sandbox::new(runtime, SandboxLimits::default(), trust),
        persistent: None,
        ephemeral: None,
    };
    let security = Security::new(
        Identity::generate(&mut rand_core::TryRngCore::unwrap_err(rand_core::OsRng)),
        &policy,
        os_rng(),
    )
    .map_err(|e| anyhow!("{e}"))?;
    let mut bench = Bench {
        device: Server::new(device, ServerLimits::default()).with_security(security),
        mid: 0,
        device_ns: 0.0,
    };
    upload(&mut bench, "hello", hello).context("uploading the sandbox capsule")?;

    // EDHOC + the first protected request (EDHOC message 3 rides on it, RFC 9668).
    crate::progress(&format!(
        "CoAP: {} EDHOC handshakes with a first protected request",
        plan.handshakes
    ));
    let wkc = get(&[".well-known", "core"]);
    let (mut total, mut on_device) = (Samples::default(), Samples::default());
    let mut session = None;
    for _ in 0..plan.handshakes {
        bench.device_ns = 0.0;
        let start = Instant::now();
        let mut s = bench.handshake(&creds)?;
        let answer = bench.protected(&mut s, &wkc)?;
        total.push(start.elapsed().as_nanos() as f64);
        on_device.push(bench.device_ns);
        expect(&answer, code::CONTENT, "GET /.well-known/core")?;
        session = Some(s);
    }
    let mut session = session.ok_or_else(|| anyhow!("no handshake was measured"))?;
    let mut table = Table::new(&[
        "exchange",
        "round trip (both ends)",
        "on the device",
        "runs",
    ]);
    table.row(vec![
        "EDHOC (message 1 → 2, 3 with the request) + first OSCORE request `GET /.well-known/core`"
            .into(),
        time(total.median()),
        time(on_device.median()),
        total.len().to_string(),
    ]);
    let handshake_table = table.render();

    // Rates: the same requests, plain and protected.
    let hello_get = get(&["sandbox", "hello"]);
    let rows: [(&str, &Message, u8); 2] = [
        ("`GET /.well-known/core` (static)", &wkc, code::CONTENT),
        (
            "`GET /sandbox/hello` (instantiate + run a capsule)",
            &hello_get,
            code::CONTENT,
        ),
    ];
    let mut table = Table::new(&[
        "request",
        "plain CoAP",
        "OSCORE",
        "plain, on the device",
        "OSCORE, on the device",
        "OSCORE / plain (device)",
    ]);
    for (label, request, expected) in rows {
        crate::progress(&format!(
            "CoAP: {label}, {} × {} requests, plain and OSCORE",
            plan.batches, plan.requests
        ));
        let mut rates = Vec::new();
        for secure in [false, true] {
            let (mut per_request, mut device_per_request) =
                (Samples::default(), Samples::default());
            for _ in 0..plan.batches {
                bench.device_ns = 0.0;
                let start = Instant::now();
                for _ in 0..plan.requests {
                    let answer = if secure {
                        bench.protected(&mut session, request)?
                    } else {
                        bench.plain(request)?
                    };
                    expect(&answer, expected, label)?;
                }
                let n = plan.requests as f64;
                per_request.push(start.elapsed().as_nanos() as f64 / n);
                device_per_request.push(bench.device_ns / n);
            }
            rates.push((per_request.median(), device_per_request.median()));
        }
        let [(plain, plain_dev), (oscore, oscore_dev)] = [rates[0], rates[1]];
        table.row(vec![
            label.into(),
            rate(plain),
            rate(oscore),
            rate(plain_dev),
            rate(oscore_dev),
            format!("{:.2}× the time", oscore_dev / plain_dev),
        ]);
    }
    Ok(format!(
        "### CoAP security (EDHOC + OSCORE, in one process, no sockets)\n\n{handshake_table}\n\
         Requests per second, one in flight (median of {} batches of {}; \"on the device\" counts \
         only the time inside `Server::handle`, the rest is the client):\n\n{}",
        plan.batches,
        plan.requests,
        table.render()
    ))
}

/// `12,345/s (81.0 µs)`.
fn rate(ns_per_request: f64) -> String {
    if ns_per_request <= 0.0 {
        return "–".into();
    }
    format!("{:.0}/s ({})", 1e9 / ns_per_request, time(ns_per_request))
}

fn expect(answer: &Message, code: u8, what: &str) -> anyhow::Result<()> {
    if answer.code == code {
        Ok(())
    } else {
        Err(anyhow!(
            "{what}: the device answered {} ({})",
            code::dotted(answer.code),
            String::from_utf8_lossy(&answer.payload)
        ))
    }
}

/// `PUT /sandbox/<name>` in 1024-byte blocks, plain.
fn upload(bench: &mut Bench, name: &str, capsule: &[u8]) -> anyhow::Result<()> {
    const SZX: u8 = 6;
    let blocks = capsule.chunks(1024).collect::<Vec<_>>();
    for (num, chunk) in blocks.iter().enumerate() {
        let more = num + 1 < blocks.len();
        let mut put = get(&["sandbox", name]);
        put.code = code::PUT;
        let block = BlockOpt {
            num: u32::try_from(num)?,
            more,
            szx: SZX,
        };
        put.add_uint_option(opt::BLOCK1, block.to_uint());
        put.payload = chunk.to_vec();
        let answer = bench.plain(&put)?;
        let wanted = if more { code::CONTINUE } else { code::CREATED };
        expect(&answer, wanted, "the upload")?;
    }
    Ok(())
}
