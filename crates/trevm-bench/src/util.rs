//! What every section of the benchmark uses: its error type, progress lines, the example
//! capsules built, the machine described, nanoseconds.

use std::path::Path;
use std::time::Duration;

use trevm::{EngineProfile, Target};

use crate::capsules::{self, Example};

/// Any error, as a message.
pub(crate) type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A progress line on stderr.
pub(crate) fn progress(msg: &str) {
    eprintln!("trevm-bench: {msg}");
}

/// Builds every example capsule for every measured profile.
pub(crate) fn build_examples(root: &Path) -> Result<Vec<Example>> {
    let mut out = Vec::new();
    for name in capsules::EXAMPLES {
        progress(&format!(
            "building {name} for {} profiles",
            capsules::PROFILES.len()
        ));
        out.push(
            capsules::build(root, name).map_err(|e| format!("building payloads/{name}: {e}"))?,
        );
    }
    Ok(out)
}

/// CPU, cores and kernel, as the first lines of the report.
pub(crate) fn print_machine() {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    println!(
        "Machine: {model}, {cores} cores available, {} {} (Linux {}). Medians of the printed number of runs.\n",
        std::env::consts::ARCH,
        std::env::consts::OS,
        kernel.trim()
    );
}

/// `Cranelift, fuel`, `pulley64, epoch`.
pub(crate) fn profile_name(p: EngineProfile) -> String {
    match p.target {
        Target::Host => format!("Cranelift, {}", p.preemption),
        t => format!("{t}, {}", p.preemption),
    }
}

/// `d` in nanoseconds.
pub(crate) fn nanos(d: Duration) -> f64 {
    d.as_secs_f64() * 1e9
}
