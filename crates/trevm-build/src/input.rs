//! What a build starts from: a payload crate, a core module or a component.

use std::path::{Path, PathBuf};

use crate::{BuildError, read};

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
