//! Build errors, each with a message that says what to do.

use std::path::PathBuf;

use crate::EngineProfile;

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
    /// The payload uses `#![feature(...)]`, which stable Rust refuses (E0554).
    #[error(
        "{manifest} uses unstable Rust features (`#![feature(...)]`, refused on stable: E0554): build it with --nightly (BuildOptions::nightly; needs `rustup +nightly component add rust-src`)"
    )]
    NeedsNightly {
        /// The manifest built.
        manifest: PathBuf,
    },
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
         (or set `initial-memory = {hint_bytes}` under [package.metadata.trevm] in its Cargo.toml)"
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
        /// `hint` in bytes.
        hint_bytes: u64,
    },
    /// The payload's `[package.metadata.trevm]` cannot be read.
    #[error("{manifest}: [package.metadata.trevm]: {message}")]
    BadMetadata {
        /// The manifest built.
        manifest: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The crate produced no `.wasm` (not a `cdylib` library crate).
    #[error(
        "{0} produced no .wasm file: a payload must be a library crate with `crate-type = [\"cdylib\"]`"
    )]
    NoWasmArtifact(PathBuf),
    /// A component was given for the wasmi provider (target `wasm`).
    #[error(
        "{0}: the wasmi provider runs core modules: give the payload crate or its core module \
         (target/wasm32v1-none/release/<name>.wasm), not a component"
    )]
    ComponentForWasmi(PathBuf),
    /// Epoch preemption was asked for the wasmi provider, which has no epochs.
    #[error(
        "the wasmi provider (target wasm) has no epoch preemption: build with fuel or no \
         preemption"
    )]
    EpochOnWasmi,
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
