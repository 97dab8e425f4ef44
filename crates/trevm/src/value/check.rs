//! Checks dynamically typed values against WIT types before a call, so a wrong argument is a
//! typed [`Error::BadArguments`](crate::Error::BadArguments) decided by trevm (the same words on
//! either VM provider), not guessed afterwards from a VM's error message.

use alloc::format;
use alloc::string::String;

use super::{Val, ValType};

/// Why `val` does not fit `ty` (a path to the first mismatch), or `Ok` if it does. Types with no
/// [`Val`] ([`ValType::Unsupported`]) fit nothing.
pub(crate) fn check(val: &Val, ty: &ValType) -> Result<(), String> {
    let mismatch = || Err(format!("expected {}, got {}", kind(ty), describe(val)));
    let ok = match (ty, val) {
        (ValType::Bool, Val::Bool(_))
        | (ValType::S8, Val::S8(_))
        | (ValType::U8, Val::U8(_))
        | (ValType::S16, Val::S16(_))
        | (ValType::U16, Val::U16(_))
        | (ValType::S32, Val::S32(_))
        | (ValType::U32, Val::U32(_))
        | (ValType::S64, Val::S64(_))
        | (ValType::U64, Val::U64(_))
        | (ValType::Float32, Val::Float32(_))
        | (ValType::Float64, Val::Float64(_))
        | (ValType::Char, Val::Char(_))
        | (ValType::String, Val::String(_)) => true,
        (ValType::List(elem), Val::List(items)) => {
            for (i, item) in items.iter().enumerate() {
                check(item, elem).map_err(|e| format!("element {i}: {e}"))?;
            }
            true
        }
        (ValType::Record(types), Val::Record(fields)) => {
            if types.len() != fields.len() {
                return mismatch();
            }
            for ((tname, ty), (name, value)) in types.iter().zip(fields) {
                if tname != name {
                    return mismatch();
                }
                check(value, ty).map_err(|e| format!("field `{name}`: {e}"))?;
            }
            true
        }
        (ValType::Tuple(types), Val::Tuple(items)) => {
            if types.len() != items.len() {
                return mismatch();
            }
            for (i, (ty, item)) in types.iter().zip(items).enumerate() {
                check(item, ty).map_err(|e| format!("tuple item {i}: {e}"))?;
            }
            true
        }
        (ValType::Variant(cases), Val::Variant(name, payload)) => {
            let Some((_, case)) = cases.iter().find(|(n, _)| n == name) else {
                return mismatch();
            };
            match (case, payload) {
                (None, None) => true,
                (Some(ty), Some(p)) => {
                    check(p, ty).map_err(|e| format!("case `{name}`: {e}"))?;
                    true
                }
                _ => false,
            }
        }
        (ValType::Enum(names), Val::Enum(name)) => names.iter().any(|n| n == name),
        (ValType::Option(ty), Val::Option(v)) => match v {
            None => true,
            Some(v) => {
                check(v, ty).map_err(|e| format!("some: {e}"))?;
                true
            }
        },
        (ValType::Result { ok, err }, Val::Result(v)) => {
            let (ty, payload, which) = match v {
                Ok(p) => (ok, p, "ok"),
                Err(p) => (err, p, "err"),
            };
            match (ty, payload) {
                (None, None) => true,
                (Some(ty), Some(p)) => {
                    check(p, ty).map_err(|e| format!("{which}: {e}"))?;
                    true
                }
                _ => false,
            }
        }
        (ValType::Flags(names), Val::Flags(set)) => set.iter().all(|s| names.contains(s)),
        _ => false,
    };
    if ok { Ok(()) } else { mismatch() }
}

/// The type's kind in WIT words. Deliberately not the full type: the path in the message
/// locates the mismatch, and a full formatter costs Cortex-M flash.
fn kind(ty: &ValType) -> &'static str {
    match ty {
        ValType::Bool => "bool",
        ValType::S8 => "s8",
        ValType::U8 => "u8",
        ValType::S16 => "s16",
        ValType::U16 => "u16",
        ValType::S32 => "s32",
        ValType::U32 => "u32",
        ValType::S64 => "s64",
        ValType::U64 => "u64",
        ValType::Float32 => "f32",
        ValType::Float64 => "f64",
        ValType::Char => "char",
        ValType::String => "string",
        ValType::List(_) => "a list",
        ValType::Record(_) => "a record with other fields",
        ValType::Tuple(_) => "a tuple of another length",
        ValType::Variant(_) => "a case of the variant",
        ValType::Enum(_) => "a case of the enum",
        ValType::Option(_) => "an option",
        ValType::Result { .. } => "a result",
        ValType::Flags(_) => "flags of the type",
        ValType::Unsupported(_) => "a value trevm cannot pass (a resource, future or stream)",
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
        Val::List(_) => "a list",
        Val::Record(_) => "a record",
        Val::Tuple(_) => "a tuple",
        Val::Variant(..) => "a variant case",
        Val::Enum(_) => "an enum case",
        Val::Option(_) => "an option",
        Val::Result(_) => "a result",
        Val::Flags(_) => "flags",
    }
}
