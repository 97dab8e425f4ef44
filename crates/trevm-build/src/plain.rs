//! The payload of a plain-wasm capsule (for the wasmi provider, [`Target::Wasm`](crate::Target)):
//! the core module without its WIT world, and the types of what it exports, which the manifest
//! carries because a core module does not.

use trevm::{ExportedFunc, FuncType, ValType};
use wit_parser::{Resolve, Type, TypeDefKind, WorldItem};

use crate::BuildError;

/// `core` without the `component-type*` custom sections wit-bindgen embeds (the WIT world,
/// which only [`crate::componentize`] reads): the payload of a plain-wasm capsule.
pub fn strip_world(core: &[u8]) -> Result<Vec<u8>, BuildError> {
    match wit_component::metadata::decode(core) {
        Ok((Some(stripped), _)) => Ok(stripped),
        // No world to strip (componentize, which runs first, refuses such a module).
        Ok((None, _)) => Ok(core.to_vec()),
        Err(e) => Err(BuildError::Componentize(format!(
            "not a valid core module: {e:#}"
        ))),
    }
}

/// The functions `component` exports, named as trevm names them (and as the canonical ABI names
/// the core module's exports): `name` for a function of the world, `interface#name` for one of
/// an exported interface (`ariel:wasm-bindings/coap-server-guest@0.0.1#coap-run`).
pub fn component_exports(component: &[u8]) -> Result<Vec<ExportedFunc>, BuildError> {
    let decoded = wit_component::decode(component)
        .map_err(|e| BuildError::Componentize(format!("not a valid component: {e:#}")))?;
    let (resolve, world) = match &decoded {
        wit_component::DecodedWasm::Component(resolve, world) => (resolve, *world),
        wit_component::DecodedWasm::WitPackage(..) => {
            return Err(BuildError::Componentize(
                "a WIT package, not a component".into(),
            ));
        }
    };
    let mut out = Vec::new();
    for (key, item) in &resolve.worlds[world].exports {
        match item {
            WorldItem::Function(f) => out.push(ExportedFunc {
                name: f.name.clone(),
                ty: func_type(resolve, f),
            }),
            WorldItem::Interface { id, .. } => {
                let iface = resolve.name_world_key(key);
                for (name, f) in &resolve.interfaces[*id].functions {
                    out.push(ExportedFunc {
                        name: format!("{iface}#{name}"),
                        ty: func_type(resolve, f),
                    });
                }
            }
            WorldItem::Type { .. } => {}
        }
    }
    Ok(out)
}

fn func_type(resolve: &Resolve, f: &wit_parser::Function) -> FuncType {
    FuncType {
        params: f
            .params
            .iter()
            .map(|p| (p.name.clone(), val_type(resolve, &p.ty)))
            .collect(),
        results: f.result.iter().map(|t| val_type(resolve, t)).collect(),
    }
}

/// A WIT type as trevm's [`ValType`] (as the Wasmtime provider converts the same type from a
/// loaded component).
fn val_type(resolve: &Resolve, ty: &Type) -> ValType {
    let boxed = |t: &Type| Box::new(val_type(resolve, t));
    let id = match ty {
        Type::Bool => return ValType::Bool,
        Type::U8 => return ValType::U8,
        Type::U16 => return ValType::U16,
        Type::U32 => return ValType::U32,
        Type::U64 => return ValType::U64,
        Type::S8 => return ValType::S8,
        Type::S16 => return ValType::S16,
        Type::S32 => return ValType::S32,
        Type::S64 => return ValType::S64,
        Type::F32 => return ValType::Float32,
        Type::F64 => return ValType::Float64,
        Type::Char => return ValType::Char,
        Type::String => return ValType::String,
        Type::ErrorContext => return ValType::Unsupported("error-context".into()),
        Type::Id(id) => *id,
    };
    match &resolve.types[id].kind {
        TypeDefKind::Type(t) => val_type(resolve, t),
        TypeDefKind::Record(r) => ValType::Record(
            r.fields
                .iter()
                .map(|f| (f.name.clone(), val_type(resolve, &f.ty)))
                .collect(),
        ),
        TypeDefKind::Tuple(t) => {
            ValType::Tuple(t.types.iter().map(|t| val_type(resolve, t)).collect())
        }
        TypeDefKind::Variant(v) => ValType::Variant(
            v.cases
                .iter()
                .map(|c| (c.name.clone(), c.ty.as_ref().map(|t| val_type(resolve, t))))
                .collect(),
        ),
        TypeDefKind::Enum(e) => ValType::Enum(e.cases.iter().map(|c| c.name.clone()).collect()),
        TypeDefKind::Flags(f) => ValType::Flags(f.flags.iter().map(|f| f.name.clone()).collect()),
        TypeDefKind::Option(t) => ValType::Option(boxed(t)),
        TypeDefKind::Result(r) => ValType::Result {
            ok: r.ok.as_ref().map(boxed),
            err: r.err.as_ref().map(boxed),
        },
        TypeDefKind::List(t) => ValType::List(boxed(t)),
        TypeDefKind::Resource | TypeDefKind::Handle(_) => ValType::Unsupported("resource".into()),
        other => ValType::Unsupported(other.as_str().into()),
    }
}
