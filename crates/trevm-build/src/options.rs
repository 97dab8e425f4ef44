//! How to build: [`BuildOptions`] and its defaults (the one place they are set).

use std::path::PathBuf;

use crate::{EngineProfile, Preemption, Target};

/// The wasm target payloads are compiled for.
pub const WASM_TARGET: &str = "wasm32v1-none";

/// Default linear memory of a capsule, in bytes (pages are 1 byte): data, heap arena and shadow
/// stack must fit. The CLI's `--initial-memory` default and `payloads/.cargo/config.toml` say the
/// same.
pub const DEFAULT_INITIAL_MEMORY: u32 = 32 * 1024;
/// Default shadow-stack size inside linear memory, in bytes (`--stack-size`).
pub const DEFAULT_STACK_SIZE: u32 = 8 * 1024;

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
    pub(crate) fn cargo_value(self) -> &'static str {
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
    /// Target and preemption of the capsule. [`Target::Wasm`]: plain wasm for the wasmi
    /// provider (fuel or no preemption), not precompiled (see [`crate::build`]).
    pub profile: EngineProfile,
    /// Optimisation level of the payload.
    pub opt_level: OptLevel,
    /// Use nightly `-Zbuild-std` with `panic = "immediate-abort"` (smaller; needs the nightly
    /// toolchain with `rust-src`).
    pub nightly: bool,
    /// Initial linear memory in bytes (pages are 1 byte). `None`: the payload's
    /// `[package.metadata.trevm] initial-memory`, else [`DEFAULT_INITIAL_MEMORY`].
    pub initial_memory: Option<u32>,
    /// Size of the shadow stack in linear memory, in bytes. `None`: the payload's
    /// `[package.metadata.trevm] stack-size`, else [`DEFAULT_STACK_SIZE`].
    pub stack_size: Option<u32>,
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
    /// Keep Wasmtime's address map (compiled code → Wasm offsets) in the capsule, for
    /// debugging: 1.7–6 KB more per capsule. Off by default; capsules run the same without it.
    pub address_map: bool,
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
    /// the machine running the build script. Fuel preemption, quiet cargo. The payload's cargo
    /// target directory is `$TREVM_PAYLOAD_TARGET_DIR` if set (a directory shared by the build
    /// scripts that set it, as this repository's `.cargo/config.toml` does for its examples);
    /// otherwise [`crate::build_for_build_script`] puts it in the build script's `OUT_DIR`.
    pub fn for_build_script() -> Self {
        println!("cargo:rerun-if-env-changed={PAYLOAD_TARGET_DIR_ENV}");
        let target_dir = std::env::var_os(PAYLOAD_TARGET_DIR_ENV)
            .filter(|d| !d.is_empty())
            .map(PathBuf::from);
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
            target_dir,
            ..Default::default()
        }
    }
}

/// The environment variable naming a cargo target directory that build scripts share for their
/// payload builds (see [`BuildOptions::for_build_script`]).
pub const PAYLOAD_TARGET_DIR_ENV: &str = "TREVM_PAYLOAD_TARGET_DIR";

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            profile: EngineProfile::for_this_machine(),
            opt_level: OptLevel::S,
            nightly: false,
            initial_memory: None,
            stack_size: None,
            name: None,
            quiet: false,
            target_dir: None,
            features: Vec::new(),
            signing: Signing::DevKey,
            version: None,
            address_map: false,
        }
    }
}
