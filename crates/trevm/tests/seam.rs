//! The VM seam holds: outside `crates/trevm` (and the firmware's bare-Wasmtime footprint
//! variants, which exist to measure Wasmtime alone), no source file names a Wasmtime path and no
//! crate depends on Wasmtime, and nothing in the repository opens trevm's escape hatch.

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

#[test]
fn no_crate_but_trevm_depends_on_wasmtime() {
    let manifests = outside_trevm(&|p| p.file_name().is_some_and(|n| n == "Cargo.toml"));
    assert!(manifests.len() > 5, "found {} manifests", manifests.len());
    let offenders: Vec<&String> = manifests
        .iter()
        .filter(|(_, text)| {
            text.lines().any(|l| {
                let l = l.trim_start();
                l.starts_with("wasmtime ")
                    || l.starts_with("wasmtime=")
                    || l.contains("escape-hatch")
            })
        })
        .map(|(p, _)| p)
        .collect();
    assert!(
        offenders.is_empty(),
        "these crates depend on Wasmtime or open trevm's escape hatch: {offenders:?}"
    );
}
