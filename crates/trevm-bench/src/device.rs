//! The CoAP device under load, over real loopback sockets: how fast it answers a static resource
//! next to libcoap's `coap-server-notls` (same machine, same client, same run), how long other
//! clients wait while capsules spin, and how many capsule runs it serves with many in flight.
//!
//! The device is what `trevm serve` runs — `trevm_native::coap::serve` (async-io readiness, runs
//! in flight alongside receiving) around trevm-coap's server with the security layer and an open
//! policy — on a thread of its own, driven by `futures_executor::block_on`. Clients are blocking
//! `std::net` sockets on other threads, one request in flight per socket.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use trevm::{EngineProfile, Runtime, RuntimeOptions, TrustPolicy};
use trevm_coap::client::{Limits, Reply, Request, Timing, Transport};
use trevm_coap::message::code;
use trevm_coap::{Identity, Policy, Security, Server, ServerLimits};
use trevm_slots::{Device, Sandbox, SandboxLimits};

use crate::report::{Table, time};

/// How much to measure.
#[derive(Debug, Clone, Copy)]
pub struct DevicePlan {
    /// Requests of the static-resource rows (per server).
    pub static_requests: usize,
    /// Capsule GETs of the third client while two others spin capsules.
    pub spin_requests: usize,
    /// Capsule runs per client in the many-in-flight row.
    pub runs_per_client: usize,
}

/// Clients in the many-in-flight row (one request in flight each).
const IN_FLIGHT: usize = 8;

/// Starts the device on a free loopback port; returns its address. It runs until the process
/// ends.
fn start_device(
    profile: EngineProfile,
    trust: TrustPolicy,
    capsules: Vec<(&'static str, Vec<u8>)>,
) -> anyhow::Result<SocketAddr> {
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    let addr = socket.local_addr()?;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let built = (|| -> anyhow::Result<Server<SocketAddr, Device, Security<SocketAddr>>> {
            let runtime =
                Runtime::new(profile, RuntimeOptions::host().with_grants(Sandbox::GRANTS))
                    .map_err(|e| anyhow!("{e}"))?;
            let device = Device {
                sandbox: Sandbox::new(runtime, SandboxLimits::default(), trust),
                persistent: None,
                ephemeral: None,
                memory: None,
                logs: None,
            };
            let mut rng = rand_core::TryRngCore::unwrap_err(rand_core::OsRng);
            let security = Security::new(
                Identity::generate(&mut rng),
                &Policy::open(),
                Box::new(rand_core::TryRngCore::unwrap_err(rand_core::OsRng)),
            )
            .map_err(|e| anyhow!("{e}"))?;
            Ok(Server::new(device, ServerLimits::default()).with_security(security))
        })();
        let mut server = match built {
            Ok(s) => s,
            Err(e) => {
                let _ = ready_tx.send(Err(e));
                return;
            }
        };
        let _ = ready_tx.send(Ok(()));
        let error = futures_executor::block_on(trevm_native::coap::serve(socket, &mut server));
        eprintln!("trevm-bench: the device's socket failed: {error}");
    });
    ready_rx.recv().context("the device thread ended")??;
    // Uploads, as a client would make them.
    let mut client = Client::new(addr)?;
    for (name, bytes) in capsules {
        client.upload(&["sandbox", name], bytes)?;
    }
    Ok(addr)
}

/// A blocking client, one request in flight: trevm-coap's client over a UDP socket, one try
/// with a timeout (no retransmission: a lost datagram on loopback is a failure worth seeing).
struct Client {
    client: trevm_coap::client::Client,
    udp: Udp,
}

/// The socket and the clock of [`Client`].
struct Udp {
    socket: UdpSocket,
    epoch: Instant,
}

impl Transport for Udp {
    type Error = std::io::Error;

    fn send(&mut self, datagram: &[u8]) -> std::io::Result<()> {
        self.socket.send(datagram).map(drop)
    }

    fn receive(&mut self, buf: &mut [u8], _until_ms: u64) -> std::io::Result<Option<usize>> {
        // The socket's read timeout is the client's one try ([`Client::waiting`]).
        match self.socket.recv(buf) {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Ok(None),
            received => received.map(Some),
        }
    }

    fn now_ms(&mut self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }
}

impl Client {
    /// Waiting up to 10 s for each answer.
    fn new(to: SocketAddr) -> anyhow::Result<Client> {
        Client::waiting(to, 10_000)
    }

    /// Waiting up to `timeout_ms` for each answer (the socket's read timeout), once.
    fn waiting(to: SocketAddr, timeout_ms: u64) -> anyhow::Result<Client> {
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        socket.connect(to)?;
        socket.set_read_timeout(Some(Duration::from_millis(timeout_ms)))?;
        let timing = Timing {
            ack_timeout_ms: timeout_ms,
            max_retransmit: 0,
        };
        Ok(Client {
            client: trevm_coap::client::Client::new(0, timing, Limits::default()),
            udp: Udp {
                socket,
                epoch: Instant::now(),
            },
        })
    }

    fn request(&mut self, request: Request) -> anyhow::Result<Reply> {
        let now = self.udp.now_ms();
        self.client.start(request, now)?;
        self.client
            .run(&mut self.udp, |_, _| {})
            .map_err(|e| anyhow!("{e}"))
    }

    /// One GET; its code.
    fn get(&mut self, path: &[&str]) -> anyhow::Result<u8> {
        Ok(self.request(Request::new(code::GET, path))?.code)
    }

    fn upload(&mut self, path: &[&str], body: Vec<u8>) -> anyhow::Result<()> {
        let reply = self.request(Request::new(code::PUT, path).with_payload(body))?;
        if !matches!(reply.code, code::CREATED | code::CHANGED) {
            bail!("uploading {}: {}", path.join("/"), reply.describe());
        }
        Ok(())
    }
}

/// Latencies of `n` GETs of `path`, one in flight; fails on any answer but `expected`.
fn latencies(to: SocketAddr, path: &[&str], n: usize, expected: u8) -> anyhow::Result<Vec<f64>> {
    let mut c = Client::new(to)?;
    // Warm-up.
    for _ in 0..n.min(100) {
        c.get(path)?;
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        let got = c.get(path)?;
        out.push(start.elapsed().as_nanos() as f64);
        if got != expected {
            bail!("GET /{}: {}", path.join("/"), code::dotted(got));
        }
    }
    Ok(out)
}

/// The `p`-th percentile (0–100) of `v`.
fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let i = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
    v[i.min(v.len() - 1)]
}

fn rate(total: Duration, n: usize) -> String {
    format!("{:.0}/s", n as f64 / total.as_secs_f64())
}

/// libcoap's server on a free port, if installed.
struct Libcoap(Child, SocketAddr);

impl Drop for Libcoap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn libcoap() -> Option<Libcoap> {
    let port = UdpSocket::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = Command::new("coap-server-notls")
        .args(["-A", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let server = Libcoap(child, SocketAddr::from(([127, 0, 0, 1], port)));
    // Ready when it answers.
    let mut c = Client::waiting(server.1, 200).ok()?;
    // (Until it listens, each try fails at once with a port unreachable.)
    (0..50)
        .any(|_| {
            c.get(&[".well-known", "core"]).is_ok() || {
                std::thread::sleep(Duration::from_millis(100));
                false
            }
        })
        .then_some(server)
}

/// Measures and returns the section, markdown.
pub fn measure(
    plan: DevicePlan,
    profile: EngineProfile,
    trust: TrustPolicy,
    hello: Vec<u8>,
    spin: Vec<u8>,
) -> anyhow::Result<String> {
    let device = start_device(profile, trust, vec![("hello", hello), ("spin", spin)])?;
    let wkc = [".well-known", "core"];

    // 1. A static resource, one request in flight: the device against libcoap.
    crate::util::progress(&format!(
        "device: {} GETs of /.well-known/core, trevm and libcoap",
        plan.static_requests
    ));
    let mut table = Table::new(&["server", "requests/s", "p50", "p99", "requests"]);
    let mut row = |name: &str, to: SocketAddr| -> anyhow::Result<f64> {
        let start = Instant::now();
        let mut l = latencies(to, &wkc, plan.static_requests, code::CONTENT)?;
        let per_s = plan.static_requests as f64 / start.elapsed().as_secs_f64();
        table.row(vec![
            name.into(),
            format!("{per_s:.0}/s"),
            time(percentile(&mut l, 50.0)),
            time(percentile(&mut l, 99.0)),
            plan.static_requests.to_string(),
        ]);
        Ok(per_s)
    };
    let ours = row(
        "trevm device (`trevm serve`'s loop, security layer, open policy)",
        device,
    )?;
    let theirs = match libcoap() {
        Some(server) => Some(row("libcoap `coap-server-notls` 4.3", server.1)?),
        None => None,
    };
    let static_table = table.render();
    let versus = theirs.map_or(
        "libcoap's server is not installed: no comparison".into(),
        |t| format!("trevm / libcoap: {:.2}× the request rate", ours / t),
    );

    // 2. A third client's capsule GETs while two others keep capsules spinning.
    crate::util::progress(&format!(
        "device: {} capsule GETs while two clients spin capsules",
        plan.spin_requests
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let spinners: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || -> anyhow::Result<usize> {
                let mut c = Client::new(device)?;
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let got = c.get(&["sandbox", "spin"])?;
                    if got != code::SERVICE_UNAVAILABLE {
                        bail!("the spinning capsule answered {}", code::dotted(got));
                    }
                    n += 1;
                }
                Ok(n)
            })
        })
        .collect();
    // Let both spins start.
    std::thread::sleep(Duration::from_millis(200));
    let start = Instant::now();
    let mut l = latencies(
        device,
        &["sandbox", "hello"],
        plan.spin_requests,
        code::CONTENT,
    );
    let spin_elapsed = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut spins = 0;
    for s in spinners {
        spins += s
            .join()
            .map_err(|_| anyhow!("a spinning client panicked"))??;
    }
    let l = l.as_mut().map_err(|e| anyhow!("{e}"))?;
    let mut table = Table::new(&[
        "third client's `GET /sandbox/hello`",
        "p50",
        "p99",
        "max",
        "requests",
    ]);
    table.row(vec![
        format!("while 2 clients keep a capsule spinning ({spins} spins of 2 s ended meanwhile)"),
        time(percentile(l, 50.0)),
        time(percentile(l, 99.0)),
        time(percentile(l, 100.0)),
        format!("{} in {}", l.len(), time(spin_elapsed.as_nanos() as f64)),
    ]);
    let spin_table = table.render();

    // 3. Capsule runs with 8 clients, one request in flight each.
    crate::util::progress(&format!(
        "device: {IN_FLIGHT} clients × {} capsule GETs",
        plan.runs_per_client
    ));
    let start = Instant::now();
    let clients: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            std::thread::spawn(move || {
                latencies(
                    device,
                    &["sandbox", "hello"],
                    plan.runs_per_client,
                    code::CONTENT,
                )
            })
        })
        .collect();
    let mut all = Vec::new();
    for c in clients {
        all.extend(c.join().map_err(|_| anyhow!("a client panicked"))??);
    }
    let elapsed = start.elapsed();
    let mut table = Table::new(&[
        "capsule runs (`GET /sandbox/hello`)",
        "runs/s",
        "p50",
        "p99",
        "runs",
    ]);
    let n = all.len();
    table.row(vec![
        format!("{IN_FLIGHT} clients, one in flight each"),
        rate(elapsed, n + IN_FLIGHT * plan.runs_per_client.min(100)),
        time(percentile(&mut all, 50.0)),
        time(percentile(&mut all, 99.0)),
        n.to_string(),
    ]);
    Ok(format!(
        "### The CoAP device under load (loopback UDP)\n\n{static_table}\n{versus}.\n\n{spin_table}\n{}",
        table.render()
    ))
}
