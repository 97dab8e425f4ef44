//! A simulated fleet for tests and demos of `trevm fleet`: a local `aiocoap-rd` and N devices,
//! each its own `trevm serve` process on its own loopback port, with its own state directory (so
//! its own EDHOC identity, made on first start and read from its `CoAP server identity:` line,
//! and its own capsules and anti-rollback ledger), all trusting one operator: a peers.yml giving
//! the operator's EDHOC key `allow-all`, and one operator credentials file (client.diag) with an
//! entry per device pinning that device's identity.
//!
//! N processes rather than one process hosting N devices: a process is what a board is — its
//! own memory, state, identity and crash domain — so a device that hangs or dies cannot take
//! the others with it, and nothing in `trevm serve` had to change (docs/fleet.md). The cost is
//! memory (one runtime per device), fine for the 20–50 devices of the tests and the benchmark.
//!
//! Registration: each device is started with `--rd … --ep … --rd-lifetime …` and registers by
//! itself, as a board would; [`Fleet::register`] registers other endpoints by hand (a test's
//! misbehaving device).

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::Running;
use crate::edhoc::{kccs, keygen};

/// How a fleet is made.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// How many devices.
    pub devices: usize,
    /// Capsule signing keys the devices trust besides the development key (`--trust`).
    pub trust: Vec<PathBuf>,
    /// The devices' registration lifetime in seconds (`--rd-lifetime`).
    pub rd_lifetime_s: u32,
    /// How long starting everything (and every device being registered) may take.
    pub timeout: Duration,
}

impl Default for FleetOptions {
    fn default() -> Self {
        FleetOptions {
            devices: 20,
            trust: Vec::new(),
            rd_lifetime_s: 600,
            timeout: Duration::from_secs(60),
        }
    }
}

/// One simulated device.
#[derive(Debug)]
pub struct SimDevice {
    /// Its endpoint name, `dev01` … (zero-padded, so names sort as numbers do).
    pub ep: String,
    /// `coap://127.0.0.1:PORT`.
    pub base: String,
    /// Its EDHOC identity as it printed it (a CCS in diagnostic notation).
    pub identity: String,
    /// Its process.
    pub process: Running,
}

/// The RD and the devices; dropping it kills them all.
#[derive(Debug)]
pub struct Fleet {
    dir: tempfile::TempDir,
    rd_addr: String,
    rd: Option<Running>,
    /// The devices, in endpoint-name order.
    pub devices: Vec<SimDevice>,
    operator_cred: String,
    pins: Vec<(String, String)>,
}

impl Fleet {
    /// Starts the RD and `options.devices` devices (`trevm` is the `trevm` binary), and waits
    /// until every device is registered.
    pub fn start(trevm: &Path, options: &FleetOptions) -> Result<Fleet, String> {
        let deadline = Instant::now() + options.timeout;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let d = dir.path();
        let operator_cred = keygen(d, "operator", "01");
        let peers = format!(
            "- from: unauthenticated\n  scope:\n    /.well-known/core: GET\n\
             - kccs: |\n    {}\n  scope: allow-all\n",
            kccs(&operator_cred)
        );
        std::fs::write(d.join("peers.yml"), peers).map_err(|e| e.to_string())?;
        let mut fleet = Fleet {
            rd_addr: crate::free_local_addr(),
            rd: None,
            devices: Vec::new(),
            operator_cred,
            pins: Vec::new(),
            dir,
        };
        fleet.restart_rd()?;
        // Spawn every device first, then read their identities: they start in parallel.
        let mut starting = Vec::new();
        for i in 1..=options.devices {
            let ep = format!("dev{i:02}");
            let addr = crate::free_local_addr();
            let process = fleet.spawn_device(trevm, options, &ep, &addr)?;
            starting.push((ep, addr, process));
        }
        for (ep, addr, mut process) in starting {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = process
                .wait_for("CoAP server identity: ", left)
                .map_err(|e| format!("{ep}: {e}"))?;
            let identity = line
                .split_once("CoAP server identity: ")
                .map(|(_, id)| id.trim().to_string())
                .unwrap_or_default();
            let base = format!("coap://{addr}");
            fleet.pins.push((base.clone(), identity.clone()));
            fleet.devices.push(SimDevice {
                ep,
                base,
                identity,
                process,
            });
        }
        fleet.write_credentials()?;
        let left = deadline.saturating_duration_since(Instant::now());
        fleet.wait_registered(options.devices, left)?;
        Ok(fleet)
    }

    fn spawn_device(
        &self,
        trevm: &Path,
        options: &FleetOptions,
        ep: &str,
        addr: &str,
    ) -> Result<Running, String> {
        let d = self.dir.path();
        let state = d.join(ep);
        std::fs::create_dir_all(&state).map_err(|e| e.to_string())?;
        let peers = d.join("peers.yml");
        let mut args: Vec<String> = vec![
            "serve".into(),
            "--listen".into(),
            addr.into(),
            "--policy".into(),
            peers.display().to_string(),
        ];
        for key in &options.trust {
            args.extend(["--trust".into(), key.display().to_string()]);
        }
        args.extend([
            "--rd".into(),
            self.rd(),
            "--ep".into(),
            ep.into(),
            "--rd-lifetime".into(),
            options.rd_lifetime_s.to_string(),
        ]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Running::start_with_env(
            &trevm.display().to_string(),
            &args,
            &[("TREVM_STATE_DIR", &state)],
        )
        .map_err(|e| format!("starting {ep}: {e}"))
    }

    /// The RD's URI, `coap://127.0.0.1:PORT`.
    pub fn rd(&self) -> String {
        format!("coap://{}", self.rd_addr)
    }

    /// The operator's credentials file (one entry per device, and per [`Fleet::pin`]).
    pub fn credentials(&self) -> PathBuf {
        self.dir.path().join("operator.diag")
    }

    /// The fleet's directory: keys, peers.yml, credentials, one state directory per device.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Adds an entry for `base` pinning `identity` to the operator's credentials.
    pub fn pin(&mut self, base: &str, identity: &str) -> Result<(), String> {
        self.pins.push((base.into(), identity.into()));
        self.write_credentials()
    }

    fn write_credentials(&self) -> Result<(), String> {
        let entries: Vec<String> = self
            .pins
            .iter()
            .map(|(base, identity)| {
                format!(
                    "\"{base}/*\": {{\"edhoc-oscore\": {{\"suite\": 2, \"method\": 3, \
                     \"own_cred_style\": \"by-key-id\", \"own_cred\": {}, \
                     \"private_key_file\": \"operator.cosekey\", \"peer_cred\": {{14: {identity}}}}}}}",
                    self.operator_cred
                )
            })
            .collect();
        std::fs::write(self.credentials(), format!("{{{}}}\n", entries.join(",\n")))
            .map_err(|e| e.to_string())
    }

    /// Registers an endpoint by hand (a full registration, as a device does): for devices that
    /// are not `trevm serve` (a test's fake device).
    pub fn register(&self, ep: &str, base: &str, links: &str) -> Result<(), String> {
        register_at(&self.rd_addr, ep, base, 600, links)
    }

    /// Kills the RD (it forgets every registration).
    pub fn kill_rd(&mut self) {
        drop(self.rd.take());
    }

    /// Starts the RD (again) on the same port and waits until it answers a CoAP ping.
    pub fn restart_rd(&mut self) -> Result<(), String> {
        self.kill_rd();
        let rd = Running::start("aiocoap-rd", &["--bind", &self.rd_addr])
            .map_err(|e| format!("cannot run aiocoap-rd ({e}): install aiocoap"))?;
        self.rd = Some(rd);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !coap_ping(&self.rd_addr) {
            if Instant::now() > deadline {
                return Err(format!("aiocoap-rd on {} did not answer", self.rd_addr));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// The endpoint names the RD knows now (its endpoint lookup, asked with `aiocoap-client`).
    pub fn registered(&self) -> Result<Vec<String>, String> {
        let url = format!("{}/endpoint-lookup/", self.rd());
        let o = Command::new("aiocoap-client")
            .arg(&url)
            .output()
            .map_err(|e| format!("cannot run aiocoap-client ({e})"))?;
        let text = String::from_utf8_lossy(&o.stdout);
        Ok(text
            .split("ep=\"")
            .skip(1)
            .filter_map(|rest| rest.split_once('"').map(|(ep, _)| ep.to_string()))
            .collect())
    }

    /// Waits (polling the RD, bounded) until at least `n` endpoints are registered.
    pub fn wait_registered(&self, n: usize, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            let eps = self.registered()?;
            if eps.len() >= n {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "only {} of {n} devices registered within {timeout:?}: {eps:?}",
                    eps.len()
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// A full registration with the RD at `rd_addr` (RFC 9176 §5.3, Content-Format 40).
fn register_at(rd_addr: &str, ep: &str, base: &str, lt: u32, links: &str) -> Result<(), String> {
    let url =
        format!("coap://{rd_addr}/resourcedirectory/?ep={ep}&lt={lt}&base={base}&et=trevm.device");
    // Tried three times: aiocoap-client, started many at once, now and then reports a network
    // error for a request the RD never saw.
    let mut said = String::new();
    for _ in 0..3 {
        let o = Command::new("aiocoap-client")
            .args(["-m", "POST", "--content-format", "application/link-format"])
            .args(["--payload", links, &url])
            .output()
            .map_err(|e| format!("cannot run aiocoap-client ({e})"))?;
        said = crate::output_text(&o);
        if o.status.success() && said.contains("/reg/") {
            return Ok(());
        }
    }
    Err(format!("registering {ep}: {said}"))
}

/// A CoAP ping (an empty confirmable message; a CoAP server answers Reset) with a 100 ms wait.
pub fn coap_ping(addr: &str) -> bool {
    let Ok(socket) = UdpSocket::bind("127.0.0.1:0") else {
        return false;
    };
    let mut buf = [0u8; 64];
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .is_ok()
        && socket.send_to(&[0x40, 0x00, 0x12, 0x34], addr).is_ok()
        && matches!(socket.recv(&mut buf), Ok(n) if n >= 4 && buf[2..4] == [0x12, 0x34])
}
