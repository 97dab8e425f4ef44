//! The VM seam holds: outside `crates/trevm` (and the firmware's bare-Wasmtime footprint
//! variants, which exist to measure Wasmtime alone), no source file names a Wasmtime path and no
//! crate depends on Wasmtime, and nothing in the repository opens trevm's escape hatch. The same
//! for the second provider, wasmi, except in `crates/trevm-bench`, whose peer table runs bare
//! wasmi beside trevm to show what the seam costs.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &Path, wanted: &dyn Fn(&Path) -> bool, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name.to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            files(&path, wanted, out);
        } else if wanted(&path) {
            out.push(path);
        }
    }
}

/// Files under the repository's code directories, except trevm itself and the bare variants.
fn outside_trevm(wanted: &dyn Fn(&Path) -> bool) -> Vec<(String, String)> {
    let root = repo();
    let mut found = Vec::new();
    for dir in ["crates", "examples", "payloads", "firmware"] {
        files(&root.join(dir), wanted, &mut found);
    }
    found
        .into_iter()
        .filter_map(|p| {
            let rel = p
                .strip_prefix(&root)
                .ok()?
                .to_string_lossy()
                .replace('\\', "/");
            let exempt = rel.starts_with("crates/trevm/")
                || rel == "firmware/qemu-mps2-an386/src/bare.rs"
                || rel == "firmware/qemu-mps2-an386/Cargo.toml";
            if exempt {
                return None;
            }
            Some((rel, std::fs::read_to_string(&p).ok()?))
        })
        .collect()
}

#[test]
fn no_wasmtime_path_outside_trevm() {
    let sources = outside_trevm(&|p| p.extension().is_some_and(|e| e == "rs"));
    assert!(
        sources
            .iter()
            .any(|(p, _)| p.starts_with("crates/trevm-coap/")),
        "the walk found the other crates' sources"
    );
    let offenders: Vec<&String> = sources
        .iter()
        .filter(|(_, text)| text.contains("wasmtime::") || text.contains("escape_hatch"))
        .map(|(p, _)| p)
        .collect();
    assert!(
        offenders.is_empty(),
        "these files name Wasmtime or trevm's escape hatch: {offenders:?}"
    );
}

/// Whether a manifest line declares a dependency on `krate` (not a feature of that name that
/// forwards to trevm's: `wasmtime = ["trevm/wasmtime"]`).
fn depends_on(line: &str, krate: &str) -> bool {
    let l = line.trim_start();
    let Some(rest) = l.strip_prefix(krate) else {
        return false;
    };
    let Some(value) = rest.trim_start().strip_prefix('=') else {
        return false;
    };
    !value.trim_start().starts_with('[')
}

#[test]
fn no_crate_but_trevm_depends_on_wasmtime() {
    let manifests = outside_trevm(&|p| p.file_name().is_some_and(|n| n == "Cargo.toml"));
    assert!(manifests.len() > 5, "found {} manifests", manifests.len());
    let offenders: Vec<&String> = manifests
        .iter()
        .filter(|(_, text)| {
            text.lines()
                .any(|l| depends_on(l, "wasmtime") || l.contains("escape-hatch"))
        })
        .map(|(p, _)| p)
        .collect();
    assert!(
        offenders.is_empty(),
        "these crates depend on Wasmtime or open trevm's escape hatch: {offenders:?}"
    );
}

#[test]
fn wasmi_stays_inside_trevm_and_the_peer_benchmark() {
    let peer = |p: &str| p.starts_with("crates/trevm-bench/");
    let sources = outside_trevm(&|p| p.extension().is_some_and(|e| e == "rs"));
    let offenders: Vec<&String> = sources
        .iter()
        .filter(|(p, text)| !peer(p) && text.contains("wasmi::"))
        .map(|(p, _)| p)
        .collect();
    assert!(
        offenders.is_empty(),
        "these files name wasmi: {offenders:?}"
    );
    let manifests = outside_trevm(&|p| p.file_name().is_some_and(|n| n == "Cargo.toml"));
    let offenders: Vec<&String> = manifests
        .iter()
        .filter(|(p, text)| {
            !peer(p)
                && text
                    .lines()
                    .any(|l| depends_on(l, "wasmi") || depends_on(l, "wasmi_core"))
        })
        .map(|(p, _)| p)
        .collect();
    assert!(
        offenders.is_empty(),
        "these crates depend on wasmi: {offenders:?}"
    );
    // The check sees a real dependency line, and not a forwarding feature.
    assert!(depends_on("wasmi = { workspace = true }", "wasmi"));
    assert!(!depends_on("wasmi = [\"trevm/wasmi\"]", "wasmi"));
}
