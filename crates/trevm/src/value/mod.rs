//! Capsule values and types as the seam between an application and the VM: what goes into and
//! comes out of a capsule's exports ([`Val`]), what those exports take and return ([`ValType`],
//! [`FuncType`]), in the terms of WIT rather than of any VM.
//!
//! These are plain data: nothing here depends on Wasmtime, so code written against them
//! (the CoAP lifecycle, the CLI, an application) keeps working when the VM underneath changes.
//! The VM provider (today Wasmtime, in `runtime/convert.rs`) converts at the boundary.
//!
//! For exports whose types are known when the application is compiled, the typed calls
//! ([`Instance::call_typed`](crate::Instance::call_typed)) skip this dynamic representation
//! altogether.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

pub(crate) mod check;
#[cfg(feature = "wave")]
mod wave;

/// One value of a capsule's interface: an argument, a result or a part of one.
///
/// Mirrors the WIT value space (`list`, `record`, `variant`, …). Resources, futures and streams
/// are not values here: an export taking or returning them cannot be called dynamically.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Val {
    /// `bool`
    Bool(bool),
    /// `s8`
    S8(i8),
    /// `u8`
    U8(u8),
    /// `s16`
    S16(i16),
    /// `u16`
    U16(u16),
    /// `s32`
    S32(i32),
    /// `u32`
    U32(u32),
    /// `s64`
    S64(i64),
    /// `u64`
    U64(u64),
    /// `f32`
    Float32(f32),
    /// `f64`
    Float64(f64),
    /// `char`
    Char(char),
    /// `string`
    String(String),
    /// `list<T>`
    List(Vec<Val>),
    /// `record { … }`: field names and values, in the record's field order.
    Record(Vec<(String, Val)>),
    /// `tuple<…>`
    Tuple(Vec<Val>),
    /// `variant { … }`: the case name and its payload, if the case has one.
    Variant(String, Option<Box<Val>>),
    /// `enum { … }`: the case name.
    Enum(String),
    /// `option<T>`
    Option(Option<Box<Val>>),
    /// `result<T, E>`: the payload of `ok` or `err`, if that side has a type.
    Result(Result<Option<Box<Val>>, Option<Box<Val>>>),
    /// `flags { … }`: the names of the flags that are set.
    Flags(Vec<String>),
}

/// The type of a [`Val`], as WIT spells it ([`fmt::Display`] prints WIT syntax).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValType {
    /// `bool`
    Bool,
    /// `s8`
    S8,
    /// `u8`
    U8,
    /// `s16`
    S16,
    /// `u16`
    U16,
    /// `s32`
    S32,
    /// `u32`
    U32,
    /// `s64`
    S64,
    /// `u64`
    U64,
    /// `f32`
    Float32,
    /// `f64`
    Float64,
    /// `char`
    Char,
    /// `string`
    String,
    /// `list<T>`
    List(Box<ValType>),
    /// `record { name: T, … }`
    Record(Vec<(String, ValType)>),
    /// `tuple<T, …>`
    Tuple(Vec<ValType>),
    /// `variant { case(T), case, … }`
    Variant(Vec<(String, Option<ValType>)>),
    /// `enum { case, … }`
    Enum(Vec<String>),
    /// `option<T>`
    Option(Box<ValType>),
    /// `result<T, E>`; either side may be absent.
    Result {
        /// The `ok` payload type, if any.
        ok: Option<Box<ValType>>,
        /// The `err` payload type, if any.
        err: Option<Box<ValType>>,
    },
    /// `flags { name, … }`
    Flags(Vec<String>),
    /// A type with no [`Val`] (a resource handle, a future, a stream), by its WIT-like name.
    Unsupported(String),
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let simple = match self {
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
            ValType::List(t) => return write!(f, "list<{t}>"),
            ValType::Option(t) => return write!(f, "option<{t}>"),
            ValType::Result { ok, err } => {
                return match (ok, err) {
                    (None, None) => f.write_str("result"),
                    (Some(ok), None) => write!(f, "result<{ok}>"),
                    (None, Some(err)) => write!(f, "result<_, {err}>"),
                    (Some(ok), Some(err)) => write!(f, "result<{ok}, {err}>"),
                };
            }
            ValType::Tuple(items) => {
                f.write_str("tuple<")?;
                comma_separated(f, items.iter(), |f, t| write!(f, "{t}"))?;
                return f.write_str(">");
            }
            ValType::Record(fields) => {
                f.write_str("record { ")?;
                comma_separated(f, fields.iter(), |f, (n, t)| write!(f, "{n}: {t}"))?;
                return f.write_str(" }");
            }
            ValType::Variant(cases) => {
                f.write_str("variant { ")?;
                comma_separated(f, cases.iter(), |f, (n, _)| f.write_str(n))?;
                return f.write_str(" }");
            }
            ValType::Enum(cases) => {
                f.write_str("enum { ")?;
                comma_separated(f, cases.iter(), |f, n| f.write_str(n))?;
                return f.write_str(" }");
            }
            ValType::Flags(names) => {
                f.write_str("flags { ")?;
                comma_separated(f, names.iter(), |f, n| f.write_str(n))?;
                return f.write_str(" }");
            }
            ValType::Unsupported(name) => name,
        };
        f.write_str(simple)
    }
}

fn comma_separated<I: Iterator>(
    f: &mut fmt::Formatter<'_>,
    items: I,
    mut each: impl FnMut(&mut fmt::Formatter<'_>, I::Item) -> fmt::Result,
) -> fmt::Result {
    for (i, item) in items.enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        each(f, item)?;
    }
    Ok(())
}

/// What a function takes and returns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FuncType {
    /// Parameter names and types, in order.
    pub params: Vec<(String, ValType)>,
    /// Result types, in order (WIT functions have at most one).
    pub results: Vec<ValType>,
}

impl FuncType {
    /// Whether the function takes `params` (types only; names are not compared) and returns
    /// `results`: how an embedder checks that a capsule has the world it expects.
    pub fn is(&self, params: &[ValType], results: &[ValType]) -> bool {
        self.params.len() == params.len()
            && self.params.iter().zip(params).all(|((_, a), b)| a == b)
            && self.results == results
    }
}

impl fmt::Display for FuncType {
    /// `func(n: u32) -> u32`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("func(")?;
        comma_separated(f, self.params.iter(), |f, (n, t)| write!(f, "{n}: {t}"))?;
        f.write_str(")")?;
        if !self.results.is_empty() {
            f.write_str(" -> ")?;
            comma_separated(f, self.results.iter(), |f, t| write!(f, "{t}"))?;
        }
        Ok(())
    }
}

/// The name and type of one function a capsule exports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedFunc {
    /// `name`, or `interface#name` for a function inside an exported interface.
    pub name: String,
    /// What it takes and returns.
    pub ty: FuncType,
}

impl fmt::Display for ExportedFunc {
    /// `fibonacci(n: u32) -> u32`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.name)?;
        comma_separated(f, self.ty.params.iter(), |f, (n, t)| write!(f, "{n}: {t}"))?;
        f.write_str(")")?;
        if !self.ty.results.is_empty() {
            f.write_str(" -> ")?;
            comma_separated(f, self.ty.results.iter(), |f, t| write!(f, "{t}"))?;
        }
        Ok(())
    }
}

impl ExportedFunc {
    /// The one function of `funcs` that takes no parameters, if exactly one does: what a
    /// device's ephemeral slot starts, and `trevm run` calls, when nothing else says what.
    pub fn sole_without_params(funcs: &[ExportedFunc]) -> Option<&ExportedFunc> {
        let mut bare = funcs.iter().filter(|f| f.ty.params.is_empty());
        match (bare.next(), bare.next()) {
            (Some(one), None) => Some(one),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn types_print_as_wit() {
        let t = ValType::Result {
            ok: Some(Box::new(ValType::Tuple(vec![
                ValType::U8,
                ValType::List(Box::new(ValType::U8)),
            ]))),
            err: Some(Box::new(ValType::Enum(vec!["not-found".into()]))),
        };
        assert_eq!(
            t.to_string(),
            "result<tuple<u8, list<u8>>, enum { not-found }>"
        );
        let f = ExportedFunc {
            name: "fibonacci".into(),
            ty: FuncType {
                params: vec![("n".into(), ValType::U32)],
                results: vec![ValType::U32],
            },
        };
        assert_eq!(f.to_string(), "fibonacci(n: u32) -> u32");
        assert_eq!(f.ty.to_string(), "func(n: u32) -> u32");
        assert!(f.ty.is(&[ValType::U32], &[ValType::U32]));
        assert!(!f.ty.is(&[], &[ValType::U32]));
    }
}
