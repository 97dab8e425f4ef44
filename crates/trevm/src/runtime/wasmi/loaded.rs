//! [`WiLoaded`]: a plain-wasm capsule validated and translated by wasmi, with the export types
//! its manifest states checked against its code.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use wasmi::{Engine, ExternType, Module};

use crate::cabi::{self, FlatType, SigKind};
use crate::capsule::Capsule;
use crate::error::Error;
use crate::host::Grants;
use crate::value::ExportedFunc;

/// The module name of functions a world imports directly (not inside an interface).
pub(super) const ROOT_MODULE: &str = "$root";

/// A validated, translated module and the WIT types of its exports; cheap to clone.
#[derive(Clone)]
pub(crate) struct WiLoaded {
    module: Module,
    exports: Arc<[ExportedFunc]>,
}

/// Validates and translates the capsule's module, refusing what the provider does not run.
pub(super) fn load(engine: &Engine, capsule: &Capsule<'_>) -> Result<WiLoaded, Error> {
    let module =
        Module::new(engine, capsule.payload()).map_err(|e| Error::Invalid(format!("{e}")))?;
    for import in module.imports() {
        if !matches!(import.ty(), ExternType::Func(_)) {
            return Err(Error::Invalid(format!(
                "the module imports `{}` `{}`, which is not a function: capsules import \
                 functions only",
                import.module(),
                import.name()
            )));
        }
    }
    let exports = match crate::trust::claimed_manifest(capsule) {
        Ok(Some((manifest, _))) => manifest.exports,
        Ok(None) => Vec::new(),
        Err(e) => return Err(Error::Refused(e)),
    };
    for export in &exports {
        check_export(&module, export)?;
    }
    Ok(WiLoaded {
        module,
        exports: exports.into(),
    })
}

/// The module exports a function of that name whose core signature is the one the canonical
/// ABI gives its WIT type.
fn check_export(module: &Module, export: &ExportedFunc) -> Result<(), Error> {
    let params: Vec<_> = export.ty.params.iter().map(|(_, t)| t.clone()).collect();
    let mismatch = |why: String| {
        Error::Invalid(format!(
            "the manifest's export `{}` does not match the code: {why}",
            export.name
        ))
    };
    let (want_params, want_results) =
        cabi::core_signature(&params, &export.ty.results, SigKind::Export)
            .map_err(|e| mismatch(format!("its type cannot cross the canonical ABI: {e}")))?;
    let Some(ExternType::Func(ty)) = module.get_export(&export.name) else {
        return Err(mismatch("the module has no such function".into()));
    };
    let core = |types: &[wasmi::ValType]| -> Vec<Option<FlatType>> {
        types.iter().map(|t| flat_type(*t)).collect()
    };
    let want =
        |types: &[FlatType]| -> Vec<Option<FlatType>> { types.iter().copied().map(Some).collect() };
    if core(ty.params()) != want(&want_params) || core(ty.results()) != want(&want_results) {
        return Err(mismatch(format!(
            "its code takes {:?} and returns {:?}, its type {} needs {want_params:?} and \
             {want_results:?}",
            ty.params(),
            ty.results(),
            export.ty
        )));
    }
    Ok(())
}

fn flat_type(t: wasmi::ValType) -> Option<FlatType> {
    match t {
        wasmi::ValType::I32 => Some(FlatType::I32),
        wasmi::ValType::I64 => Some(FlatType::I64),
        wasmi::ValType::F32 => Some(FlatType::F32),
        wasmi::ValType::F64 => Some(FlatType::F64),
        _ => None,
    }
}

/// Whether `module` (an import's module name) is an interface `grants` links.
pub(super) fn granted(grants: Grants, module: &str) -> bool {
    let interface = |name: &str| {
        module
            .strip_prefix("ariel:wasm-bindings/")
            .and_then(|rest| rest.strip_suffix("@0.0.1"))
            == Some(name)
    };
    (grants.log && interface("log-api"))
        || (grants.time && interface("time-api"))
        || (grants.rng && interface("rng-api"))
        || (grants.gpio && interface("gpio-api"))
        || (grants.sensors && interface("sensors-api"))
        || (grants.udp && interface("udp-api"))
}

impl WiLoaded {
    pub(crate) fn module(&self) -> &Module {
        &self.module
    }

    pub(crate) fn exports(&self) -> &[ExportedFunc] {
        &self.exports
    }

    pub(crate) fn exports_shared(&self) -> Arc<[ExportedFunc]> {
        self.exports.clone()
    }

    /// The capsule's imports as (module, name).
    pub(crate) fn import_names(&self) -> impl Iterator<Item = (&str, &str)> {
        self.module.imports().map(|i| (i.module(), i.name()))
    }

    /// The imports by grant name: the interface, or the function for a world's own imports.
    pub(crate) fn imports(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for i in self.module.imports() {
            let name = match i.module() {
                ROOT_MODULE => i.name(),
                m => m,
            };
            if !out.iter().any(|o| o == name) {
                out.push(String::from(name));
            }
        }
        out
    }

    /// The first import outside `granted`, by grant name.
    pub(crate) fn ungranted_import(&self, granted: impl Fn(&str) -> bool) -> Option<String> {
        self.imports().into_iter().find(|i| !granted(i))
    }
}
