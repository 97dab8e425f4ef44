//! Builds payloads/fibonacci from source twice: `$OUT_DIR/fibonacci.cwasm`, a Pulley component
//! for the pointer width of the target (pulley64 on the native board), and
//! `$OUT_DIR/fibonacci-wasmi.capsule`, its plain core module for the wasmi provider.

use trevm_build::{BuildOptions, EngineProfile, Preemption};

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (payload, wit) = (root.join("payloads/fibonacci"), root.join("wit"));
    if let Err(e) = trevm_build::embed_payload(&payload, &wit) {
        // A build script reports failure by panicking; the message is the build error.
        panic!("building the fibonacci capsule failed: {e}");
    }
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let wasmi = BuildOptions {
        profile: EngineProfile::wasmi(Preemption::Fuel),
        ..BuildOptions::for_build_script()
    };
    if let Err(e) = trevm_build::build_for_build_script(
        &payload,
        &wit,
        &out.join("fibonacci-wasmi.capsule"),
        &wasmi,
    ) {
        panic!("building the fibonacci capsule for wasmi failed: {e}");
    }
}
