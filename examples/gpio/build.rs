//! Builds the capsule(s) this example runs from payloads/, into `$OUT_DIR`.

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    trevm_build::embed_payloads_or_fail(&root.join("payloads"), &root.join("wit"), &["gpio"]);
}
