//! `trevm fleet` against a simulated fleet (trevm_testkit::fleet): a local `aiocoap-rd` and 20
//! `trevm serve` devices on loopback, each with its own identity and state, all trusting the
//! operator (EDHOC key allow-all in peers.yml; capsule signing key `--trust`).
//!
//! One fleet, in phases (starting 20 devices once keeps the file within its time budget):
//! - listing: `fleet ls` shows all 20 (name and address);
//! - rollout: a signed sandbox capsule (payloads/sandbox, ~13 KB) reaches every device through
//!   canaries and stages, and a re-run skips them all;
//! - a capsule that fails its health check (payloads/sandbox-spin, stopped by the device's 2 s
//!   limit) stops the rollout after the canaries, the other 18 keep the previous version, and
//!   `--rollback-to` the previous capsule gives the canaries its code under a newer version;
//! - a registered "device" that answers garbage is a row saying so in `fleet ls` and `fleet push`,
//!   and so is a registered device that is gone (unreachable); the rest of the fleet is updated
//!   all the same.
//!
//! `bench` (ignored; `cargo test --release -p trevm-cli --test fleet -- --ignored --nocapture`)
//! measures the figures of docs/bench.md's fleet section.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use trevm_testkit::fleet::{Fleet, FleetOptions};
use trevm_testkit::output_text as text;

/// How long one `trevm` command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

fn trevm(args: &[&str], dir: &Path) -> Output {
    trevm_testkit::run_bounded(env!("CARGO_BIN_EXE_trevm"), args, dir, COMMAND_TIMEOUT)
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds `payload` and signs it with `key` as `version`; returns the capsule's path.
fn signed(dir: &Path, payload: &str, key: &Path, version: u64) -> PathBuf {
    let out = dir.join(format!("{payload}-{version}.cwasm"));
    let src = root().join("payloads").join(payload);
    let o = trevm(
        &[
            "build",
            "-q",
            src.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        dir,
    );
    assert!(o.status.success(), "trevm build: {}", text(&o));
    let o = trevm(
        &[
            "sign",
            out.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "--version",
            &version.to_string(),
        ],
        dir,
    );
    assert!(o.status.success(), "trevm sign: {}", text(&o));
    out
}

/// The operator's capsule signing key (`op.pem`, `op.pub.pem` in `dir`).
fn signing_key(dir: &Path) -> (PathBuf, PathBuf) {
    let o = trevm(&["keygen", dir.join("op").to_str().unwrap()], dir);
    assert!(o.status.success(), "trevm keygen: {}", text(&o));
    (dir.join("op.pem"), dir.join("op.pub.pem"))
}

/// `trevm fleet ARGS --rd … --credentials …`.
fn fleet_cmd(fleet: &Fleet, args: &[&str]) -> Output {
    let rd = fleet.rd();
    let creds = fleet.credentials();
    let mut all: Vec<&str> = vec!["fleet"];
    all.extend_from_slice(args);
    all.extend(["--rd", &rd, "--credentials", creds.to_str().unwrap()]);
    trevm(&all, fleet.dir())
}

/// The table's row of device `ep` (stdout).
fn row<'a>(o: &'a Output, ep: &str) -> &'a str {
    let out = std::str::from_utf8(&o.stdout).expect("utf-8");
    out.lines()
        .find(|l| l.split_whitespace().next() == Some(ep))
        .unwrap_or_else(|| panic!("no row for {ep} in:\n{}", text(o)))
}

fn push(fleet: &Fleet, capsule: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "push",
        capsule.to_str().unwrap(),
        "--to",
        "sandbox/hello",
        "--canary",
        "2",
        "--parallel",
        "8",
        "--settle",
        "200ms",
        "--yes",
    ];
    args.extend_from_slice(extra);
    fleet_cmd(fleet, &args)
}

#[test]
fn a_fleet_is_listed_rolled_out_to_stopped_at_failing_canaries_and_rolled_back() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let d = scratch.path();
    let (key, public) = signing_key(d);
    let v1 = signed(d, "sandbox", &key, 1001);
    let spin = signed(d, "sandbox-spin", &key, 1002);
    let fleet = Fleet::start(
        Path::new(env!("CARGO_BIN_EXE_trevm")),
        &FleetOptions {
            trust: vec![public],
            // Short, so that devices find out within seconds that a restarted RD forgot them.
            rd_lifetime_s: 6,
            ..FleetOptions::default()
        },
    )
    .expect("the simulated fleet");
    let eps: Vec<&str> = fleet.devices.iter().map(|d| d.ep.as_str()).collect();

    // Listing: every device, with its address; nothing installed yet.
    let o = fleet_cmd(&fleet, &["ls"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        o.stdout
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count(),
        21
    );
    for dev in &fleet.devices {
        let r = row(&o, &dev.ep);
        assert!(r.contains(&dev.base), "{r}");
        assert!(r.contains(" ok "), "{r}");
    }

    // Rollout to all 20: canaries, then stages of 8; every device then runs it.
    let o = push(&fleet, &v1, &[]);
    assert!(o.status.success(), "{}", text(&o));
    for ep in &eps {
        assert!(row(&o, ep).contains("updated, healthy"), "{}", text(&o));
    }
    let o = fleet_cmd(&fleet, &["ls"]);
    for ep in &eps {
        assert!(row(&o, ep).contains("sandbox/hello@1001"), "{}", text(&o));
    }
    let url = format!("{}/sandbox/hello", fleet.devices[19].base);
    let creds = fleet.credentials();
    let o = trevm(&["call", &url, "--credentials", creds.to_str().unwrap()], d);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "Hello from the sandbox!\n"
    );
    // Re-running finishes nothing more: all skipped.
    let o = push(&fleet, &v1, &[]);
    assert!(o.status.success(), "{}", text(&o));
    for ep in &eps {
        assert!(
            row(&o, ep).contains("skipped (already runs it)"),
            "{}",
            text(&o)
        );
    }

    // A capsule that never returns: the canaries fail their health check, the rollout stops.
    let o = push(&fleet, &spin, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("STOPPED after canaries"), "{}", text(&o));
    for ep in &eps[..2] {
        assert!(row(&o, ep).contains("FAILED"), "{}", text(&o));
    }
    for ep in &eps[2..] {
        assert!(
            row(&o, ep).contains("not updated (rollout stopped)"),
            "{}",
            text(&o)
        );
    }
    let o = fleet_cmd(&fleet, &["ls"]);
    for ep in &eps[..2] {
        let r = row(&o, ep);
        assert!(
            r.contains("sandbox/hello@1002") && r.contains("1 stopped"),
            "{r}"
        );
    }
    for ep in &eps[2..] {
        let r = row(&o, ep);
        assert!(
            r.contains("sandbox/hello@1001") && r.contains(" ok "),
            "{r}"
        );
    }
    // Selecting by what a device runs: the 18 still on 1001.
    let o = fleet_cmd(&fleet, &["ls", "--select", "version=1001"]);
    assert!(o.status.success(), "{}", text(&o));
    let listed: Vec<&str> = std::str::from_utf8(&o.stdout)
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(listed, eps[2..], "{}", text(&o));

    // Back: the old code under version 1003 on the canaries; the others never left 1001.
    let mut args = vec![
        "push",
        "--rollback-to",
        v1.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ];
    args.extend(["--to", "sandbox/hello", "--canary", "2", "--parallel", "8"]);
    args.extend(["--settle", "200ms", "--yes"]);
    let o = fleet_cmd(&fleet, &args);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("re-signed as version 1003"),
        "{}",
        text(&o)
    );
    for ep in &eps[..2] {
        let r = row(&o, ep);
        assert!(
            r.contains("1002") && r.contains("1003") && r.contains("updated"),
            "{r}"
        );
    }
    for ep in &eps[2..] {
        assert!(
            row(&o, ep).contains("skipped (never left the old version)"),
            "{}",
            text(&o)
        );
    }
    let url = format!("{}/sandbox/hello", fleet.devices[0].base);
    let o = trevm(&["call", &url, "--credentials", creds.to_str().unwrap()], d);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "Hello from the sandbox!\n"
    );

    garbage_is_reported_and_the_rest_proceed(fleet, &key, d);
}

/// A UDP socket registered as a device: it acknowledges every confirmable message with a
/// `2.05` whose payload is garbage.
fn garbage_device() -> String {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let addr = socket.local_addr().expect("addr");
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            let Some(&first) = buf[..n].first() else {
                continue;
            };
            let tkl = usize::from(first & 0x0f);
            if n < 4 + tkl || tkl > 8 || first >> 4 != 0x4 {
                continue;
            }
            let mut answer = vec![0x60 | first & 0x0f, 0x45, buf[2], buf[3]];
            answer.extend_from_slice(&buf[4..4 + tkl]);
            answer.extend_from_slice(b"\xffgarbage\x00\xff{[");
            let _ = socket.send_to(&answer, from);
        }
    });
    format!("coap://{addr}")
}

fn garbage_is_reported_and_the_rest_proceed(mut fleet: Fleet, key: &Path, d: &Path) {
    let base = garbage_device();
    let identity = fleet.devices[0].identity.clone();
    fleet.pin(&base, &identity).expect("pin");
    fleet
        .register("dev00", &base, "</status>;rt=\"trevm.status\";ct=50")
        .expect("register the garbage device");

    // An "RD" that answers garbage is one clear error.
    let o = trevm(&["fleet", "ls", "--rd", &base], d);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("not UTF-8"), "{}", text(&o));

    let o = fleet_cmd(&fleet, &["ls"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(row(&o, "dev00").contains("garbage answer"), "{}", text(&o));
    for dev in &fleet.devices[2..] {
        assert!(
            row(&o, &dev.ep).contains("sandbox/hello@1001"),
            "{}",
            text(&o)
        );
    }

    // Without the operator's credentials: the devices refuse their status, the garbage device
    // answers something that is not trevm's JSON.
    let rd = fleet.rd();
    let o = trevm(&["fleet", "ls", "--rd", &rd], d);
    assert!(o.status.success(), "{}", text(&o));
    assert!(row(&o, "dev00").contains("garbage answer"), "{}", text(&o));
    assert!(
        text(&o).contains("dev00: /status is not trevm's JSON"),
        "{}",
        text(&o)
    );
    assert!(row(&o, "dev05").contains("refused"), "{}", text(&o));
    assert!(
        text(&o).contains("dev05: /status: 4.01 Unauthorized"),
        "{}",
        text(&o)
    );

    // Refused before any device is asked: nothing selected, an unsigned capsule.
    let v1 = d.join("sandbox-1001.cwasm");
    let o = push(&fleet, &v1, &["--select", "ep=nobody"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("no device to roll out to"),
        "{}",
        text(&o)
    );
    let unsigned = d.join("unsigned.cwasm");
    let src = root().join("payloads/sandbox");
    let o = trevm(
        &["build", "-q", "--unsigned", src.to_str().unwrap()]
            .into_iter()
            .chain(["-o", unsigned.to_str().unwrap()])
            .collect::<Vec<_>>(),
        d,
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = push(&fleet, &unsigned, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("is not signed"), "{}", text(&o));
    assert!(!text(&o).contains("devices in"), "{}", text(&o));

    // And a device that is gone (its process ended, its registration still there).
    let gone = fleet.devices.pop().expect("a device");
    let _ = gone.process.finish(Duration::from_millis(10));
    let o = fleet_cmd(&fleet, &["ls"]);
    assert!(row(&o, &gone.ep).contains("unreachable"), "{}", text(&o));

    let v4 = signed(d, "sandbox", key, 1004);
    let o = push(&fleet, &v4, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        row(&o, &gone.ep).contains("unreachable (not updated)"),
        "{}",
        text(&o)
    );
    assert!(
        row(&o, "dev00").contains("garbage answer (not updated)"),
        "{}",
        text(&o)
    );
    for dev in &fleet.devices {
        assert!(
            row(&o, &dev.ep).contains("updated, healthy"),
            "{}",
            text(&o)
        );
    }

    // Without its RD, `fleet ls` is one clear error. A restarted RD knows no device; each
    // registers again at its next refresh (answered 4.04) or retry, with what it runs.
    fleet.kill_rd();
    let o = fleet_cmd(&fleet, &["ls"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("asking the RD"), "{}", text(&o));
    fleet.restart_rd().expect("the RD again");
    fleet
        .wait_registered(fleet.devices.len(), Duration::from_secs(90))
        .expect("every device registers again");
    let o = fleet_cmd(&fleet, &["ls", "--select", "version=1004"]);
    assert!(o.status.success(), "{}", text(&o));
    for dev in &fleet.devices {
        assert!(row(&o, &dev.ep).contains("@1004"), "{}", text(&o));
    }
}

/// docs/bench.md's fleet figures: rolling a signed sandbox capsule out to 50 devices with
/// `--parallel` 1 and 8, and the endpoint lookup.
#[test]
#[ignore = "a benchmark: run with --ignored --nocapture"]
fn bench() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let d = scratch.path();
    let (key, public) = signing_key(d);
    let fleet = Fleet::start(
        Path::new(env!("CARGO_BIN_EXE_trevm")),
        &FleetOptions {
            devices: 50,
            trust: vec![public],
            timeout: Duration::from_secs(180),
            ..FleetOptions::default()
        },
    )
    .expect("the simulated fleet");
    let mut lookups = Vec::new();
    for _ in 0..5 {
        let o = fleet_cmd(&fleet, &["ls"]);
        assert!(o.status.success(), "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        let ms = err
            .split("(lookup ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse::<u64>().ok())
            .expect("lookup time");
        let all = err
            .split("status of all in ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse::<u64>().ok())
            .expect("survey time");
        lookups.push((ms, all));
    }
    println!("lookup of 50 endpoints (ms), lookup + status of all (ms): {lookups:?}");
    // Each push a new version (devices refuse an old one and skip the same one).
    let mut version = 2000;
    let mut rollout = |payload: &str, parallel: u32, settle: &str| {
        version += 1;
        let capsule = signed(d, payload, &key, version);
        let size = std::fs::metadata(&capsule).map(|m| m.len()).unwrap_or(0);
        let start = Instant::now();
        let o = fleet_cmd(
            &fleet,
            &[
                "push",
                capsule.to_str().unwrap(),
                "--to",
                "sandbox/hello",
                "--canary",
                "1",
                "--parallel",
                &parallel.to_string(),
                "--settle",
                settle,
                "--yes",
            ],
        );
        let took = start.elapsed();
        assert!(o.status.success(), "{}", text(&o));
        println!(
            "rollout of {payload} ({size} bytes) to 50 devices, --parallel {parallel}, \
             --settle {settle}: {took:.2?}"
        );
    };
    for payload in ["sandbox", "sandbox-big"] {
        for _ in 0..3 {
            for parallel in [1, 8] {
                rollout(payload, parallel, "0s");
            }
        }
    }
    for parallel in [1, 8] {
        rollout("sandbox", parallel, "2s");
    }
}
