//! WIT-like spelling of component types (`u32`, `list<u8>`, …), for listings and error messages.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use wasmtime::component::types::Type;

/// Spells a component type as WIT does: `u32`, `list<u8>`, `option<string>`, `result<u32, string>`, …
pub fn ty(t: &Type) -> String {
    match t {
        Type::Bool => "bool".into(),
        Type::S8 => "s8".into(),
        Type::U8 => "u8".into(),
        Type::S16 => "s16".into(),
        Type::U16 => "u16".into(),
        Type::S32 => "s32".into(),
        Type::U32 => "u32".into(),
        Type::S64 => "s64".into(),
        Type::U64 => "u64".into(),
        Type::Float32 => "f32".into(),
        Type::Float64 => "f64".into(),
        Type::Char => "char".into(),
        Type::String => "string".into(),
        Type::List(l) => format!("list<{}>", ty(&l.ty())),
        Type::Option(o) => format!("option<{}>", ty(&o.ty())),
        Type::Result(r) => match (r.ok(), r.err()) {
            (None, None) => "result".into(),
            (Some(ok), None) => format!("result<{}>", ty(&ok)),
            (None, Some(err)) => format!("result<_, {}>", ty(&err)),
            (Some(ok), Some(err)) => format!("result<{}, {}>", ty(&ok), ty(&err)),
        },
        Type::Tuple(t) => format!(
            "tuple<{}>",
            t.types().map(|t| ty(&t)).collect::<Vec<_>>().join(", ")
        ),
        Type::Record(r) => format!(
            "record {{ {} }}",
            r.fields()
                .map(|f| format!("{}: {}", f.name, ty(&f.ty)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Type::Enum(e) => format!("enum {{ {} }}", e.names().collect::<Vec<_>>().join(", ")),
        Type::Flags(fl) => format!("flags {{ {} }}", fl.names().collect::<Vec<_>>().join(", ")),
        Type::Variant(v) => format!(
            "variant {{ {} }}",
            v.cases()
                .map(|c| c.name.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => format!("{other:?}"),
    }
}
