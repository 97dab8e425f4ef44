//! Checks dynamically typed arguments against an export's parameter types before the call, so a
//! wrong argument is a typed [`Error::BadArguments`](crate::Error::BadArguments) decided here —
//! not guessed afterwards from the words of Wasmtime's error message.

use alloc::format;
use alloc::string::String;

use wasmtime::component::Val;
use wasmtime::component::types::Type;

/// Why `val` does not fit `ty` (a path to the first mismatch), or `Ok` if it does. Types this
/// check cannot judge from a value alone (resources, futures, streams) are left to Wasmtime.
pub(crate) fn check(val: &Val, ty: &Type) -> Result<(), String> {
    let mismatch = || Err(format!("expected {}, got {}", kind(ty), describe(val)));
    let ok = match (ty, val) {
        (Type::Bool, Val::Bool(_))
        | (Type::S8, Val::S8(_))
        | (Type::U8, Val::U8(_))
        | (Type::S16, Val::S16(_))
        | (Type::U16, Val::U16(_))
        | (Type::S32, Val::S32(_))
        | (Type::U32, Val::U32(_))
        | (Type::S64, Val::S64(_))
        | (Type::U64, Val::U64(_))
        | (Type::Float32, Val::Float32(_))
        | (Type::Float64, Val::Float64(_))
        | (Type::Char, Val::Char(_))
        | (Type::String, Val::String(_)) => true,
        (Type::List(l), Val::List(items)) => {
            let elem = l.ty();
            for (i, item) in items.iter().enumerate() {
                check(item, &elem).map_err(|e| format!("element {i}: {e}"))?;
            }
            true
        }
        (Type::Record(r), Val::Record(fields)) => {
            if r.fields().len() != fields.len() {
                return mismatch();
            }
            for (field, (name, value)) in r.fields().zip(fields) {
                if field.name != name {
                    return mismatch();
                }
                check(value, &field.ty).map_err(|e| format!("field `{name}`: {e}"))?;
            }
            true
        }
        (Type::Tuple(t), Val::Tuple(items)) => {
            if t.types().len() != items.len() {
                return mismatch();
            }
            for (i, (ty, item)) in t.types().zip(items).enumerate() {
                check(item, &ty).map_err(|e| format!("tuple item {i}: {e}"))?;
            }
            true
        }
        (Type::Variant(v), Val::Variant(name, payload)) => {
            let Some(case) = v.cases().find(|c| c.name == name) else {
                return mismatch();
            };
            match (case.ty, payload) {
                (None, None) => true,
                (Some(ty), Some(p)) => {
                    check(p, &ty).map_err(|e| format!("case `{name}`: {e}"))?;
                    true
                }
                _ => false,
            }
        }
        (Type::Enum(e), Val::Enum(name)) => e.names().any(|n| n == name),
        (Type::Option(o), Val::Option(v)) => match v {
            None => true,
            Some(v) => {
                check(v, &o.ty()).map_err(|e| format!("some: {e}"))?;
                true
            }
        },
        (Type::Result(r), Val::Result(v)) => {
            let (ty, payload, which) = match v {
                Ok(p) => (r.ok(), p, "ok"),
                Err(p) => (r.err(), p, "err"),
            };
            match (ty, payload) {
                (None, None) => true,
                (Some(ty), Some(p)) => {
                    check(p, &ty).map_err(|e| format!("{which}: {e}"))?;
                    true
                }
                _ => false,
            }
        }
        (Type::Flags(f), Val::Flags(set)) => set.iter().all(|s| f.names().any(|n| n == s)),
        (
            Type::Own(_)
            | Type::Borrow(_)
            | Type::Future(_)
            | Type::Stream(_)
            | Type::ErrorContext
            | Type::Map(_)
            | Type::FixedLengthList(_),
            _,
        ) => true,
        _ => false,
    };
    if ok { Ok(()) } else { mismatch() }
}

/// The type's kind in WIT words. Deliberately not the full type (`crate::typefmt`): that
/// formatter costs about 10 KB of Cortex-M flash, and the path in the message locates the
/// mismatch anyway.
fn kind(ty: &Type) -> &'static str {
    match ty {
        Type::Bool => "bool",
        Type::S8 => "s8",
        Type::U8 => "u8",
        Type::S16 => "s16",
        Type::U16 => "u16",
        Type::S32 => "s32",
        Type::U32 => "u32",
        Type::S64 => "s64",
        Type::U64 => "u64",
        Type::Float32 => "f32",
        Type::Float64 => "f64",
        Type::Char => "char",
        Type::String => "string",
        Type::List(_) | Type::FixedLengthList(_) => "a list",
        Type::Map(_) => "a map",
        Type::Record(_) => "a record with other fields",
        Type::Tuple(_) => "a tuple of another length",
        Type::Variant(_) => "a case of the variant",
        Type::Enum(_) => "a case of the enum",
        Type::Option(_) => "an option",
        Type::Result(_) => "a result",
        Type::Flags(_) => "flags of the type",
        Type::Own(_) | Type::Borrow(_) => "a resource",
        Type::Future(_) => "a future",
        Type::Stream(_) => "a stream",
        Type::ErrorContext => "an error context",
    }
}

fn describe(val: &Val) -> &'static str {
    match val {
        Val::Bool(_) => "a bool",
        Val::S8(_) | Val::S16(_) | Val::S32(_) | Val::S64(_) => "a signed integer",
        Val::U8(_) | Val::U16(_) | Val::U32(_) | Val::U64(_) => "an unsigned integer",
        Val::Float32(_) | Val::Float64(_) => "a float",
        Val::Char(_) => "a char",
        Val::String(_) => "a string",
        Val::List(_) | Val::FixedLengthList(_) => "a list",
        Val::Map(_) => "a map",
        Val::Record(_) => "a record",
        Val::Tuple(_) => "a tuple",
        Val::Variant(..) => "a variant case",
        Val::Enum(_) => "an enum case",
        Val::Option(_) => "an option",
        Val::Result(_) => "a result",
        Val::Flags(_) => "flags",
        Val::Resource(_) => "a resource",
        Val::Future(_) => "a future",
        Val::Stream(_) => "a stream",
        Val::ErrorContext(_) => "an error context",
    }
}
