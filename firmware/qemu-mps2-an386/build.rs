//! Builds the capsules the firmware embeds from payloads/, for pulley32 (this is a 32-bit target)
//! and, with feature `wasmi`, fibonacci and bench-work as plain wasm too, and puts memory.x (the memory layout: memory-net.x for feature `net`, else memory-mps2.x)
//! and, for `net`, device.x where cortex-m-rt's linker script finds them. (No file in this
//! directory may be called memory.x: the linker looks in its working directory, this one, first.)

use std::path::{Path, PathBuf};

fn main() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    // report.sh's nightly variant runs `cargo +nightly build` but has the capsules built with the
    // toolchain named here (stable), so that every variant embeds the same capsules.
    println!("cargo:rerun-if-env-changed=TREVM_CAPSULE_TOOLCHAIN");
    if let Some(toolchain) = std::env::var_os("TREVM_CAPSULE_TOOLCHAIN") {
        // SAFETY: this build script has one thread; nothing reads the environment concurrently.
        // `cargo` and `rustc` are then rustup's proxies, which obey RUSTUP_TOOLCHAIN.
        unsafe {
            std::env::set_var("RUSTUP_TOOLCHAIN", toolchain);
            std::env::set_var("CARGO", "cargo");
            std::env::set_var("RUSTC", "rustc");
        }
    }
    let root = here.join("../..");
    let net = std::env::var_os("CARGO_FEATURE_NET").is_some();
    // The network variant serves only the sandbox (uploaded capsules): no demo capsules.
    let payloads: &[&str] = if net {
        &[]
    } else if std::env::var_os("CARGO_FEATURE_RUNTIME").is_some() {
        &[
            "fibonacci",
            "async-bindings",
            "gpio",
            "bench-calls",
            "bench-work",
        ]
    } else if std::env::var_os("CARGO_FEATURE_BARE_SYNC").is_some() {
        &["fibonacci"]
    } else {
        &[]
    };
    for name in payloads {
        if let Err(e) =
            trevm_build::embed_payload(&root.join("payloads").join(name), &root.join("wit"))
        {
            panic!("building the {name} capsule failed: {e}");
        }
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    if std::env::var_os("CARGO_FEATURE_WASMI").is_some() && !net {
        for name in ["fibonacci", "bench-work"] {
            wasm_capsule(&root, name, &out);
        }
    }
    if std::env::var_os("CARGO_FEATURE_BARE_CORE").is_some() {
        core_fibonacci(&root, &out);
    }
    let net = std::env::var_os("CARGO_FEATURE_NET").is_some();
    if std::env::var_os("CARGO_FEATURE_SIGNED").is_some() {
        trusted_key(&out);
    }
    if std::env::var_os("CARGO_FEATURE_SIGNED").is_some() && !net {
        signed_capsule(&root, "async-bindings", &out);
    }
    if std::env::var_os("CARGO_FEATURE_COAP").is_some() && !net {
        // What the CoAP demo uploads to its sandbox.
        signed_capsule(&root, "sandbox", &out);
    }
    if net {
        access_policy(here, &out);
    }
    // The linker looks for memory.x in OUT_DIR (below); the layout depends on the variant.
    let layout = if net { "memory-net.x" } else { "memory-mps2.x" };
    std::fs::copy(here.join(layout), out.join("memory.x")).expect("copy the memory layout");
    if net {
        // cortex-m-rt's `device` feature includes device.x: weak aliases for the device's
        // interrupt handlers, as a PAC's device.x has (src/net_vectors.rs defines them).
        std::fs::write(out.join("device.x"), "PROVIDE(LAN9118 = DefaultHandler);\n")
            .expect("write device.x");
    }
    println!("cargo:rustc-link-search={}", out.display());
    // cortex-m-rt's linker script (here rather than in .cargo/config.toml, so RUSTFLAGS set by
    // report.sh do not replace it).
    println!("cargo:rustc-link-arg=-Tlink.x");
    println!("cargo:rerun-if-changed=memory-mps2.x");
    println!("cargo:rerun-if-changed=memory-net.x");
}

/// For trevm's wasmi provider: payload `name` as a plain-wasm capsule (its core module, checked
/// on the device), `<name>.wasm.capsule`.
fn wasm_capsule(root: &Path, name: &str, out: &Path) {
    let opts = trevm_build::BuildOptions {
        profile: trevm_build::EngineProfile::wasmi(trevm_build::Preemption::Fuel),
        ..trevm_build::BuildOptions::for_build_script()
    };
    let payload = root.join("payloads").join(name);
    if let Err(e) = trevm_build::build_for_build_script(
        &payload,
        &root.join("wit"),
        &out.join(format!("{name}.wasm.capsule")),
        &opts,
    ) {
        panic!("building the plain-wasm {name} capsule failed: {e}");
    }
}

/// A capsule the firmware treats as received (as from a flash slot an updater wrote, or over
/// CoAP): payload `name` signed with the development key (`<name>.signed.cwasm`).
fn signed_capsule(root: &Path, name: &str, out: &Path) {
    let opts = trevm_build::BuildOptions {
        signing: trevm_build::Signing::DevKey,
        ..trevm_build::BuildOptions::for_build_script()
    };
    let payload = root.join("payloads").join(name);
    if let Err(e) = trevm_build::build_for_build_script(
        &payload,
        &root.join("wit"),
        &out.join(format!("{name}.signed.cwasm")),
        &opts,
    ) {
        panic!("building the signed {name} capsule failed: {e}");
    }
}

/// The public key the firmware trusts (`trusted-key.bin`, the raw 32 bytes): the development key
/// of whoever builds it, as a developer's own device would.
fn trusted_key(out: &Path) {
    let key = trevm_sign::dev_key().unwrap_or_else(|e| panic!("the development key: {e}"));
    std::fs::write(out.join("trusted-key.bin"), key.key.public_key()).expect("write trusted key");
    println!("cargo:rerun-if-changed={}", key.path.display());
}

/// The network device's access policy, compiled in as Ariel OS compiles its `peers.yml`: the
/// file `TREVM_PEERS` names, else the secure default (unauthenticated clients may only
/// `GET /.well-known/core`), written as Rust source to `policy.rs`.
fn access_policy(here: &Path, out: &Path) {
    println!("cargo:rerun-if-env-changed=TREVM_PEERS");
    let policy = match std::env::var_os("TREVM_PEERS") {
        Some(path) => {
            let path = here.join(path);
            println!("cargo:rerun-if-changed={}", path.display());
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("TREVM_PEERS: cannot read {}: {e}", path.display()));
            trevm_coap::peers_yml::parse_policy(&text)
                .unwrap_or_else(|e| panic!("TREVM_PEERS: {}: {e}", path.display()))
        }
        None => trevm_coap::Policy::default(),
    };
    std::fs::write(
        out.join("policy.rs"),
        trevm_coap::peers_yml::to_rust(&policy),
    )
    .expect("write policy.rs");
}

/// For the like-for-like footprint variant (`bare-core`): fibonacci as a core module (no
/// component model), precompiled for pulley32 without preemption, as Wasmtime's raw `.cwasm`.
fn core_fibonacci(root: &Path, out: &Path) {
    let payload = root.join("payloads/fibonacci");
    println!("cargo:rerun-if-changed={}", payload.join("src").display());
    let opts = trevm_build::BuildOptions::for_build_script();
    let core = trevm_build::build_core_module(&payload, &opts)
        .unwrap_or_else(|e| panic!("building the fibonacci core module failed: {e}"));
    let cwasm = trevm_build::EngineProfile::pulley32(trevm_build::Preemption::None)
        .precompile_core_module(&core)
        .unwrap_or_else(|e| panic!("precompiling the fibonacci core module failed: {e}"));
    std::fs::write(out.join("fibonacci.core.cwasm"), cwasm).expect("write fibonacci.core.cwasm");
}
