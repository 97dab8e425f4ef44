//! Building payloads into capsules for the examples' tests, included by each with `#[path]`
//! (`trevm-testkit` cannot depend on `trevm-build`: trevm-build's own tests use the testkit).
#![allow(dead_code)] // each test uses what it needs

use std::path::{Path, PathBuf};

/// `payloads/<name>` built the way `trevm build` builds it (the linear memory its `Cargo.toml`
/// asks for, signed with the development key), without cargo's progress output.
pub fn capsule(name: &str) -> Vec<u8> {
    let payload = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../payloads")
        .join(name);
    let opts = trevm_build::BuildOptions {
        quiet: true,
        ..Default::default()
    };
    trevm_build::build(&payload, &opts)
        .unwrap_or_else(|e| panic!("building {name}: {e}"))
        .capsule
}

/// [`capsule`] written to `dir/<name>.cwasm`, for clients that upload a file.
pub fn file(name: &str, dir: &Path) -> PathBuf {
    let path = dir.join(format!("{name}.cwasm"));
    std::fs::write(&path, capsule(name)).expect("write the capsule");
    path
}
