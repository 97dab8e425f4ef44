//! The device under test of the lifecycle test (`crates/trevm-cli/tests/lifecycle.rs`): one
//! scenario list, run against whichever device [`from_env`] picks (`TREVM_DUT`):
//!
//! - `native` (default): `trevm serve --listen 127.0.0.1:PORT --policy peers.yml` with its state
//!   in a directory of the test's; a reset or restart is the process started again on it.
//! - `qemu`: `firmware/qemu-mps2-an386/serve.sh --port PORT --state DIR` with `TREVM_PEERS`
//!   naming the policy compiled into the `net` firmware; the flash image `DIR/flash.img`
//!   survives QEMU restarts; a reset is `system_reset` on the QEMU monitor (`DIR/monitor.sock`),
//!   a restart is QEMU quit (`quit` on the monitor) and started again.
//!
//! Both print `CoAP server identity: {…}`; that line, and the base URL, are what
//! [`DeviceUnderTest::start`] returns. serve.sh also prints `listening on coap://127.0.0.1:PORT`
//! (before or after the identity), and should `exec` QEMU, so that a test killing it when `quit`
//! on the monitor did not work leaves no QEMU behind holding the port. Capsules for the QEMU
//! device are built for its profile ([`DeviceUnderTest::build_args`]: pulley32, fuel) and signed
//! with this machine's development key, which `serve.sh` builds into the firmware as trusted.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::Running;

/// A started device: where it listens and who it says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// `coap://127.0.0.1:PORT`.
    pub base: String,
    /// What follows `CoAP server identity: ` on its line (the device's CCS, in diagnostic
    /// notation), which clients pin.
    pub identity: String,
}

/// A Resource Directory for the device to register with, from its next start: the RD listens
/// on this host's `127.0.0.1:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rd {
    /// The RD's port on 127.0.0.1.
    pub port: u16,
    /// The endpoint name the device registers as.
    pub ep: String,
    /// The registration's lifetime in seconds (refreshed at 3/4 of it).
    pub lifetime: u32,
}

/// A device the lifecycle scenarios drive.
pub trait DeviceUnderTest {
    /// Registers with `rd` from the next start on (`trevm serve --rd`, `serve.sh --rd`).
    fn register_with(&mut self, rd: Rd);
    /// What it is, for messages (`native trevm serve`, `QEMU mps2-an386 net firmware`).
    fn describe(&self) -> String;
    /// The `trevm build` arguments for capsules this device runs (its engine profile).
    fn build_args(&self) -> Vec<String>;
    /// Starts it (building it first if it must) and waits until it says who it is.
    fn start(&mut self) -> Result<Started, String>;
    /// Resets it without losing its state (capsules, ledgers, identity).
    fn reset(&mut self) -> Result<Started, String>;
    /// Stops it and starts it again on the same state.
    fn restart(&mut self) -> Result<Started, String> {
        self.stop();
        self.start()
    }
    /// Stops it (bounded).
    fn stop(&mut self);
    /// The process it runs in while started.
    fn process(&self) -> Option<&Running>;
    /// The same, to wait on it.
    fn process_mut(&mut self) -> Option<&mut Running>;
    /// Whether it is still running (it did not crash).
    fn is_running(&mut self) -> bool {
        self.process_mut().is_some_and(Running::is_running)
    }
    /// Everything it printed so far, for failure messages.
    fn output(&self) -> String {
        self.process().map(Running::output).unwrap_or_default()
    }
}

/// The device `TREVM_DUT` names (`native`, the default, or `qemu`), with the access policy
/// `peers` and its state in `state`. `trevm` is the `trevm` binary (`CARGO_BIN_EXE_trevm`),
/// `root` the repository.
pub fn from_env(
    trevm: &Path,
    root: &Path,
    peers: &Path,
    state: &Path,
) -> Result<Box<dyn DeviceUnderTest>, String> {
    match std::env::var("TREVM_DUT").as_deref() {
        Err(_) | Ok("") | Ok("native") => Ok(Box::new(Native {
            trevm: trevm.to_path_buf(),
            peers: peers.to_path_buf(),
            state: state.to_path_buf(),
            addr: crate::free_local_addr(),
            rd: None,
            running: None,
        })),
        Ok("qemu") => Ok(Box::new(Qemu {
            script: root.join("firmware/qemu-mps2-an386/serve.sh"),
            peers: peers.to_path_buf(),
            state: state.to_path_buf(),
            port: crate::free_local_addr()
                .rsplit_once(':')
                .and_then(|(_, p)| p.parse().ok())
                .ok_or("a free port")?,
            rd: None,
            running: None,
            boot: boot_timeout(),
        })),
        Ok(other) => Err(format!("TREVM_DUT={other}: expected native or qemu")),
    }
}

/// How long a QEMU device may take to say who it is: building the firmware first takes minutes
/// (`TREVM_DUT_BOOT_SECS`, default 900).
fn boot_timeout() -> Duration {
    let secs = std::env::var("TREVM_DUT_BOOT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(900);
    Duration::from_secs(secs)
}

const IDENTITY: &str = "CoAP server identity: ";

/// What the network firmware prints at every boot once it serves (after its identity).
const FIRMWARE_READY: &str = "net: CoAP device listening on";

/// Waits for the identity line; returns what follows it.
fn identity(running: &mut Running, within: Duration) -> Result<String, String> {
    let line = running.wait_for(IDENTITY, within)?;
    line.split_once(IDENTITY)
        .map(|(_, id)| id.trim().to_string())
        .ok_or(line)
}

/// `trevm serve` on loopback.
#[derive(Debug)]
pub struct Native {
    trevm: PathBuf,
    peers: PathBuf,
    state: PathBuf,
    addr: String,
    rd: Option<Rd>,
    running: Option<Running>,
}

impl DeviceUnderTest for Native {
    fn register_with(&mut self, rd: Rd) {
        self.rd = Some(rd);
    }

    fn describe(&self) -> String {
        format!("native `trevm serve` on {}", self.addr)
    }

    fn build_args(&self) -> Vec<String> {
        // This machine's default profile, which `trevm serve` takes.
        Vec::new()
    }

    fn start(&mut self) -> Result<Started, String> {
        let peers = self.peers.to_str().ok_or("a UTF-8 path")?;
        let mut args: Vec<String> = ["serve", "--listen", &self.addr, "--policy", peers]
            .map(String::from)
            .to_vec();
        if let Some(rd) = &self.rd {
            args.extend([
                "--rd".into(),
                format!("coap://127.0.0.1:{}", rd.port),
                "--ep".into(),
                rd.ep.clone(),
                "--rd-lifetime".into(),
                rd.lifetime.to_string(),
            ]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut running = Running::start_with_env(
            self.trevm.to_str().ok_or("a UTF-8 path")?,
            &args,
            &[("TREVM_STATE_DIR", &self.state)],
        )
        .map_err(|e| format!("cannot start trevm serve: {e}"))?;
        let identity = identity(&mut running, Duration::from_secs(30))?;
        self.running = Some(running);
        Ok(Started {
            base: format!("coap://{}", self.addr),
            identity,
        })
    }

    fn reset(&mut self) -> Result<Started, String> {
        // A process has no reset button: the closest is starting it again.
        self.restart()
    }

    fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            // Killed (as a power cut would): stdin closing does not stop a server.
            running.finish(Duration::ZERO);
        }
    }

    fn process(&self) -> Option<&Running> {
        self.running.as_ref()
    }

    fn process_mut(&mut self) -> Option<&mut Running> {
        self.running.as_mut()
    }
}

/// The `net` firmware in QEMU, through `firmware/qemu-mps2-an386/serve.sh`.
#[derive(Debug)]
pub struct Qemu {
    script: PathBuf,
    peers: PathBuf,
    state: PathBuf,
    port: u16,
    rd: Option<Rd>,
    running: Option<Running>,
    boot: Duration,
}

impl Qemu {
    /// Sends one command to the QEMU monitor (`DIR/monitor.sock`): waits for its prompt first
    /// (a command written before it may be dropped with the connection), then for the prompt
    /// that follows the command (it has been run). Bounded by 5 s each.
    fn monitor(&self, command: &str) -> Result<(), String> {
        use std::io::Read as _;
        let path = self.state.join("monitor.sock");
        let mut sock = std::os::unix::net::UnixStream::connect(&path)
            .map_err(|e| format!("QEMU monitor {}: {e}", path.display()))?;
        sock.set_write_timeout(Some(Duration::from_secs(5)))
            .and_then(|()| sock.set_read_timeout(Some(Duration::from_secs(5))))
            .map_err(|e| e.to_string())?;
        let prompt = |sock: &mut std::os::unix::net::UnixStream| -> Result<(), String> {
            let mut seen = Vec::new();
            let mut buf = [0u8; 256];
            while !String::from_utf8_lossy(&seen).contains("(qemu)") {
                let n = sock
                    .read(&mut buf)
                    .map_err(|e| format!("QEMU monitor: no prompt: {e}"))?;
                if n == 0 {
                    return Err("QEMU monitor: closed".into());
                }
                seen.extend_from_slice(&buf[..n]);
            }
            Ok(())
        };
        prompt(&mut sock)?;
        sock.write_all(format!("{command}\n").as_bytes())
            .map_err(|e| format!("QEMU monitor: {e}"))?;
        // `quit` ends QEMU before any prompt.
        if command != "quit" {
            prompt(&mut sock)?;
        }
        Ok(())
    }
}

impl DeviceUnderTest for Qemu {
    fn register_with(&mut self, rd: Rd) {
        self.rd = Some(rd);
    }

    fn describe(&self) -> String {
        format!("QEMU mps2-an386 `net` firmware on port {}", self.port)
    }

    fn build_args(&self) -> Vec<String> {
        // The firmware's profile: `EngineProfile::pulley32(Preemption::Fuel)`.
        ["--target", "pulley32", "--preemption", "fuel"]
            .map(String::from)
            .to_vec()
    }

    fn start(&mut self) -> Result<Started, String> {
        std::fs::create_dir_all(&self.state).map_err(|e| e.to_string())?;
        let port = self.port.to_string();
        let state = self.state.to_str().ok_or("a UTF-8 path")?;
        let mut args: Vec<String> = ["--port", &port, "--state", state]
            .map(String::from)
            .to_vec();
        if let Some(rd) = &self.rd {
            args.extend([
                "--rd".into(),
                rd.port.to_string(),
                "--ep".into(),
                rd.ep.clone(),
                "--rd-lifetime".into(),
                rd.lifetime.to_string(),
            ]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut running = Running::start_with_env(
            self.script.to_str().ok_or("a UTF-8 path")?,
            &args,
            &[
                ("TREVM_PEERS", &self.peers),
                ("TREVM_STATE_DIR", &self.state),
            ],
        )
        .map_err(|e| format!("cannot start {}: {e}", self.script.display()))?;
        let identity = identity(&mut running, self.boot)?;
        running.wait_for(FIRMWARE_READY, self.boot)?;
        self.running = Some(running);
        Ok(Started {
            base: format!("coap://127.0.0.1:{port}"),
            identity,
        })
    }

    fn reset(&mut self) -> Result<Started, String> {
        self.monitor("system_reset")?;
        let running = self.running.as_mut().ok_or("QEMU is not running")?;
        // Every boot prints the identity, then this line once its socket is bound.
        let identity = identity(running, Duration::from_secs(120))?;
        running.wait_for(FIRMWARE_READY, Duration::from_secs(120))?;
        Ok(Started {
            base: format!("coap://127.0.0.1:{}", self.port),
            identity,
        })
    }

    fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            // `quit` ends QEMU (and serve.sh with it); killing only the script would leave QEMU
            // holding the port and the flash image.
            let _ = self.monitor("quit");
            running.finish(Duration::from_secs(10));
        }
    }

    fn process(&self) -> Option<&Running> {
        self.running.as_ref()
    }

    fn process_mut(&mut self) -> Option<&mut Running> {
        self.running.as_mut()
    }
}
