//! The VM seam holds: outside `crates/trevm` (and the firmware's bare-Wasmtime footprint
//! variants, which exist to measure Wasmtime alone), no source file names a Wasmtime path and no
//! crate depends on Wasmtime, and nothing in the repository opens trevm's escape hatch. The same
//! holds for the second provider, wasmi, except in `crates/trevm-bench`, whose peer table measures
//! bare wasmi beside trevm.

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

/// Whether a manifest has a dependency line on `krate` (`krate = "…"`, `krate = { … }`), not a
/// feature of that name (`wasmi = ["trevm/wasmi"]`, which forwards to trevm's).
fn depends_on(manifest: &str, krate: &str) -> bool {
    manifest.lines().any(|l| {
        let Some(rest) = l.trim_start().strip_prefix(krate) else {
            return false;
        };
        let Some(value) = rest.trim_start().strip_prefix('=') else {
            return false;
        };
        !value.trim_start().starts_with('[')
    })
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

#[test]
fn no_crate_but_trevm_depends_on_wasmtime() {
    let manifests = outside_trevm(&|p| p.file_name().is_some_and(|n| n == "Cargo.toml"));
    assert!(manifests.len() > 5, "found {} manifests", manifests.len());
    let offenders: Vec<&String> = manifests
        .iter()
        .filter(|(_, text)| {
            depends_on(text, "wasmtime") || text.lines().any(|l| l.contains("escape-hatch"))
        })
        .map(|(p, _)| p)
        .collect();
    assert!(
        offenders.is_empty(),
        "these crates depend on Wasmtime or open trevm's escape hatch: {offenders:?}"
    );
}

/// Whether `rel` may name wasmi: trevm itself (excluded by [`outside_trevm`]) and the benchmark
/// crate, which measures bare wasmi as a peer.
fn may_name_wasmi(rel: &str) -> bool {
    rel.starts_with("crates/trevm-bench/")
}

#[test]
fn no_wasmi_path_outside_trevm() {
    let sources = outside_trevm(&|p| p.extension().is_some_and(|e| e == "rs"));
    assert!(
        sources
            .iter()
            .any(|(p, _)| p.starts_with("crates/trevm-slots/")),
        "the walk found the other crates' sources"
    );
    let offenders: Vec<&String> = sources
        .iter()
        .filter(|(p, text)| !may_name_wasmi(p) && text.contains("wasmi::"))
        .map(|(p, _)| p)
        .collect();
    assert!(
        offenders.is_empty(),
        "these files name wasmi: {offenders:?}"
    );
}

#[test]
fn no_crate_but_trevm_and_the_bench_depends_on_wasmi() {
    let manifests = outside_trevm(&|p| p.file_name().is_some_and(|n| n == "Cargo.toml"));
    let depends = |text: &str| depends_on(text, "wasmi");
    assert!(
        manifests
            .iter()
            .any(|(p, text)| p == "crates/trevm-bench/Cargo.toml" && depends(text)),
        "the check recognises the benchmark's wasmi dependency"
    );
    let offenders: Vec<&String> = manifests
        .iter()
        .filter(|(p, text)| !may_name_wasmi(p) && depends(text))
        .map(|(p, _)| p)
        .collect();
    assert!(
        offenders.is_empty(),
        "these crates depend on wasmi: {offenders:?}"
    );
}
