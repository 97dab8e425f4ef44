//! Core module → component → precompiled code, and what a component imports.

use crate::{BuildError, EngineProfile};

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

/// Precompiles a component with the engine settings of `profile`, for a device: without
/// Wasmtime's address map and without the ELF symbol table, which nothing reads at load (see
/// [`precompile_with`]).
pub fn precompile(component: &[u8], profile: EngineProfile) -> Result<Vec<u8>, BuildError> {
    precompile_with(component, profile, false)
}

/// Precompiles a component with the engine settings of `profile`; `address_map` keeps
/// Wasmtime's map from compiled code back to Wasm offsets (`trevm build --addrmap`, for
/// debugging). Either way the ELF's symbol table (`.symtab`, `.strtab`: function names for
/// native tools, which Wasmtime skips when it loads) is dropped.
pub fn precompile_with(
    component: &[u8],
    profile: EngineProfile,
    address_map: bool,
) -> Result<Vec<u8>, BuildError> {
    let failed = |message: String| BuildError::Precompile { profile, message };
    let cwasm = profile.precompile(component, address_map).map_err(|e| {
        failed(match e {
            trevm::Error::Engine(m) => m,
            e => e.to_string(),
        })
    })?;
    strip_symbols(&cwasm).map_err(|e| failed(format!("removing the symbol table: {e}")))
}

/// `cwasm` rewritten without its symbol table. Written here because Wasmtime has no setting for
/// it; the `object` crate (which Wasmtime itself writes the ELF with) does the rewriting.
fn strip_symbols(cwasm: &[u8]) -> Result<Vec<u8>, object::build::Error> {
    let mut elf = object::build::elf::Builder::read(cwasm)?;
    for symbol in elf.symbols.iter_mut() {
        symbol.delete = true;
    }
    for section in elf.sections.iter_mut() {
        if matches!(section.name.as_slice(), b".symtab" | b".strtab") {
            section.delete = true;
        }
    }
    let mut out = Vec::with_capacity(cwasm.len());
    elf.write(&mut out)?;
    Ok(out)
}
