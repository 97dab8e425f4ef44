//! What CoAP security costs: the EDHOC handshake with the first OSCORE-protected request, and the
//! request rate with OSCORE against plain CoAP, on the same device and the same client.
//!
//! The device is trevm-coap's [`Server`] with the sandbox [`Device`] and the security layer
//! (`coapcore`: `lakers` for EDHOC, `liboscore` for OSCORE), as `trevm serve` builds it; the
//! client is trevm-coap's own (`trevm_coap::client`: `lakers` as initiator, `liboscore`), as the
//! `trevm` command uses it. Both run in this process and datagrams go from one to the other by a function
//! call, so the figures are CPU time of the two ends without sockets or scheduling: what the
//! security layer itself costs. The device's share (the time spent inside `Server::handle`) is
//! shown separately, since that is what a microcontroller pays.

use std::time::Instant;

use anyhow::{Context as _, anyhow};
use futures_executor::block_on;
use rand_core::RngCore as _;
use trevm::{EngineProfile, Runtime, RuntimeOptions, TrustPolicy};
use trevm_coap::client::{
    Client, Credentials, Limits, PeerCred, Reply, Request, Timing, Transport,
};
use trevm_coap::message::code;
use trevm_coap::secure::HandshakeLimits;
use trevm_coap::secure::{Peer, Scope};
use trevm_coap::{Identity, Policy, Security, Server, ServerLimits};
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

/// The device under test as the clients' transport: each datagram goes straight into
/// `Server::handle` (timed), and its answer waits to be received.
struct Bench {
    device: Server<&'static str, Device, Security<&'static str>>,
    /// Who is sending.
    peer: &'static str,
    answer: Option<Vec<u8>>,
    /// Nanoseconds spent in `Server::handle` since the last reset.
    device_ns: f64,
    /// The clients' clock: it moves only when a client waits for an answer that is not there.
    now_ms: u64,
}

impl Transport for Bench {
    type Error = anyhow::Error;

    fn send(&mut self, datagram: &[u8]) -> anyhow::Result<()> {
        let start = Instant::now();
        let answer = block_on(self.device.handle(&self.peer, datagram, self.now_ms));
        self.device_ns += start.elapsed().as_nanos() as f64;
        self.answer = answer;
        Ok(())
    }

    fn receive(&mut self, buf: &mut [u8], until_ms: u64) -> anyhow::Result<Option<usize>> {
        let Some(answer) = self.answer.take() else {
            self.now_ms = until_ms;
            return Ok(None);
        };
        let to = buf
            .get_mut(..answer.len())
            .ok_or_else(|| anyhow!("the device's answer is longer than a datagram"))?;
        to.copy_from_slice(&answer);
        Ok(Some(answer.len()))
    }

    fn now_ms(&mut self) -> u64 {
        self.now_ms
    }
}

impl Bench {
    /// `request` from `client`, as `peer`; the (decrypted) answer.
    fn request(
        &mut self,
        client: &mut Client,
        peer: &'static str,
        request: &Request,
    ) -> anyhow::Result<Reply> {
        self.peer = peer;
        client.start(request.clone(), self.now_ms)?;
        client.run(self, |_, _| {}).map_err(|e| anyhow!("{e}"))
    }

    /// A new client and its EDHOC handshake with the device.
    fn handshake(&mut self, creds: &Credentials) -> anyhow::Result<Client> {
        // After a burst, the device lets a peer start one handshake every `per_peer_every_ms`:
        // the clients' clock moves on that much before each, so that the series is not refused.
        self.now_ms += HandshakeLimits::default().per_peer_every_ms;
        let mut client = new_client();
        let mut seed = [0u8; 32];
        rand_core::TryRngCore::unwrap_err(rand_core::OsRng).fill_bytes(&mut seed);
        self.peer = SECURE;
        client.connect(creds, seed, self.now_ms)?;
        client
            .run(self, |_, _| {})
            .map_err(|e| anyhow!("EDHOC: {e}"))?;
        Ok(client)
    }
}

/// A client whose message IDs start at random: the device's duplicate detection must not take a
/// new client's first request for an earlier client's.
fn new_client() -> Client {
    let seed = rand_core::TryRngCore::unwrap_err(rand_core::OsRng).next_u32();
    Client::new(seed, Timing::default(), Limits::default())
}

/// A GET.
fn get(path: &[&str]) -> Request {
    Request::new(code::GET, path)
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
    let creds = Credentials {
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
        memory: None,
        logs: None,
    };
    let security = Security::new(
        Identity::generate(&mut rand_core::TryRngCore::unwrap_err(rand_core::OsRng)),
        &policy,
        os_rng(),
    )
    .map_err(|e| anyhow!("{e}"))?;
    let mut bench = Bench {
        device: Server::new(device, ServerLimits::default()).with_security(security),
        peer: PLAIN,
        answer: None,
        device_ns: 0.0,
        now_ms: 0,
    };
    let mut plain = new_client();
    let put = Request::new(code::PUT, &["sandbox", "hello"]).with_payload(hello.to_vec());
    let created = bench
        .request(&mut plain, PLAIN, &put)
        .context("uploading the sandbox capsule")?;
    expect(&created, code::CREATED, "the upload")?;

    // EDHOC + the first protected request (EDHOC message 3 rides on it, RFC 9668).
    crate::util::progress(&format!(
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
        let answer = bench.request(&mut s, SECURE, &wkc)?;
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
    let rows: [(&str, &Request, u8); 2] = [
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
        crate::util::progress(&format!(
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
                        bench.request(&mut session, SECURE, request)?
                    } else {
                        bench.request(&mut plain, PLAIN, request)?
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

fn expect(answer: &Reply, code: u8, what: &str) -> anyhow::Result<()> {
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
