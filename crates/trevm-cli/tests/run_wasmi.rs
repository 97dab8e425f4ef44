//! `trevm run` and `trevm inspect` with plain-wasm capsules (the wasmi provider): the same calls
//! and answers as with Pulley capsules, fuel in wasmi's units, and the exports a manifest states.

use std::path::PathBuf;
use std::process::{Command, Output};

use trevm_testkit::output_text as text;

fn trevm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trevm"))
        .args(args)
        .output()
        .expect("run trevm")
}

fn payload(name: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../payloads")
        .join(name);
    dir.to_str().unwrap().to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

#[test]
fn run_vm_wasmi_invokes_fibonacci_like_pulley() {
    let fib = payload("fibonacci");
    for vm in ["wasmi", "wasmtime"] {
        let o = trevm(&["run", "-q", &fib, "--vm", vm, "--invoke", "fibonacci(20)"]);
        assert!(o.status.success(), "{vm}: {}", text(&o));
        assert_eq!(stdout(&o), "6765", "{vm}");
    }
    // The sandbox's default call, `run()`, too.
    let o = trevm(&["run", "-q", &payload("sandbox"), "--vm", "wasmi"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(stdout(&o), "\"Hello from the sandbox!\"");
}

#[test]
fn run_vm_wasmi_fuel_is_counted_in_wasmi_units() {
    let fib = payload("fibonacci");
    let run = |fuel: &str| {
        trevm(&[
            "run",
            "-q",
            &fib,
            "--vm",
            "wasmi",
            "--fuel",
            fuel,
            "--invoke",
            "fibonacci(25)",
        ])
    };
    // fibonacci(25) burns a few million units (about one per wasm instruction).
    let o = run("100000000");
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(stdout(&o), "75025");
    let o = run("10000");
    assert!(!o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("ran out of fuel"), "{t}");
    assert!(!t.contains("panicked"), "{t}");
}

#[test]
fn inspect_shows_a_wasm_capsules_exports() {
    let dir = tempfile::tempdir().unwrap();
    let fib = payload("fibonacci");
    let signed = dir.path().join("fib.cwasm");
    let unsigned = dir.path().join("fib.unsigned.cwasm");
    for (out, extra) in [(&signed, None), (&unsigned, Some("--unsigned"))] {
        let mut args = vec![
            "build",
            "-q",
            "--vm",
            "wasmi",
            &fib,
            "-o",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        let o = trevm(&args);
        assert!(o.status.success(), "{}", text(&o));
    }

    // Signed by the development key: loaded, and its exports read from the checked manifest.
    let o = trevm(&["inspect", signed.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let t = stdout(&o);
    assert!(t.contains("verified  yes"), "{t}");
    assert!(t.contains("exports:\n  fibonacci(n: u32) -> u32"), "{t}");

    // Unsigned: not loaded, but what its manifest states is shown, marked as such.
    let o = trevm(&["inspect", unsigned.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let t = stdout(&o);
    assert!(t.contains("verified  no"), "{t}");
    assert!(
        t.contains(
            "exports (as the manifest states them, not checked against the code):\n  \
             fibonacci(n: u32) -> u32"
        ),
        "{t}"
    );
}
