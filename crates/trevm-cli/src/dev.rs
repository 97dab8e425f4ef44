//! `trevm dev PAYLOAD coap://DEVICE/SLOT/NAME`: build, sign and push the payload (built as
//! `trevm push DIR` builds it: the same build options from the same flags, and the same upload,
//! [`coap_cmds::push`]), stream the device's logs, and build and push again whenever its sources
//! change.
//!
//! Threads: one streams the device's `/logs` ([`crate::logs::stream`], until the program ends;
//! a device without `/logs` says so once and the rest goes on), the main thread watches and
//! pushes. The payload's sources (`src/`, `wit/`, `Cargo.toml`, `build.rs`) are watched with
//! `notify-debouncer-mini` (inotify/FSEvents/… behind one API, events debounced over 300 ms):
//! the maintained crate instead of polling file times by hand. Each cycle prints one line on
//! stdout: `built NAME (N bytes) in X s` then `pushed to URL (2.04 Changed)`, or
//! `build failed: …` (cargo's own output above it, on stderr) — then nothing is pushed and the
//! device keeps the last good capsule. With `--call`, each push is followed by one GET of the
//! capsule (for a sandbox slot: runs it, so its log lines show) and `called: <answer>`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use notify_debouncer_mini::notify::RecursiveMode;
use trevm_cli::coap_client::{self, Url};

use crate::args::{CompileArgs, SecurityArgs};
use crate::{coap_cmds, logs, outln};

#[derive(Args)]
pub(crate) struct DevArgs {
    /// The payload crate (its directory).
    pub(crate) payload: PathBuf,
    /// Where to push it, e.g. coap://127.0.0.1:5683/sandbox/hello.
    pub(crate) url: String,
    /// Block size for the upload: 16 to 1024 bytes (at most 512 with --credentials).
    #[arg(long, default_value_t = 1024)]
    pub(crate) block: usize,
    /// After each push, GET the capsule once (in a sandbox slot: runs it) and print the answer.
    #[arg(long)]
    pub(crate) call: bool,
    /// Do not stream the device's logs.
    #[arg(long)]
    pub(crate) no_logs: bool,
    /// Cargo's target directory for the payload's build (default: the payload's `target/`).
    #[arg(long, value_name = "DIR")]
    pub(crate) target_dir: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) security: SecurityArgs,
    #[command(flatten)]
    pub(crate) compile: CompileArgs,
}

/// How long the sources must be quiet before a rebuild.
const DEBOUNCE: Duration = Duration::from_millis(300);

pub(crate) fn cmd_dev(args: DevArgs) -> Result<ExitCode> {
    let url = Url::parse(&args.url)?;
    let dir = payload_dir(&args.payload)?;
    // Watch first, so that an edit during the first build is not missed.
    let (tx, rx) = mpsc::channel();
    let mut debouncer = notify_debouncer_mini::new_debouncer(DEBOUNCE, tx)
        .context("cannot watch the payload's sources")?;
    debouncer
        .watcher()
        .watch(&dir, RecursiveMode::NonRecursive)
        .with_context(|| format!("cannot watch {}", dir.display()))?;
    for sub in ["src", "wit"] {
        if dir.join(sub).is_dir() {
            debouncer
                .watcher()
                .watch(&dir.join(sub), RecursiveMode::Recursive)
                .with_context(|| format!("cannot watch {}", dir.join(sub).display()))?;
        }
    }
    if !args.no_logs {
        let device = url.clone();
        let credentials = args.security.credentials.clone();
        std::thread::spawn(move || {
            let mut lines = logs::Lines::new(None, false);
            if let Err(e) = logs::stream(&device, credentials.as_deref(), &mut lines) {
                eprintln!("logs: {e:#}");
            }
        });
    }
    let mut built_from = sources(&dir);
    let mut version = None;
    cycle(&args, &url, &dir, &mut version);
    for events in rx {
        let touched = match events {
            Ok(events) => events.iter().any(|e| is_source(&dir, &e.path)),
            Err(e) => {
                eprintln!("watching {}: {e}", dir.display());
                false
            }
        };
        // The watcher also reports reads (the build's own), so a rebuild needs a source whose
        // size or modification time changed.
        let now = sources(&dir);
        if touched && now != built_from {
            built_from = now;
            cycle(&args, &url, &dir, &mut version);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The payload's source files with their sizes and modification times, in path order.
fn sources(dir: &Path) -> Vec<(PathBuf, u64, Option<std::time::SystemTime>)> {
    fn walk(path: &Path, out: &mut Vec<(PathBuf, u64, Option<std::time::SystemTime>)>) {
        let Ok(meta) = std::fs::metadata(path) else {
            return;
        };
        if meta.is_dir() {
            let Ok(entries) = std::fs::read_dir(path) else {
                return;
            };
            for entry in entries.flatten() {
                walk(&entry.path(), out);
            }
        } else {
            out.push((path.to_path_buf(), meta.len(), meta.modified().ok()));
        }
    }
    let mut out = Vec::new();
    for name in ["src", "wit", "Cargo.toml", "build.rs"] {
        walk(&dir.join(name), &mut out);
    }
    out.sort();
    out
}

/// The payload's directory (given as it or its Cargo.toml), absolute.
fn payload_dir(payload: &Path) -> Result<PathBuf> {
    let dir = if payload.file_name().is_some_and(|n| n == "Cargo.toml") {
        payload.parent().unwrap_or(Path::new("."))
    } else {
        payload
    };
    let dir = std::fs::canonicalize(dir)
        .with_context(|| format!("no payload crate at {}", payload.display()))?;
    if !dir.join("Cargo.toml").is_file() {
        anyhow::bail!("{} has no Cargo.toml: not a payload crate", dir.display());
    }
    Ok(dir)
}

/// Whether a change at `path` is one of the payload's sources.
fn is_source(dir: &Path, path: &Path) -> bool {
    let Ok(rel) = path.strip_prefix(dir) else {
        return false;
    };
    let mut parts = rel.components();
    match parts.next().and_then(|c| c.as_os_str().to_str()) {
        Some("src" | "wit") => true,
        Some("Cargo.toml" | "build.rs") => parts.next().is_none(),
        _ => false,
    }
}

/// One build and push (and call), each step one line on stdout. `version`: the anti-rollback
/// version of the last build, which the next one exceeds (the default, the time in seconds,
/// does not when two builds fall into the same second; the device refuses a capsule of the
/// installed version with other contents).
fn cycle(args: &DevArgs, url: &Url, dir: &Path, version: &mut Option<u64>) {
    let started = Instant::now();
    // `trevm push DIR`'s build: the same options from the same flags, signed the same way.
    let built = args
        .compile
        .options(trevm::Target::pulley_for_this_machine(), None)
        .and_then(|mut opts| {
            opts.target_dir = args.target_dir.clone();
            let wanted = opts.version.unwrap_or_else(trevm_sign::default_version);
            opts.version = Some(version.map_or(wanted, |last| wanted.max(last + 1)));
            *version = opts.version;
            trevm_build::build(dir, &opts).map_err(anyhow::Error::from)
        });
    let built = match built {
        Ok(built) => built,
        Err(e) => {
            outln!("build failed: {e:#}");
            return;
        }
    };
    outln!(
        "built {} ({} bytes) in {:.1} s",
        built.name,
        built.capsule.len(),
        started.elapsed().as_secs_f64()
    );
    let capsule = built.capsule;
    let credentials = args.security.credentials.as_deref();
    match coap_cmds::push(url.clone(), credentials, capsule, args.block) {
        Ok(reply) if reply.is_success() => {
            outln!("pushed to {} ({})", args.url, reply.describe())
        }
        Ok(reply) => {
            outln!("push refused by {}: {}", args.url, reply.describe());
            return;
        }
        Err(e) => {
            outln!("push failed: {e:#}");
            return;
        }
    }
    if args.call {
        let called = coap_client::Client::connect(url.clone(), credentials).and_then(|mut c| {
            c.request(trevm_coap::message::code::GET, Vec::new(), 1024, |_, _| {})
        });
        match called {
            Ok(reply) if reply.is_success() => {
                outln!(
                    "called: {}",
                    String::from_utf8_lossy(&reply.payload).trim_end()
                )
            }
            Ok(reply) => outln!("call answered {}", reply.describe()),
            Err(e) => outln!("call failed: {e:#}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::is_source;

    #[test]
    fn only_the_payload_s_sources_are_watched_for() {
        let dir = Path::new("/p");
        for yes in [
            "/p/src/lib.rs",
            "/p/src/a/b.rs",
            "/p/wit/w.wit",
            "/p/Cargo.toml",
            "/p/build.rs",
        ] {
            assert!(is_source(dir, Path::new(yes)), "{yes}");
        }
        for no in [
            "/p/target/x",
            "/p/Cargo.lock",
            "/p/README.md",
            "/q/src/lib.rs",
            "/p/Cargo.toml/x",
        ] {
            assert!(!is_source(dir, Path::new(no)), "{no}");
        }
    }
}
