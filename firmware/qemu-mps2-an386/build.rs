//! Builds the capsules the firmware embeds from payloads/, for pulley32 (this is a 32-bit target),
//! and puts memory.x where cortex-m-rt's linker script finds it.

use std::path::{Path, PathBuf};

fn main() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = here.join("../..");
    let payloads: &[&str] = if std::env::var_os("CARGO_FEATURE_RUNTIME").is_some() {
        &["fibonacci", "async-bindings", "gpio", "bench-calls"]
    } else if std::env::var_os("CARGO_FEATURE_BARE_SYNC").is_some() {
        &["fibonacci"]
    } else {
        &[]
    };
    for name in payloads {
        if let Err(e) = trevm_build::embed_payload(&root, name) {
            panic!("building the {name} capsule failed: {e}");
        }
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::copy(here.join("memory.x"), out.join("memory.x")).expect("copy memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    // cortex-m-rt's linker script (here rather than in .cargo/config.toml, so RUSTFLAGS set by
    // report.sh do not replace it).
    println!("cargo:rustc-link-arg=-Tlink.x");
    println!("cargo:rerun-if-changed=memory.x");
}
