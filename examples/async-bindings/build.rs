//! Builds payloads/async-bindings from source into `$OUT_DIR/async-bindings.cwasm`, for the pointer width of the
//! target (pulley64 on the native board).

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    if let Err(e) =
        trevm_build::embed_payload(&root.join("payloads/async-bindings"), &root.join("wit"))
    {
        // A build script reports failure by panicking; the message is the build error.
        panic!("building the async-bindings capsule failed: {e}");
    }
}
