//! `trevm build`: payload crate → core module → component → precompiled capsule.
//!
//! ```text
//! payload Cargo.toml ──cargo (wasm32v1-none, size profile, --page-size=1)──▶ core .wasm
//!   ──wit-component (in process)──▶ component .wasm
//!   ──Wasmtime/Cranelift with trevm's EngineProfile──▶ .cwasm ──trevm header──▶ capsule
//! ```
//!
//! Every stage can also be entered in the middle: give [`build`] a core module or a component
//! instead of a manifest. The engine settings come from [`trevm::EngineProfile`], the same type the
//! device runtime loads with, so a capsule built here always matches a runtime of the same profile.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub use trevm::{EngineProfile, Preemption, Target};

/// The wasm target payloads are compiled for.
pub const WASM_TARGET: &str = "wasm32v1-none";

/// Everything that can go wrong, each with a message that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The input path does not exist.
    #[error("no such file or directory: {0}")]
    NotFound(PathBuf),
    /// The input is neither a manifest/crate directory nor a `.wasm` file.
    #[error(
        "{0}: expected a payload's Cargo.toml (or its directory), a core .wasm module or a component .wasm"
    )]
    UnknownInput(PathBuf),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// `rustup target add wasm32v1-none` was not run.
    #[error(
        "the Rust target {target} is not installed for {toolchain}: run `rustup {plus}target add {target}`"
    )]
    MissingTarget {
        /// The target.
        target: String,
        /// The toolchain asked for.
        toolchain: String,
        /// `+nightly ` or empty.
        plus: String,
    },
    /// `--nightly` needs the nightly toolchain's rust-src component.
    #[error(
        "--nightly builds core and alloc from source: run `rustup +nightly component add rust-src` (and check `rustup toolchain list` shows a nightly)"
    )]
    MissingRustSrc,
    /// Cargo could not be started.
    #[error("could not run cargo: {0}")]
    CargoSpawn(std::io::Error),
    /// Cargo failed; its output is included.
    #[error("cargo failed to build {manifest}:\n{output}")]
    CargoFailed {
        /// The manifest built.
        manifest: PathBuf,
        /// What cargo printed (errors included).
        output: String,
    },
    /// The payload's data, stack and heap arena do not fit the linear memory it is linked with.
    #[error(
        "{manifest}: the capsule needs {needed} bytes of linear memory (its data, {stack}-byte \
         stack and heap arena) but is linked with {given}: build it with --initial-memory {hint}KiB \
         (or BuildOptions::initial_memory)"
    )]
    MemoryTooSmall {
        /// The manifest built.
        manifest: PathBuf,
        /// Bytes the linker asked for.
        needed: u64,
        /// `--initial-memory` given.
        given: u32,
        /// The shadow stack size in bytes.
        stack: u32,
        /// `needed` rounded up to whole KiB.
        hint: u64,
    },
    /// The crate produced no `.wasm` (not a `cdylib` library crate).
    #[error(
        "{0} produced no .wasm file: a payload must be a library crate with `crate-type = [\"cdylib\"]`"
    )]
    NoWasmArtifact(PathBuf),
    /// wit-component refused the core module.
    #[error("cannot turn the core module into a component: {0:#}")]
    Componentize(String),
    /// Wasmtime refused the component.
    #[error("cannot precompile the component for {profile}: {message}")]
    Precompile {
        /// The profile asked for.
        profile: EngineProfile,
        /// Wasmtime's message.
        message: String,
    },
    /// The capsule could not be encoded.
    #[error("{0}")]
    Capsule(#[from] trevm::CapsuleError),
    /// The capsule could not be signed (key file, manifest).
    #[error("signing the capsule: {0}")]
    Sign(#[from] trevm_sign::SignError),
}

/// Size optimisation for the payload's Rust code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptLevel {
    /// `opt-level = "s"` (default): small, still fast.
    S,
    /// `opt-level = "z"`: smallest.
    Z,
    /// `opt-level = 3`: fastest.
    Speed,
}

impl OptLevel {
    fn cargo_value(self) -> &'static str {
        match self {
            OptLevel::S => "\"s\"",
            OptLevel::Z => "\"z\"",
            OptLevel::Speed => "3",
        }
    }
}

/// How to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Target and preemption of the capsule.
    pub profile: EngineProfile,
    /// Optimisation level of the payload.
    pub opt_level: OptLevel,
    /// Use nightly `-Zbuild-std` with `panic = "immediate-abort"` (smaller; needs the nightly
    /// toolchain with `rust-src`).
    pub nightly: bool,
    /// Initial linear memory in bytes (pages are 1 byte).
    pub initial_memory: u32,
    /// Size of the shadow stack in linear memory, in bytes.
    pub stack_size: u32,
    /// Capsule name (defaults to the crate or file name).
    pub name: Option<String>,
    /// Capture cargo's output instead of letting it through (it is still reported on failure).
    pub quiet: bool,
    /// Cargo target directory (defaults to cargo's choice for the payload's workspace).
    pub target_dir: Option<PathBuf>,
    /// Cargo features of the payload crate to enable.
    pub features: Vec<String>,
    /// Who signs the capsule.
    pub signing: Signing,
    /// Anti-rollback version of the manifest (default: [`trevm_sign::default_version`], the
    /// build time).
    pub version: Option<u64>,
}

/// Who signs a capsule [`build`] makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signing {
    /// Nobody: the capsule carries an unsigned manifest (for [`trevm::include_capsule!`], which
    /// needs no signature, or for signing later with `trevm sign`).
    Unsigned,
    /// The development key ([`trevm_sign::dev_key`]), created on first use.
    DevKey,
    /// The PKCS#8 PEM private key in this file.
    Key(PathBuf),
}

impl BuildOptions {
    /// Options for a build script: the capsule's target follows the pointer width of the crate
    /// being built (`pulley32` for a Cortex-M firmware, `pulley64` for the native board), not of
    /// the machine running the build script. Fuel preemption, quiet cargo.
    pub fn for_build_script() -> Self {
        let target = match std::env::var("CARGO_CFG_TARGET_POINTER_WIDTH").as_deref() {
            Ok("32") => Target::Pulley32,
            Ok("64") => Target::Pulley64,
            _ => Target::pulley_for_this_machine(),
        };
        BuildOptions {
            profile: EngineProfile {
                target,
                preemption: Preemption::Fuel,
            },
            quiet: true,
            signing: Signing::Unsigned,
            ..Default::default()
        }
    }
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            profile: EngineProfile::for_this_machine(),
            opt_level: OptLevel::S,
            nightly: false,
            initial_memory: 32 * 1024,
            stack_size: 8 * 1024,
            name: None,
            quiet: false,
            target_dir: None,
            features: Vec::new(),
            signing: Signing::DevKey,
            version: None,
        }
    }
}

/// One step of the pipeline and the size of what it produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The core module from cargo.
    CoreModule,
    /// The component from wit-component.
    Component,
    /// Wasmtime's precompiled code.
    Precompiled,
    /// The capsule (header + precompiled code).
    Capsule,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::CoreModule => "core module",
            Stage::Component => "component",
            Stage::Precompiled => "precompiled (.cwasm)",
            Stage::Capsule => "capsule",
        })
    }
}

/// The result of [`build`].
#[derive(Debug, Clone)]
pub struct Built {
    /// Capsule name.
    pub name: String,
    /// The capsule bytes, ready for [`trevm::Capsule::from_vec`] or a file.
    pub capsule: Vec<u8>,
    /// The component (useful for inspection).
    pub component: Vec<u8>,
    /// Size of each stage, in order.
    pub stages: Vec<(Stage, usize)>,
    /// Profile used.
    pub profile: EngineProfile,
    /// The component's imports: the grants its manifest lists.
    pub imports: Vec<String>,
    /// The manifest's version.
    pub version: u64,
    /// The signer's key id, if signed.
    pub signer: Option<trevm::trust::KeyId>,
}

impl Built {
    /// A one-line-per-stage size report.
    pub fn size_report(&self) -> String {
        let mut s = String::new();
        for (stage, size) in &self.stages {
            s.push_str(&format!("  {:<22} {:>9} bytes\n", stage.to_string(), size));
        }
        s
    }
}

/// What kind of input a path is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A payload crate's manifest.
    Manifest(PathBuf),
    /// A core WebAssembly module.
    CoreModule(PathBuf),
    /// A WebAssembly component.
    Component(PathBuf),
}

impl Input {
    /// Classifies a path: a directory or `Cargo.toml` is a payload crate; a `.wasm` is a core
    /// module or a component according to its header.
    pub fn detect(path: &Path) -> Result<Input, BuildError> {
        if !path.exists() {
            return Err(BuildError::NotFound(path.to_path_buf()));
        }
        if path.is_dir() {
            let manifest = path.join("Cargo.toml");
            if manifest.is_file() {
                return Ok(Input::Manifest(manifest));
            }
            return Err(BuildError::UnknownInput(path.to_path_buf()));
        }
        if path.file_name().is_some_and(|n| n == "Cargo.toml") {
            return Ok(Input::Manifest(path.to_path_buf()));
        }
        let bytes = read(path)?;
        match wasm_kind(&bytes) {
            Some(WasmKind::Module) => Ok(Input::CoreModule(path.to_path_buf())),
            Some(WasmKind::Component) => Ok(Input::Component(path.to_path_buf())),
            None => Err(BuildError::UnknownInput(path.to_path_buf())),
        }
    }
}

/// Core module or component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasmKind {
    /// Core WebAssembly module.
    Module,
    /// Component-model component.
    Component,
}

/// Tells a core module from a component by the binary header (wasmparser's check).
pub fn wasm_kind(bytes: &[u8]) -> Option<WasmKind> {
    if wasmparser::Parser::is_core_wasm(bytes) {
        Some(WasmKind::Module)
    } else if wasmparser::Parser::is_component(bytes) {
        Some(WasmKind::Component)
    } else {
        None
    }
}

fn read(path: &Path) -> Result<Vec<u8>, BuildError> {
    std::fs::read(path).map_err(|source| BuildError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Builds a capsule from a payload crate, a core module or a component.
pub fn build(input: &Path, opts: &BuildOptions) -> Result<Built, BuildError> {
    let mut stages = Vec::new();
    let (name, component) = match Input::detect(input)? {
        Input::Manifest(manifest) => {
            let (crate_name, wasm_path) = cargo_build(&manifest, opts)?;
            let core = read(&wasm_path)?;
            stages.push((Stage::CoreModule, core.len()));
            (crate_name, componentize(&core)?)
        }
        Input::CoreModule(path) => {
            let core = read(&path)?;
            stages.push((Stage::CoreModule, core.len()));
            (file_stem(&path), componentize(&core)?)
        }
        Input::Component(path) => (file_stem(&path), read(&path)?),
    };
    stages.push((Stage::Component, component.len()));
    let name = opts.name.clone().unwrap_or(name);
    let cwasm = precompile(&component, opts.profile)?;
    stages.push((Stage::Precompiled, cwasm.len()));
    let bare = trevm::capsule::encode(opts.profile, &name, &cwasm)?;
    let imports = component_imports(&component)?;
    let version = opts.version.unwrap_or_else(trevm_sign::default_version);
    let (capsule, signer) = match &opts.signing {
        Signing::Unsigned => (
            trevm_sign::attach_manifest(&bare, version, imports.clone())?,
            None,
        ),
        signing => {
            let key = match signing {
                Signing::Key(path) => trevm_sign::SigningKey::read(path)?,
                _ => trevm_sign::dev_key()?.key,
            };
            let signed = trevm_sign::sign(&bare, &key, Some(version), Some(imports.clone()))?;
            (signed, Some(key.kid()))
        }
    };
    stages.push((Stage::Capsule, capsule.len()));
    Ok(Built {
        name,
        capsule,
        component,
        stages,
        profile: opts.profile,
        imports,
        version,
        signer,
    })
}

/// The names a component imports at its top level (interfaces such as
/// `ariel:wasm-bindings/log-api@0.0.1`, or functions of its world such as `uppercase`): what its
/// manifest grants.
pub fn component_imports(component: &[u8]) -> Result<Vec<String>, BuildError> {
    let mut imports = Vec::new();
    let mut depth = 0usize;
    for payload in wasmparser::Parser::new(0).parse_all(component) {
        let payload =
            payload.map_err(|e| BuildError::Componentize(format!("not a valid component: {e}")))?;
        match payload {
            wasmparser::Payload::ModuleSection { .. }
            | wasmparser::Payload::ComponentSection { .. } => depth += 1,
            wasmparser::Payload::End(_) => depth = depth.saturating_sub(1),
            wasmparser::Payload::ComponentImportSection(reader) if depth == 0 => {
                for import in reader {
                    let import = import.map_err(|e| {
                        BuildError::Componentize(format!("not a valid component: {e}"))
                    })?;
                    imports.push(import.name.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(imports)
}

fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "capsule".into())
}

/// Turns a core module that carries wit-bindgen's component type information into a component.
pub fn componentize(core: &[u8]) -> Result<Vec<u8>, BuildError> {
    // Without wit-bindgen's `component-type` section wit-component would happily produce a
    // component that exports nothing: refuse instead, saying what is missing.
    let mut has_world = false;
    for payload in wasmparser::Parser::new(0).parse_all(core) {
        match payload {
            Ok(wasmparser::Payload::CustomSection(c)) if c.name().starts_with("component-type") => {
                has_world = true;
                break;
            }
            Ok(_) => {}
            Err(e) => {
                return Err(BuildError::Componentize(format!(
                    "not a valid core module: {e}"
                )));
            }
        }
    }
    if !has_world {
        return Err(BuildError::Componentize(
            "the module carries no WIT world (no `component-type` custom section); \
             generate its bindings with `wit_bindgen::generate!` for the world it implements"
                .into(),
        ));
    }
    wit_component::ComponentEncoder::default()
        .module(core)
        .and_then(|e| e.validate(true).encode())
        .map_err(|e| BuildError::Componentize(format!("{e:#}")))
}

/// Precompiles a component with the engine settings of `profile` (Wasmtime's raw `.cwasm`).
pub fn precompile(component: &[u8], profile: EngineProfile) -> Result<Vec<u8>, BuildError> {
    let err = |message: String| BuildError::Precompile { profile, message };
    let config = profile.wasmtime_config().map_err(|e| err(e.to_string()))?;
    let engine = wasmtime::Engine::new(&config).map_err(|e| err(format!("{e:#}")))?;
    engine
        .precompile_component(component)
        .map_err(|e| err(format!("{e:#}")))
}

/// Environment variables of an enclosing cargo (e.g. when called from a build script) that must
/// not leak into the payload's build, which is for another target with other flags.
const LEAKY_ENV: &[&str] = &[
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_BUILD_TARGET",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_MAKEFLAGS",
    "CARGO_PRIMARY_PACKAGE",
    "RUSTDOCFLAGS",
    "CARGO_ENCODED_RUSTDOCFLAGS",
];

fn cargo_command(opts: &BuildOptions) -> Command {
    let mut cmd = if opts.nightly {
        let mut c = Command::new("rustup");
        c.args(["run", "nightly", "cargo"]);
        c
    } else {
        // Inside a build script `CARGO` is the real cargo binary of the running toolchain.
        Command::new(std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")))
    };
    for var in LEAKY_ENV {
        cmd.env_remove(var);
    }
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy();
        if k.starts_with("CARGO_PROFILE_") || k.starts_with("CARGO_TARGET_") {
            cmd.env_remove(&key);
        }
    }
    cmd
}

fn check_target_installed(opts: &BuildOptions) -> Result<(), BuildError> {
    let toolchain = if opts.nightly {
        "nightly"
    } else {
        "the default toolchain"
    };
    let plus = if opts.nightly { "+nightly " } else { "" };
    let mut cmd = if opts.nightly {
        let mut c = Command::new("rustup");
        c.args(["run", "nightly", "rustc"]);
        c
    } else {
        Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| OsString::from("rustc")))
    };
    let out = cmd
        .args(["--print", "target-libdir", "--target", WASM_TARGET])
        .stderr(Stdio::null())
        .output()
        .map_err(BuildError::CargoSpawn)?;
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let core_present = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("libcore-"))
        })
        .unwrap_or(false);
    if opts.nightly {
        // -Zbuild-std compiles core and alloc from source instead of using the target's prebuilt
        // ones: that needs the rust-src component.
        let sysroot = Command::new("rustup")
            .args(["run", "nightly", "rustc", "--print", "sysroot"])
            .stderr(Stdio::null())
            .output()
            .map_err(BuildError::CargoSpawn)?;
        let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
        if !sysroot.join("lib/rustlib/src/rust/library").is_dir() {
            return Err(BuildError::MissingRustSrc);
        }
        return Ok(());
    }
    if out.status.success() && core_present {
        Ok(())
    } else {
        Err(BuildError::MissingTarget {
            target: WASM_TARGET.into(),
            toolchain: toolchain.into(),
            plus: plus.into(),
        })
    }
}

/// Runs cargo for the payload and returns the crate name and the produced `.wasm`.
fn cargo_build(manifest: &Path, opts: &BuildOptions) -> Result<(String, PathBuf), BuildError> {
    check_target_installed(opts)?;
    let mut cmd = cargo_command(opts);
    // Cargo reads `.cargo/config.toml` from the current directory upwards: run it from the
    // payload's directory so the payload's config applies, not the caller's (a firmware's target
    // directory or runner would be wrong here).
    let manifest = &std::fs::canonicalize(manifest).unwrap_or_else(|_| manifest.to_path_buf());
    if let Some(dir) = manifest.parent() {
        cmd.current_dir(dir);
    }
    cmd.arg("build")
        .arg("--release")
        .arg("--lib")
        .arg("--manifest-path")
        .arg(manifest)
        .args(["--target", WASM_TARGET])
        .arg("--message-format=json-render-diagnostics");
    if let Some(dir) = &opts.target_dir {
        cmd.arg("--target-dir").arg(dir);
    }
    if !opts.features.is_empty() {
        cmd.arg("--features").arg(opts.features.join(","));
    }
    let profile_settings = [
        format!("profile.release.opt-level={}", opts.opt_level.cargo_value()),
        "profile.release.lto=\"fat\"".into(),
        "profile.release.codegen-units=1".into(),
        "profile.release.strip=true".into(),
        "profile.release.debug=false".into(),
        "profile.release.incremental=false".into(),
        "profile.release.panic=\"abort\"".into(),
    ];
    for s in &profile_settings {
        cmd.arg("--config").arg(s);
    }
    let mut rustflags = vec![
        "-Clink-arg=--page-size=1".to_string(),
        format!("-Clink-arg=--initial-memory={}", opts.initial_memory),
        format!("-Clink-arg=-zstack-size={}", opts.stack_size),
    ];
    if opts.nightly {
        cmd.args([
            "-Zbuild-std=core,alloc",
            "-Zbuild-std-features=optimize_for_size",
        ]);
        rustflags.push("-Zunstable-options".into());
        rustflags.push("-Cpanic=immediate-abort".into());
    }
    cmd.env("CARGO_ENCODED_RUSTFLAGS", rustflags.join("\x1f"));
    cmd.stdout(Stdio::piped());
    cmd.stderr(if opts.quiet {
        Stdio::piped()
    } else {
        Stdio::inherit()
    });
    let out = cmd.output().map_err(BuildError::CargoSpawn)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let mut output = String::from_utf8_lossy(&out.stderr).into_owned();
        for line in stdout.lines() {
            if let Ok(msg) = serde_json::from_str::<serde_json::Value>(line)
                && let Some(rendered) = msg.pointer("/message/rendered").and_then(|v| v.as_str())
            {
                output.push_str(rendered);
            }
        }
        if output.trim().is_empty() {
            output = "(cargo printed nothing; see above)".into();
        }
        if let Some(needed) = memory_needed(&output) {
            return Err(BuildError::MemoryTooSmall {
                manifest: manifest.to_path_buf(),
                needed,
                given: opts.initial_memory,
                stack: opts.stack_size,
                hint: needed.div_ceil(1024),
            });
        }
        return Err(BuildError::CargoFailed {
            manifest: manifest.to_path_buf(),
            output,
        });
    }
    // The last compiler-artifact that is a cdylib of the manifest's package.
    let manifest_abs = std::fs::canonicalize(manifest).unwrap_or_else(|_| manifest.to_path_buf());
    let mut found = None;
    for line in stdout.lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let is_ours = msg["manifest_path"]
            .as_str()
            .is_some_and(|p| Path::new(p) == manifest_abs);
        let is_cdylib = msg["target"]["crate_types"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == "cdylib"));
        if !(is_ours && is_cdylib) {
            continue;
        }
        let name = msg["target"]["name"]
            .as_str()
            .unwrap_or("capsule")
            .replace('_', "-");
        if let Some(files) = msg["filenames"].as_array() {
            for f in files {
                if let Some(f) = f.as_str()
                    && f.ends_with(".wasm")
                {
                    found = Some((name.clone(), PathBuf::from(f)));
                }
            }
        }
    }
    found.ok_or_else(|| BuildError::NoWasmArtifact(manifest.to_path_buf()))
}

/// Builds the payload crate at `payload_dir` for `profile` and writes the capsule to
/// `out_dir/<file_name>`, for use from a build script; re-runs when the payload or the WIT change.
///
/// Prints `cargo:rerun-if-changed` lines for the payload's sources and `wit_dir`.
pub fn build_for_build_script(
    payload_dir: &Path,
    wit_dir: &Path,
    out: &Path,
    opts: &BuildOptions,
) -> Result<Built, BuildError> {
    for dir in [payload_dir.join("src"), wit_dir.to_path_buf()] {
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    println!(
        "cargo:rerun-if-changed={}",
        payload_dir.join("Cargo.toml").display()
    );
    let built = build(payload_dir, opts)?;
    std::fs::write(out, &built.capsule).map_err(|source| BuildError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    Ok(built)
}

/// For a build script inside this repository's layout: builds `payloads/<name>` (relative to
/// `repo_root`) with [`BuildOptions::for_build_script`] and writes `$OUT_DIR/<name>.cwasm`, for
/// `trevm::include_capsule!(concat!(env!("OUT_DIR"), "/<name>.cwasm"))`.
pub fn embed_payload(repo_root: &Path, name: &str) -> Result<Built, BuildError> {
    let out_dir = std::env::var_os("OUT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    build_for_build_script(
        &repo_root.join("payloads").join(name),
        &repo_root.join("wit"),
        &out_dir.join(format!("{name}.cwasm")),
        &BuildOptions::for_build_script(),
    )
}

/// wasm-ld's "initial memory too small, N bytes needed", as N.
fn memory_needed(linker_output: &str) -> Option<u64> {
    let (_, rest) = linker_output.split_once("initial memory too small, ")?;
    rest.split_whitespace().next()?.parse().ok()
}

/// The whole `build.rs` of an application in this repository's layout: [`embed_payload`] for
/// each of `names`, failing the build (a build script panics to do so) with the reason.
pub fn embed_payloads_or_fail(repo_root: &Path, names: &[&str]) {
    for name in names {
        if let Err(e) = embed_payload(repo_root, name) {
            panic!("building the {name} capsule failed: {e}");
        }
    }
}
