//! Test support for this repository (not published): driving a board program from a test as a
//! user would — start it, read its output line by line as it comes, type into its stdin (Enter
//! presses the native board's button), stop it. Kept out of the board crate (`trevm-native`),
//! which is what applications link.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod dut;
pub mod fleet;
pub mod wire;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// A running board program.
#[derive(Debug)]
pub struct Running {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
    /// The program's own state directory (`TREVM_STATE_DIR`), unless the test gave one.
    _state: Option<tempfile::TempDir>,
}

impl Running {
    /// Starts `program` with `args`, stdin and stdout piped, and a fresh state directory
    /// (`TREVM_STATE_DIR`, removed when this is dropped), so no test sees another's device
    /// identity or uploaded capsules.
    pub fn start(program: &str, args: &[&str]) -> std::io::Result<Running> {
        Running::start_with_env(program, args, &[])
    }

    /// [`Running::start`] with environment variables set for the program (`TREVM_STATE_DIR`
    /// among them: that state directory instead of a fresh one).
    pub fn start_with_env(
        program: &str,
        args: &[&str],
        env: &[(&str, &std::path::Path)],
    ) -> std::io::Result<Running> {
        let state = match env.iter().any(|(k, _)| *k == "TREVM_STATE_DIR") {
            true => None,
            false => Some(tempfile::tempdir()?),
        };
        let mut child = Command::new(program)
            .args(args)
            .envs(state.iter().map(|d| ("TREVM_STATE_DIR", d.path())))
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().ok_or(std::io::ErrorKind::BrokenPipe)?;
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Running {
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
            _state: state,
        })
    }

    /// Waits up to `timeout` for an output line containing `needle` and returns it; on timeout or
    /// end of output, `Err` with everything printed so far.
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return Ok(line);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "no line with {needle:?} within {timeout:?}; output:\n{}",
                        self.output()
                    ));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(format!(
                        "output ended before a line with {needle:?}; output:\n{}",
                        self.output()
                    ));
                }
            }
        }
    }

    /// Types a line into the program's stdin (on the native board: presses the button).
    pub fn enter(&mut self) -> std::io::Result<()> {
        let stdin = self.stdin.as_mut().ok_or(std::io::ErrorKind::BrokenPipe)?;
        stdin.write_all(b"\n")?;
        stdin.flush()
    }

    /// Closes stdin (Ctrl-D) and waits up to `timeout` for the program to end by itself; kills it
    /// if it does not. Returns its exit status (`None` if it had to be killed) and all its output.
    pub fn finish(mut self, timeout: Duration) -> (Option<ExitStatus>, String) {
        drop(self.stdin.take());
        let deadline = Instant::now() + timeout;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break None;
                }
            }
        };
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
            self.seen.push(line);
        }
        (status, self.output())
    }

    /// Everything the program printed so far (that was read).
    pub fn output(&self) -> String {
        self.seen.join("\n")
    }

    /// The lines read so far.
    pub fn lines(&self) -> &[String] {
        &self.seen
    }

    /// Whether the program is still running (it has not exited or crashed).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback address with a port free right now, e.g. `127.0.0.1:40123`, for a device under test.
pub fn free_local_addr() -> String {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("a free port")
        .port();
    format!("127.0.0.1:{port}")
}

/// `trevm serve` (the binary `trevm`) as an open device (`examples/policies/open.yml`: these
/// tests are about the commands, not access control) on a free loopback port, with `extra`
/// arguments and a state directory of its own; returns it once it listens, and its address.
pub fn serve_open(trevm: &str, extra: &[&str]) -> (Running, String) {
    let addr = free_local_addr();
    (serve_open_at(trevm, &addr, extra), addr)
}

/// [`serve_open`] on `addr`.
pub fn serve_open_at(trevm: &str, addr: &str, extra: &[&str]) -> Running {
    let open = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/policies/open.yml"
    );
    let mut args = vec!["serve", "--listen", addr, "--policy", open];
    args.extend_from_slice(extra);
    let mut device = Running::start(trevm, &args).expect("trevm serve");
    device
        .wait_for("CoAP device on coap://", Duration::from_secs(300))
        .expect("the device listens");
    device
}

/// Runs libcoap's `coap-client-notls` with `args`; returns what it printed (stdout, then
/// stderr). It exits 0 on 4.xx and 5.xx answers too, so tests look at what it printed.
pub fn coap_client(args: &[&str]) -> String {
    let o = Command::new("coap-client-notls")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run coap-client-notls ({e}): install libcoap3-bin"));
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Writes a payload crate `name` (a `cdylib`, its own workspace) with `lib_rs` as its source
/// into `dir/name`, for tests of what building a payload says; returns its directory.
pub fn scratch_payload(dir: &std::path::Path, name: &str, lib_rs: &str) -> std::path::PathBuf {
    let krate = dir.join(name);
    std::fs::create_dir_all(krate.join("src")).expect("create the crate");
    std::fs::write(
        krate.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
             [lib]\ncrate-type = [\"cdylib\"]\n\n[workspace]\n"
        ),
    )
    .expect("write Cargo.toml");
    std::fs::write(krate.join("src/lib.rs"), lib_rs).expect("write lib.rs");
    krate
}

/// A `no_std` payload source using `#![feature(...)]`, which stable Rust refuses (E0554), as
/// one upstream payload does.
pub const NEEDS_NIGHTLY: &str = "#![no_std]\n#![feature(type_alias_impl_trait)]\n\
    #[panic_handler]\n\
    fn panic(_: &core::panic::PanicInfo) -> ! { loop {} }\n";

/// What a finished command printed: its stdout, then its stderr, as text.
pub fn output_text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs `program` with `args` in `dir` to its end and returns what it printed; kills it and
/// panics after `timeout` (a client that hangs fails its test instead of stalling it). The
/// pipes are drained on threads, so a chatty child never blocks.
pub fn run_bounded(
    program: &str,
    args: &[&str],
    dir: &std::path::Path,
    timeout: Duration,
) -> std::process::Output {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e})"));
    let drain = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{program} {args:?} took over {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    std::process::Output {
        status,
        stdout: out.join().expect("stdout"),
        stderr: err.join().expect("stderr"),
    }
}

/// EDHOC client credentials for tests, in the formats aiocoap and `trevm --credentials` read.
pub mod edhoc {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// Makes `dir/NAME.cosekey` with `aiocoap-keygen` (key id `kid` in hex, subject `name`);
    /// returns the credential it prints, `{14: CCS}`.
    pub fn keygen(dir: &Path, name: &str, kid: &str) -> String {
        let o = Command::new("aiocoap-keygen")
            .args(["generate", &format!("{name}.cosekey"), "--kid", kid])
            .args(["--subject", name])
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| panic!("cannot run aiocoap-keygen ({e}): install aiocoap[oscore]"));
        let cred = String::from_utf8_lossy(&o.stdout).trim().to_string();
        assert!(
            o.status.success() && cred.starts_with("{14:"),
            "aiocoap-keygen: {cred}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        cred
    }

    /// `{14: X}` → `X`: the `kccs` of a peers.yml entry.
    pub fn kccs(cred: &str) -> &str {
        cred.strip_prefix("{14:")
            .and_then(|c| c.strip_suffix('}'))
            .expect("a {14: …} credential")
    }

    /// The test policy both EDHOC tests use: strangers may list, `admin` (a `{14: …}`
    /// credential) may do anything, `reader` may list and GET `/sandbox/*`.
    pub fn admin_and_reader_policy(admin: &str, reader: &str) -> String {
        format!(
            "- from: unauthenticated\n  scope:\n    /.well-known/core: GET\n\
             - kccs: |\n    {}\n  scope: allow-all\n\
             - kccs: |\n    {}\n  scope:\n    /.well-known/core: GET\n    /sandbox/*: GET\n",
            kccs(admin),
            kccs(reader)
        )
    }

    /// Writes `dir/file`, a client.diag for `base` with `cred` (`{14: …}`) by key id,
    /// `name.cosekey` as its private key file and `peer` as the device's credential.
    pub fn write_diag(
        dir: &Path,
        file: &str,
        name: &str,
        cred: &str,
        peer: &str,
        base: &str,
    ) -> PathBuf {
        let path = dir.join(file);
        let diag = format!(
            r#"{{"{base}/*": {{"edhoc-oscore": {{
  "suite": 2, "method": 3,
  "own_cred_style": "by-key-id",
  "own_cred": {cred},
  "private_key_file": "{name}.cosekey",
  "peer_cred": {peer}
}}}}}}"#
        );
        std::fs::write(&path, diag).expect("write diag");
        path
    }
}

/// The datagrams of a corpus file such as trevm-coap's `tests/corpus/security.txt`: hex, one
/// datagram a line; blank lines and lines starting with `#` are comments.
pub fn hex_lines(text: &str) -> Vec<Vec<u8>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            (0..l.len())
                .step_by(2)
                .map(|i| {
                    l.get(i..i + 2)
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                        .unwrap_or_else(|| panic!("not hex: {l}"))
                })
                .collect()
        })
        .collect()
}
