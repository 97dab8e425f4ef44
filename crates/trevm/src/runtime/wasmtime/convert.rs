//! Between trevm's VM-independent values and types ([`crate::value`]) and Wasmtime's.
//!
//! Going into Wasmtime is structural and cannot fail; the arguments are then checked against the
//! export's types (`argcheck`) before any call. Coming out can fail only for values trevm has no
//! representation for (resources, futures, streams), which becomes a typed error, not a panic.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use wasmtime::component::Val as W;
use wasmtime::component::types::{ComponentFunc, Type};

use crate::value::{FuncType, Val, ValType};

/// A trevm value as Wasmtime's.
pub(crate) fn to_wasmtime(v: &Val) -> W {
    let boxed = |v: &Option<Box<Val>>| v.as_ref().map(|v| Box::new(to_wasmtime(v)));
    match v {
        Val::Bool(x) => W::Bool(*x),
        Val::S8(x) => W::S8(*x),
        Val::U8(x) => W::U8(*x),
        Val::S16(x) => W::S16(*x),
        Val::U16(x) => W::U16(*x),
        Val::S32(x) => W::S32(*x),
        Val::U32(x) => W::U32(*x),
        Val::S64(x) => W::S64(*x),
        Val::U64(x) => W::U64(*x),
        Val::Float32(x) => W::Float32(*x),
        Val::Float64(x) => W::Float64(*x),
        Val::Char(x) => W::Char(*x),
        Val::String(x) => W::String(x.clone()),
        Val::List(items) => W::List(items.iter().map(to_wasmtime).collect()),
        Val::Record(fields) => W::Record(
            fields
                .iter()
                .map(|(n, v)| (n.clone(), to_wasmtime(v)))
                .collect(),
        ),
        Val::Tuple(items) => W::Tuple(items.iter().map(to_wasmtime).collect()),
        Val::Variant(case, payload) => W::Variant(case.clone(), boxed(payload)),
        Val::Enum(case) => W::Enum(case.clone()),
        Val::Option(v) => W::Option(boxed(v)),
        Val::Result(Ok(v)) => W::Result(Ok(boxed(v))),
        Val::Result(Err(v)) => W::Result(Err(boxed(v))),
        Val::Flags(names) => W::Flags(names.clone()),
    }
}

/// A Wasmtime value as trevm's, or the name of what trevm cannot represent.
pub(crate) fn from_wasmtime(v: W) -> Result<Val, String> {
    let boxed = |v: Option<Box<W>>| -> Result<Option<Box<Val>>, String> {
        v.map(|v| from_wasmtime(*v).map(Box::new)).transpose()
    };
    let list = |items: Vec<W>| -> Result<Vec<Val>, String> {
        items.into_iter().map(from_wasmtime).collect()
    };
    Ok(match v {
        W::Bool(x) => Val::Bool(x),
        W::S8(x) => Val::S8(x),
        W::U8(x) => Val::U8(x),
        W::S16(x) => Val::S16(x),
        W::U16(x) => Val::U16(x),
        W::S32(x) => Val::S32(x),
        W::U32(x) => Val::U32(x),
        W::S64(x) => Val::S64(x),
        W::U64(x) => Val::U64(x),
        W::Float32(x) => Val::Float32(x),
        W::Float64(x) => Val::Float64(x),
        W::Char(x) => Val::Char(x),
        W::String(x) => Val::String(x),
        W::List(items) => Val::List(list(items)?),
        W::Record(fields) => Val::Record(
            fields
                .into_iter()
                .map(|(n, v)| Ok((n, from_wasmtime(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        W::Tuple(items) => Val::Tuple(list(items)?),
        W::Variant(case, payload) => Val::Variant(case, boxed(payload)?),
        W::Enum(case) => Val::Enum(case),
        W::Option(v) => Val::Option(boxed(v)?),
        W::Result(Ok(v)) => Val::Result(Ok(boxed(v)?)),
        W::Result(Err(v)) => Val::Result(Err(boxed(v)?)),
        W::Flags(names) => Val::Flags(names),
        other => return Err(format!("a value trevm cannot represent ({other:?})")),
    })
}

/// A Wasmtime type as trevm's.
pub(crate) fn val_type(t: &Type) -> ValType {
    let boxed = |t: Type| Box::new(val_type(&t));
    match t {
        Type::Bool => ValType::Bool,
        Type::S8 => ValType::S8,
        Type::U8 => ValType::U8,
        Type::S16 => ValType::S16,
        Type::U16 => ValType::U16,
        Type::S32 => ValType::S32,
        Type::U32 => ValType::U32,
        Type::S64 => ValType::S64,
        Type::U64 => ValType::U64,
        Type::Float32 => ValType::Float32,
        Type::Float64 => ValType::Float64,
        Type::Char => ValType::Char,
        Type::String => ValType::String,
        Type::List(l) => ValType::List(boxed(l.ty())),
        Type::Option(o) => ValType::Option(boxed(o.ty())),
        Type::Result(r) => ValType::Result {
            ok: r.ok().map(boxed),
            err: r.err().map(boxed),
        },
        Type::Tuple(t) => ValType::Tuple(t.types().map(|t| val_type(&t)).collect()),
        Type::Record(r) => ValType::Record(
            r.fields()
                .map(|f| (f.name.to_string(), val_type(&f.ty)))
                .collect(),
        ),
        Type::Variant(v) => ValType::Variant(
            v.cases()
                .map(|c| (c.name.to_string(), c.ty.as_ref().map(val_type)))
                .collect(),
        ),
        Type::Enum(e) => ValType::Enum(e.names().map(ToString::to_string).collect()),
        Type::Flags(f) => ValType::Flags(f.names().map(ToString::to_string).collect()),
        Type::Own(_) | Type::Borrow(_) => ValType::Unsupported("resource".into()),
        other => ValType::Unsupported(format!("{other:?}")),
    }
}

/// A Wasmtime function type as trevm's.
pub(crate) fn func_type(f: &ComponentFunc) -> FuncType {
    FuncType {
        params: f
            .params()
            .map(|(n, t)| (n.to_string(), val_type(&t)))
            .collect(),
        results: f.results().map(|t| val_type(&t)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn values_survive_the_round_trip() {
        let v = Val::Record(vec![
            ("a".into(), Val::List(vec![Val::U8(1), Val::U8(2)])),
            (
                "b".into(),
                Val::Result(Err(Some(Box::new(Val::Enum("not-found".into()))))),
            ),
            (
                "c".into(),
                Val::Variant("some".into(), Some(Box::new(Val::Float64(1.5)))),
            ),
            ("d".into(), Val::Option(None)),
            ("e".into(), Val::Flags(vec!["x".into()])),
            (
                "f".into(),
                Val::Tuple(vec![Val::Char('é'), Val::String("s".into()), Val::S64(-1)]),
            ),
        ]);
        assert_eq!(from_wasmtime(to_wasmtime(&v)), Ok(v));
    }
}
