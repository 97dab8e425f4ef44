//! `trevm build --vm wasmi`: a plain-wasm capsule for the wasmi provider, what it says about it,
//! and the flag combinations it refuses.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use trevm::{Capsule, EngineProfile, Preemption};
use trevm_testkit::output_text as text;

fn trevm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trevm"))
        .args(args)
        .output()
        .expect("run trevm")
}

fn fibonacci() -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../payloads/fibonacci");
    dir.to_str().unwrap().to_string()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The exports a capsule's manifest lists, as `trevm run --invoke` prints them.
fn listed_exports(capsule: &Capsule<'_>) -> Vec<String> {
    let (manifest, _) = trevm::trust::claimed_manifest(capsule).unwrap().unwrap();
    manifest.exports.iter().map(ToString::to_string).collect()
}

#[test]
fn build_vm_wasmi_writes_a_plain_wasm_capsule_that_trevm_sign_re_signs_with_its_exports() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fib.cwasm");
    let o = trevm(&[
        "build",
        "-q",
        "--vm",
        "wasmi",
        "--unsigned",
        &fibonacci(),
        "-o",
        path(&out),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("built capsule `fibonacci` for wasm with fuel preemption"),
        "{t}"
    );
    assert!(t.contains("plain module (payload)"), "{t}");
    assert!(!t.contains("precompiled"), "{t}");
    assert!(t.contains("exports   fibonacci(n: u32) -> u32"), "{t}");

    let bytes = std::fs::read(&out).unwrap();
    let capsule = Capsule::from_slice(&bytes).unwrap();
    assert_eq!(capsule.profile(), EngineProfile::wasmi(Preemption::Fuel));
    assert_eq!(
        trevm_build::wasm_kind(capsule.payload()),
        Some(trevm_build::WasmKind::Module)
    );
    let world = b"component-type";
    assert!(!capsule.payload().windows(world.len()).any(|w| w == world));
    assert_eq!(listed_exports(&capsule), ["fibonacci(n: u32) -> u32"]);

    // `trevm sign` keeps the exports the manifest lists.
    let key = trevm_sign::SigningKey::generate();
    let (private, public) = (dir.path().join("k.pem"), dir.path().join("k.pub.pem"));
    key.write_files(&private, &public).unwrap();
    let signed = dir.path().join("fib.signed.cwasm");
    let o = trevm(&[
        "sign",
        path(&out),
        "--key",
        path(&private),
        "--version",
        "42",
        "-o",
        path(&signed),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let bytes = std::fs::read(&signed).unwrap();
    let manifest = trevm_sign::verify(&bytes, &[key.trusted("k")])
        .unwrap()
        .manifest;
    assert_eq!(manifest.version, 42);
    let exports: Vec<String> = manifest.exports.iter().map(ToString::to_string).collect();
    assert_eq!(exports, ["fibonacci(n: u32) -> u32"]);
}

#[test]
fn target_wasm_is_the_wasmi_provider_too() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fib.cwasm");
    let o = trevm(&[
        "build",
        "-q",
        "--target",
        "wasm",
        "--preemption",
        "none",
        "--unsigned",
        &fibonacci(),
        "-o",
        path(&out),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let bytes = std::fs::read(&out).unwrap();
    let capsule = Capsule::from_slice(&bytes).unwrap();
    assert_eq!(capsule.profile(), EngineProfile::wasmi(Preemption::None));
    assert_eq!(listed_exports(&capsule), ["fibonacci(n: u32) -> u32"]);
}

#[test]
fn flags_that_contradict_the_wasmi_provider_get_one_clear_message() {
    let fib = fibonacci();
    for (args, expected) in [
        (
            vec!["--vm", "wasmi", "--target", "pulley32"],
            "--vm wasmi runs plain wasm, not pulley32 code",
        ),
        (
            vec!["--vm", "wasmi", "--preemption", "epoch"],
            "the wasmi provider has no epoch preemption",
        ),
        (
            vec!["--target", "wasm", "--preemption", "epoch"],
            "the wasmi provider has no epoch preemption",
        ),
        (
            vec!["--vm", "wasmtime", "--target", "wasm"],
            "--target wasm is for the wasmi provider",
        ),
        (
            vec!["--vm", "wasmi", "--addrmap"],
            "a wasmi capsule has none",
        ),
        (
            vec!["--vm", "pulley"],
            "invalid value 'pulley' for '--vm <VM>'",
        ),
    ] {
        for command in ["build", "push"] {
            let mut all = vec![command, "-q"];
            all.extend(&args);
            all.push(&fib);
            if command == "push" {
                all.push("coap://127.0.0.1:9/nowhere");
            }
            let o = trevm(&all);
            assert_ne!(o.status.code(), Some(0), "{all:?}");
            let stderr = String::from_utf8_lossy(&o.stderr);
            assert!(stderr.contains(expected), "{all:?}: {stderr}");
            assert!(!stderr.contains("panicked"), "{all:?}: {stderr}");
        }
    }
}
