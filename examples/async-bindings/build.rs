//! Builds payloads/async-bindings from source into a capsule for this machine (pulley64 on 64-bit hosts).

use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("async-bindings.cwasm");
    let opts = trevm_build::BuildOptions::for_build_script();
    if let Err(e) = trevm_build::build_for_build_script(
        &root.join("payloads/async-bindings"),
        &root.join("wit"),
        &out,
        &opts,
    ) {
        // A build script reports failure by panicking; the message is the build error.
        panic!("building the async-bindings capsule failed: {e}");
    }
}
