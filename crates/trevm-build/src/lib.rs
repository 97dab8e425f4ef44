//! `trevm build`: payload crate → core module → component → precompiled capsule.
//!
//! ```text
//! payload Cargo.toml ──cargo (wasm32v1-none, size profile, --page-size=1)──▶ core .wasm
//!   ──wit-component (in process)──▶ component .wasm
//!   ──Wasmtime/Cranelift with trevm's EngineProfile──▶ .cwasm ──header + signed manifest──▶ capsule
//! ```
//!
//! For the wasmi provider (target `wasm`) the capsule carries the core module instead of the
//! precompiled code, without its WIT world, and the manifest the exports' types
//! ([`component_exports`], [`strip_world`] in `plain.rs`).
//!
//! Every stage can also be entered in the middle: give [`build`] a core module or a component
//! instead of a manifest. The engine settings come from [`trevm::EngineProfile`], the same type the
//! device runtime loads with, so a capsule built here always matches a runtime of the same profile.
//!
//! Where things are: [`build`] (the pipeline) in this file; `options.rs` ([`BuildOptions`],
//! [`OptLevel`], [`Signing`]); `input.rs` ([`Input`], [`wasm_kind`]); `cargo.rs` (driving cargo
//! for `wasm32v1-none`); `component.rs` ([`componentize`], [`component_imports`],
//! [`precompile`]); `built.rs` ([`Built`], [`Stage`]); `error.rs` ([`BuildError`]); `script.rs`
//! (helpers for `build.rs` files).
#![warn(missing_docs)]
#![forbid(unsafe_code)]

use std::path::Path;

use cargo::cargo_build;

mod built;
mod cargo;
mod component;
mod error;
mod input;
mod options;
mod plain;
mod script;

pub use built::{Built, Stage};
pub use component::{component_imports, componentize, precompile, precompile_with};
pub use error::BuildError;
pub use input::{Input, WasmKind, wasm_kind};
pub use options::{
    BuildOptions, DEFAULT_INITIAL_MEMORY, DEFAULT_STACK_SIZE, OptLevel, PAYLOAD_TARGET_DIR_ENV,
    Signing, WASM_TARGET,
};
pub use plain::{component_exports, strip_world};
pub use script::{build_for_build_script, embed_payload, embed_payloads_or_fail};
pub use trevm::{EngineProfile, ExportedFunc, Preemption, Target};

pub(crate) fn read(path: &Path) -> Result<Vec<u8>, BuildError> {
    std::fs::read(path).map_err(|source| BuildError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Builds a capsule from a payload crate, a core module or a component.
///
/// For [`Target::Wasm`] (the wasmi provider) the capsule's payload is the core module itself,
/// without its WIT world (`component-type*` sections), and its manifest lists the exported
/// functions' types; the module is still made into a component first, which checks that it
/// implements its world and yields the imports the manifest grants, exactly as for Pulley. A
/// component cannot be the input then: the core module inside it is not what cargo made.
pub fn build(input: &Path, opts: &BuildOptions) -> Result<Built, BuildError> {
    let plain = opts.profile.target == Target::Wasm;
    if plain && opts.profile.preemption == Preemption::Epoch {
        return Err(BuildError::EpochOnWasmi);
    }
    let mut stages = Vec::new();
    let (name, core, component) = match Input::detect(input)? {
        Input::Manifest(manifest) => {
            let (crate_name, wasm_path) = cargo_build(&manifest, opts)?;
            let core = read(&wasm_path)?;
            stages.push((Stage::CoreModule, core.len()));
            let component = componentize(&core)?;
            (crate_name, Some(core), component)
        }
        Input::CoreModule(path) => {
            let core = read(&path)?;
            stages.push((Stage::CoreModule, core.len()));
            let component = componentize(&core)?;
            (file_stem(&path), Some(core), component)
        }
        Input::Component(path) if plain => return Err(BuildError::ComponentForWasmi(path)),
        Input::Component(path) => (file_stem(&path), None, read(&path)?),
    };
    stages.push((Stage::Component, component.len()));
    let name = opts.name.clone().unwrap_or(name);
    let imports = component_imports(&component)?;
    let (payload, exports) = match core {
        Some(core) if plain => {
            let exports = component_exports(&component)?;
            let module = strip_world(&core)?;
            stages.push((Stage::PlainModule, module.len()));
            (module, exports)
        }
        _ => {
            let cwasm = precompile_with(&component, opts.profile, opts.address_map)?;
            stages.push((Stage::Precompiled, cwasm.len()));
            (cwasm, Vec::new())
        }
    };
    let bare = trevm::capsule::encode(opts.profile, &name, &payload)?;
    let version = opts.version.unwrap_or_else(trevm_sign::default_version);
    let (capsule, signer) = match &opts.signing {
        Signing::Unsigned => (
            trevm_sign::attach_manifest_with(&bare, version, imports.clone(), exports.clone())?,
            None,
        ),
        signing => {
            let key = match signing {
                Signing::Key(path) => trevm_sign::SigningKey::read(path)?,
                _ => trevm_sign::dev_key()?.key,
            };
            let claims = trevm_sign::Claims {
                version: Some(version),
                grants: Some(imports.clone()),
                exports: Some(exports.clone()),
            };
            let signed = trevm_sign::sign_with(&bare, &key, claims)?;
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
        exports,
        version,
        signer,
    })
}

/// Builds a payload crate (its `Cargo.toml` or directory) into its core WebAssembly module only,
/// the first stage of [`build`], still with its WIT world: for tools that compare against
/// runtimes of core modules (the firmware's footprint report). For a capsule use [`build`]
/// (with [`Target::Wasm`] for the wasmi provider).
pub fn build_core_module(input: &Path, opts: &BuildOptions) -> Result<Vec<u8>, BuildError> {
    match Input::detect(input)? {
        Input::Manifest(manifest) => {
            let (_, wasm_path) = cargo_build(&manifest, opts)?;
            read(&wasm_path)
        }
        _ => Err(BuildError::UnknownInput(input.to_path_buf())),
    }
}

fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "capsule".into())
}
