//! Helpers for `build.rs` files that embed capsules.

use std::path::{Path, PathBuf};

use crate::{BuildError, BuildOptions, Built, build};

/// Builds the payload crate at `payload_dir` for `profile` and writes the capsule to
/// `out_dir/<file_name>`, for use from a build script; re-runs when the payload or the WIT change.
///
/// Prints `cargo:rerun-if-changed` lines for the payload's sources and `wit_dir`. Unless
/// `opts.target_dir` says otherwise, the nested cargo build runs in `payload-target` beside
/// `out` (the build script's `OUT_DIR`): a build script writes nowhere else, and the payload's
/// sources may be read-only (trevm from a registry or a vendored copy).
pub fn build_for_build_script(
    payload_dir: &Path,
    wit_dir: &Path,
    out: &Path,
    opts: &BuildOptions,
) -> Result<Built, BuildError> {
    let in_out_dir;
    let opts = match (&opts.target_dir, out.parent()) {
        (None, Some(out_dir)) => {
            in_out_dir = BuildOptions {
                target_dir: Some(out_dir.join("payload-target")),
                ..opts.clone()
            };
            &in_out_dir
        }
        _ => opts,
    };
    for dir in [payload_dir.join("src"), wit_dir.to_path_buf()] {
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    println!(
        "cargo:rerun-if-changed={}",
        payload_dir.join("Cargo.toml").display()
    );
    let built = build(payload_dir, opts)?;
    std::fs::write(out, &built.capsule).map_err(|source| BuildError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    Ok(built)
}

/// Builds the payload crate at `payload_dir` with [`BuildOptions::for_build_script`] and writes
/// `$OUT_DIR/<name>.cwasm`, `<name>` being the directory's name, for
/// `trevm::include_capsule!(concat!(env!("OUT_DIR"), "/<name>.cwasm"))`. `wit_dir` is the WIT the
/// payload's bindings are generated from (watched for changes).
pub fn embed_payload(payload_dir: &Path, wit_dir: &Path) -> Result<Built, BuildError> {
    let out_dir = std::env::var_os("OUT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let name = payload_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "capsule".into());
    build_for_build_script(
        payload_dir,
        wit_dir,
        &out_dir.join(format!("{name}.cwasm")),
        &BuildOptions::for_build_script(),
    )
}

/// The whole `build.rs` of an application embedding payloads that sit side by side in
/// `payloads_dir`: [`embed_payload`] for each of `names`, failing the build (a build script
/// panics to do so) with the reason.
pub fn embed_payloads_or_fail(payloads_dir: &Path, wit_dir: &Path, names: &[&str]) {
    for name in names {
        if let Err(e) = embed_payload(&payloads_dir.join(name), wit_dir) {
            panic!("building the {name} capsule failed: {e}");
        }
    }
}
