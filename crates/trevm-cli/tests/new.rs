//! `trevm new`: every world's crate builds and runs with the command `trevm new` prints (and its
//! README repeats), the pushed ones answer on a device, and what it refuses leaves nothing behind.
//!
//! All the generated crates build into the example payloads' cargo target directory,
//! `payloads/target` (a `.cargo/config.toml` in the temporary root they are made in sets it:
//! `trevm build` runs cargo from the crate's directory, so cargo finds it). Their dependencies
//! are the payloads' (wit-bindgen and its proc-macro, talc, trevm-guest): compiled once, usually
//! already by the payload builds before, instead of once per crate or once per test run (about
//! 30 s). Each run adds only the small artifacts of its own crates there.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use trevm_testkit::output_text as text;

const TREVM: &str = env!("CARGO_BIN_EXE_trevm");

/// The temporary directory the crates are made in, with its shared target directory.
fn root() -> &'static Path {
    static ROOT: OnceLock<tempfile::TempDir> = OnceLock::new();
    ROOT.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join(".cargo")).expect(".cargo");
        let target = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../payloads/target"
        ));
        std::fs::write(
            dir.path().join(".cargo/config.toml"),
            format!(
                "[build]\ntarget-dir = \"{}\"\n",
                target.display().to_string().replace('\\', "/")
            ),
        )
        .expect("config.toml");
        dir
    })
    .path()
}

/// `trevm ARGS` in `dir`.
fn trevm_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(TREVM)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run trevm")
}

/// A shell command line as `trevm new` prints it, run in `dir` by `sh`, with `trevm` being the
/// binary under test.
fn shell_in(dir: &Path, line: &str) -> Output {
    let rest = line.strip_prefix("trevm ").expect("a trevm command");
    Command::new("sh")
        .arg("-c")
        .arg(format!("'{TREVM}' {rest}"))
        .current_dir(dir)
        .output()
        .expect("run sh")
}

/// What `trevm new` said to do with a crate: its `trevm run` and `trevm push` lines (without
/// the comment).
struct Made {
    dir: PathBuf,
    run: String,
    push: String,
}

/// `trevm new new-WORLD --world WORLD` in the shared root; checks that the README gives the same
/// commands.
fn make(world: &str) -> Made {
    make_named(world, &format!("new-{world}"))
}

fn make_named(world: &str, name: &str) -> Made {
    let o = trevm_in(root(), &["new", name, "--world", world]);
    assert!(o.status.success(), "trevm new: {}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let line = |command: &str| -> String {
        let line = stdout
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with(command))
            .unwrap_or_else(|| panic!("no `{command}` line: {stdout}"));
        line.split("   #").next().unwrap_or(line).trim().to_string()
    };
    let made = Made {
        dir: root().join(name),
        run: line("trevm run "),
        push: line("trevm push "),
    };
    let readme = std::fs::read_to_string(made.dir.join("README.md")).expect("README.md");
    assert!(
        readme.contains(&format!("{}\n", made.run)) && readme.contains(&made.push),
        "the README says other commands than trevm new: {readme}"
    );
    made
}

/// Makes the world's crate, runs its documented run command; asserts exit 0 and each of `seen`
/// in what it printed, and returns that.
fn runs(world: &str, seen: &[&str]) -> String {
    let made = make(world);
    let o = shell_in(root(), &made.run);
    let t = text(&o);
    assert!(o.status.success(), "{}: {t}", made.run);
    for s in seen {
        assert!(t.contains(s), "{}: `{s}` missing in: {t}", made.run);
    }
    t
}

#[test]
fn sandbox_returns_its_greeting() {
    let o = runs("sandbox", &[]);
    assert!(o.contains("\"Hello from new-sandbox!\"\n"), "{o}");
}

#[test]
fn async_logs_draws_a_number_and_sleeps() {
    runs(
        "async",
        &[
            "new-async: Hello from new-async!",
            "new-async: A random number below 100: ",
            "; bye",
        ],
    );
}

#[test]
fn persistent_initializes_and_reports_its_resource() {
    runs(
        "persistent",
        &[
            "new-persistent: Hello from new-persistent! Serving GET /vm/hello",
            "ok([\"hello\"])",
        ],
    );
    // Without --invoke: no run(), and two exports without parameters to choose from.
    let o = trevm_in(root(), &["run", "-q", "new-persistent"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        stderr.contains("`new-persistent` exports no `run()`: say what to call with --invoke")
            && stderr.contains("#initialize-handler()")
            && stderr.contains("#report()"),
        "{stderr}"
    );
}

#[test]
fn ephemeral_reads_the_temperature() {
    runs(
        "ephemeral",
        &[
            "new-ephemeral: Hello from new-ephemeral!",
            "new-ephemeral: Temperature 20.00 °C, with noise ",
        ],
    );
}

#[test]
fn gpio_blinks_the_boards_led() {
    let o = runs(
        "gpio",
        &[
            "new-gpio: Hello from new-gpio! Blinking the LED 3 times",
            "new-gpio: Done blinking",
        ],
    );
    assert_eq!(o.matches("board: LED on").count(), 3, "{o}");
    assert_eq!(o.matches("board: LED off").count(), 3, "{o}");
}

#[test]
fn sensors_reads_the_temperature_three_times() {
    let o = runs(
        "sensors",
        &[
            "new-sensors: Hello from new-sensors!",
            "new-sensors: Temperature: 20.00 °C",
        ],
    );
    assert_eq!(o.matches("new-sensors: Temperature: ").count(), 3, "{o}");
}

#[test]
fn ble_counts_a_report() {
    runs(
        "ble",
        &[
            "new-ble: Hello from new-ble! New device 01:02:03:04:05:06",
            "[({a: 1, b: 2, c: 3, d: 4, e: 5, f: 6}, 1)]",
        ],
    );
}

#[test]
fn udp_echoes_datagrams_and_stops_by_itself() {
    let made = make("udp");
    assert!(made.run.contains("bind-socket(4242)"), "{}", made.run);
    // The documented command, on a free port instead of 4242 (tests run side by side).
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free port")
        .port();
    let run = made
        .run
        .replace("bind-socket(4242)", &format!("bind-socket({port})"));
    let server = std::thread::spawn(move || shell_in(root(), &run));
    let client = std::net::UdpSocket::bind("127.0.0.1:0").expect("client");
    client
        .set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .expect("read timeout");
    let mut reply = None;
    let mut buf = [0u8; 64];
    // It builds first, then serves for a few seconds: ask until it answers (or it has stopped).
    while reply.is_none() && !server.is_finished() {
        let _ = client.send_to(b"ping", ("127.0.0.1", port));
        if let Ok((n, _)) = client.recv_from(&mut buf) {
            reply = Some(buf[..n].to_vec());
        }
    }
    let o = server.join().expect("trevm run");
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert_eq!(reply.as_deref(), Some(&b"PING"[..]), "{t}");
    assert!(
        t.contains(&format!(
            "new-udp: Hello from new-udp! Listening on UDP port {port}"
        )),
        "{t}"
    );
    assert!(t.contains("new-udp: Echoing 4 bytes, upper-cased"), "{t}");
}

/// A `trevm serve` on a free port with an open policy, its URL, its console lines and its state
/// directory; killed when dropped.
struct Device {
    child: std::process::Child,
    url: String,
    console: std::sync::mpsc::Receiver<String>,
    _state: tempfile::TempDir,
}

impl Drop for Device {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Device {
    /// Waits (at most 20 s) for a console line containing `text`; all the lines seen if none.
    fn console_shows(&self, text: &str) -> Result<(), String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut seen = String::new();
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.console.recv_timeout(left) {
                Ok(line) if line.contains(text) => return Ok(()),
                Ok(line) => seen.push_str(&(line + "\n")),
                Err(_) => break,
            }
        }
        Err(seen)
    }
}

/// `trevm serve` with an open policy and `extra` arguments.
fn serve(extra: &[&str]) -> Device {
    use std::io::{BufRead, BufReader};
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free port")
        .port();
    let state = tempfile::tempdir().expect("state dir");
    let mut child = Command::new(TREVM)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--policy",
        ])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/policies/open.yml"
        ))
        .args(extra)
        .env("TREVM_STATE_DIR", state.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("trevm serve");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut seen = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap_or_default();
        seen.push_str(&line);
        if line.contains("CoAP device on coap://") {
            break;
        }
    }
    assert!(seen.contains("CoAP device on coap://"), "{seen}");
    // Keep reading, so the device never blocks on a full pipe, and pass the lines on.
    let (send, console) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let _ = send.send(line);
        }
    });
    Device {
        child,
        url: format!("coap://127.0.0.1:{port}"),
        console,
        _state: state,
    }
}

/// The documented push command of `made`, to `device`.
fn push(made: &Made, device: &Device) {
    assert!(made.push.contains(" coap://127.0.0.1/"), "{}", made.push);
    let push = made
        .push
        .replace("coap://127.0.0.1", &device.url)
        .replace("trevm push ", "trevm push -q ");
    let o = shell_in(root(), &push);
    assert!(o.status.success(), "{push}: {}", text(&o));
}

#[test]
fn pushed_capsules_answer_and_log_on_a_device() {
    let sandbox = make_named("sandbox", "push-sandbox");
    let persistent = make_named("persistent", "push-persistent");
    let ephemeral = make_named("async", "push-async");
    // The device `trevm new` names for the async world.
    let serve_args = "--grant ephemeral=log,time,rng";
    let said = std::fs::read_to_string(ephemeral.dir.join("README.md")).expect("README");
    assert!(
        said.contains(&format!("trevm serve --policy open.yml {serve_args}`")),
        "{said}"
    );
    let device = serve(&serve_args.split(' ').collect::<Vec<_>>());
    for (made, get, answer) in [
        (
            &sandbox,
            "sandbox/push-sandbox",
            "Hello from push-sandbox!\n",
        ),
        (&persistent, "vm/hello", "Hello from push-persistent!\n"),
    ] {
        push(made, &device);
        let o = trevm_in(root(), &["call", &format!("{}/{get}", device.url)]);
        assert_eq!(String::from_utf8_lossy(&o.stdout), answer, "{}", text(&o));
    }
    push(&ephemeral, &device);
    device
        .console_shows("push-async: Up for ")
        .unwrap_or_else(|seen| panic!("the async capsule did not run to its end: {seen}"));
}

#[test]
fn list_shows_every_world_on_one_line() {
    let o = trevm_in(root(), &["new", "--list"]);
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let worlds = [
        ("sandbox", "example-sandbox-no-bindings"),
        ("persistent", "example-coap-server"),
        ("ephemeral", "example-ephemeral-with-bindings"),
        ("async", "example-async"),
        ("gpio", "example-gpio"),
        ("sensors", "example-sensors"),
        ("udp", "example-udp"),
        ("ble", "example-ble-scanner"),
    ];
    assert_eq!(lines.len(), worlds.len(), "{stdout}");
    for ((name, wit), line) in worlds.iter().zip(&lines) {
        assert!(
            line.starts_with(&format!("{name} ")) && line.contains(wit),
            "{line}"
        );
    }
}

/// Every entry below `dir`, with its contents for files.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.push((path.clone(), None));
            out.extend(snapshot(&path));
        } else {
            out.push((path.clone(), Some(std::fs::read(&path).expect("read"))));
        }
    }
    out.sort();
    out
}

#[test]
fn refusals_write_nothing_and_say_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let taken = dir.path().join("taken");
    std::fs::create_dir_all(taken.join("src")).expect("taken/src");
    std::fs::write(taken.join("Cargo.toml"), "mine\n").expect("write");
    std::fs::write(dir.path().join("a-file"), "mine too\n").expect("write");
    let before = snapshot(dir.path());

    let guest = concat!(env!("CARGO_MANIFEST_DIR"), "/../trevm-guest");
    for (args, says) in [
        (vec!["new", "taken", "--world", "sandbox"], "already exists"),
        (
            vec!["new", "a-file", "--world", "sandbox"],
            "already exists",
        ),
        (
            vec!["new", "1st", "--world", "sandbox"],
            "must start with a letter",
        ),
        (vec!["new", "two words", "--world", "sandbox"], "has ` `"),
        (
            vec!["new", "core", "--world", "sandbox"],
            "standard library",
        ),
        (vec!["new", "fresh", "--world", "nope"], "no world `nope`"),
        (
            vec!["new", "fresh"],
            "--world W, one of sandbox, persistent",
        ),
        (
            vec![
                "new",
                "fresh",
                "--world",
                "sandbox",
                "--trevm-guest",
                "/nonexistent",
            ],
            "is not the trevm-guest crate",
        ),
        (
            vec![
                "new",
                "fresh",
                "--world",
                "persistent",
                "--trevm-guest",
                guest,
                "--list",
            ],
            "cannot be used with",
        ),
    ] {
        let o = trevm_in(dir.path(), &args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        let code = if says == "cannot be used with" { 2 } else { 1 };
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", text(&o));
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(o.stdout.is_empty(), "{args:?}: {}", text(&o));
        assert_eq!(
            snapshot(dir.path()),
            before,
            "{args:?} changed the directory"
        );
    }
    // An unknown world's error lists them all.
    let o = trevm_in(dir.path(), &["new", "fresh", "--world", "nope"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    for world in [
        "sandbox",
        "persistent",
        "ephemeral",
        "async",
        "gpio",
        "sensors",
        "udp",
        "ble",
    ] {
        assert!(stderr.contains(&format!("\n{world} ")), "{world}: {stderr}");
    }
}

#[test]
fn trevm_guest_comes_from_the_option_or_the_environment_as_an_absolute_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let guest = std::fs::canonicalize(concat!(env!("CARGO_MANIFEST_DIR"), "/../trevm-guest"))
        .expect("trevm-guest");
    let o = Command::new(TREVM)
        .args(["new", "from-env", "--world", "async"])
        .env("TREVM_GUEST", &guest)
        .current_dir(dir.path())
        .output()
        .expect("trevm new");
    assert!(o.status.success(), "{}", text(&o));
    let o = Command::new(TREVM)
        .args(["new", "from-env-bad", "--world", "async"])
        .env("TREVM_GUEST", dir.path())
        .current_dir(dir.path())
        .output()
        .expect("trevm new");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("$TREVM_GUEST"), "{}", text(&o));
    let o = trevm_in(
        dir.path(),
        &[
            "new",
            "nested/deeper/from-option",
            "--world",
            "persistent",
            "--trevm-guest",
            guest.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    for krate in ["from-env", "nested/deeper/from-option"] {
        let manifest =
            std::fs::read_to_string(dir.path().join(krate).join("Cargo.toml")).expect("manifest");
        assert!(
            manifest.contains(&format!("trevm-guest = {{ path = \"{}\"", guest.display())),
            "{manifest}"
        );
    }
    let manifest = std::fs::read_to_string(dir.path().join("nested/deeper/from-option/Cargo.toml"))
        .expect("manifest");
    assert!(
        manifest.contains(&format!(
            "trevm-coap = {{ path = \"{}\"",
            guest.with_file_name("trevm-coap").display()
        )),
        "{manifest}"
    );
}
