//! `trevm dev` against `trevm serve`: a scratch sandbox payload that logs what `run()` returns
//! is built, signed and pushed, called, and its log line streamed from the device's `/logs`; an
//! edit of its source is rebuilt and pushed again (the new text answered and logged); a broken
//! source says "build failed" and the device keeps the last good capsule. The
//! payload builds in `payloads/target` (its dependencies are built there already). Every wait
//! is for a line of output, with a deadline.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use trevm_testkit::{Running, output_text as text, serve_open};

const TREVM: &str = env!("CARGO_BIN_EXE_trevm");
/// A payload build (the first may build the scratch crate's dependencies) and its push.
const BUILDS_WITHIN: Duration = Duration::from_secs(300);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The capsule's source: `run()` logs `greeting` and returns it.
fn lib_rs(greeting: &str) -> String {
    format!(
        "#![no_std]\nextern crate alloc;\nuse trevm_guest as _;\n\
         wit_bindgen::generate!({{ world: \"dev-sandbox\", path: \"wit\", generate_all }});\n\
         struct Capsule;\n\
         impl Guest for Capsule {{ fn run() -> alloc::string::String {{\n\
             ariel::wasm_bindings::log_api::info({greeting:?});\n\
             alloc::string::String::from({greeting:?}) }} }}\n\
         export!(Capsule);\n"
    )
}

/// The sandbox payload as its own crate in `dir` (absolute paths to trevm-guest and wit/, the
/// payloads' Cargo.lock so that the same dependency versions are used).
fn scratch_sandbox(dir: &Path) -> PathBuf {
    let krate = dir.join("devcap");
    std::fs::create_dir_all(krate.join("src")).unwrap();
    let guest = root().join("crates/trevm-guest");
    std::fs::write(
        krate.join("Cargo.toml"),
        format!(
            "[package]\nname = \"trevm-dev-test-capsule\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
             [lib]\ncrate-type = [\"cdylib\"]\n\n\
             [dependencies]\ntrevm-guest = {{ path = {:?}, features = [\"heap-4k\"] }}\n\
             wit-bindgen = {{ version = \"0.61\", default-features = false, features = [\"macros\"] }}\n\n\
             [package.metadata.trevm]\ninitial-memory = 10240\nstack-size = 4096\n\n[workspace]\n",
            guest.to_str().unwrap()
        ),
    )
    .unwrap();
    std::fs::copy(root().join("payloads/Cargo.lock"), krate.join("Cargo.lock")).unwrap();
    // A sandbox world that may log: `run()` as in example-sandbox-no-bindings, and log-api.
    std::fs::create_dir_all(krate.join("wit/deps/ariel")).unwrap();
    std::fs::copy(
        root().join("wit/deps/ariel/log.wit"),
        krate.join("wit/deps/ariel/log.wit"),
    )
    .unwrap();
    std::fs::write(
        krate.join("wit/dev.wit"),
        "package example:dev;\nworld dev-sandbox {\n    import ariel:wasm-bindings/log-api@0.0.1;\n    \
         export run: func() -> string;\n}\n",
    )
    .unwrap();
    std::fs::write(krate.join("src/lib.rs"), lib_rs("first version")).unwrap();
    krate
}

/// Waits for a line with `needle`, unless one came already (the logs thread and the main thread
/// print in either order).
fn seen_or_wait(r: &mut Running, needle: &str) {
    if !r.lines().iter().any(|l| l.contains(needle)) {
        r.wait_for(needle, BUILDS_WITHIN).unwrap();
    }
}

fn call(url: &str) -> String {
    let o = trevm_testkit::run_bounded(TREVM, &["call", url], &root(), Duration::from_secs(60));
    text(&o)
}

#[test]
fn dev_pushes_rebuilds_on_a_change_and_keeps_the_last_good_capsule_on_a_build_error() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let krate = scratch_sandbox(tmp.path());
    let (_device, addr) = serve_open(TREVM, &["--grant", "sandbox=log"]);
    let url = format!("coap://{addr}/sandbox/x");
    let target = root().join("payloads/target");
    let mut dev = Running::start(
        TREVM,
        &[
            "dev",
            krate.to_str().unwrap(),
            &url,
            "--call",
            "--target-dir",
            target.to_str().unwrap(),
        ],
    )
    .unwrap();
    dev.wait_for("built trevm-dev-test-capsule (", BUILDS_WITHIN)
        .unwrap();
    dev.wait_for(&format!("pushed to {url} (2."), BUILDS_WITHIN)
        .unwrap();
    seen_or_wait(&mut dev, "called: first version");
    // run() logged it: the device's /logs, streamed by trevm dev.
    seen_or_wait(&mut dev, "] x: first version");
    let first = started.elapsed();

    std::fs::write(krate.join("src/lib.rs"), lib_rs("second version")).unwrap();
    seen_or_wait(&mut dev, "called: second version");
    seen_or_wait(&mut dev, "] x: second version");
    let pushes = dev
        .lines()
        .iter()
        .filter(|l| l.starts_with("pushed to "))
        .count();
    assert_eq!(pushes, 2, "{}", dev.output());

    std::fs::write(krate.join("src/lib.rs"), "this is not Rust").unwrap();
    dev.wait_for("build failed: ", BUILDS_WITHIN).unwrap();
    // Nothing but the two edits made it build and push (not the build's own reads of the sources).
    let cycles = dev
        .lines()
        .iter()
        .filter(|l| l.starts_with("built "))
        .count();
    assert_eq!(cycles, 2, "{}", dev.output());
    assert!(
        call(&url).contains("second version"),
        "the device keeps the last good capsule"
    );
    assert!(dev.is_running(), "a build error does not end trevm dev");
    eprintln!(
        "trevm dev test: first build and push {:.1} s, whole test {:.1} s",
        first.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
