//! Core wasm values and types, and how WIT types flatten into them (the spec's `flatten_type`
//! and `flatten_functype`).

use alloc::vec;
use alloc::vec::Vec;

use super::bounds::{MAX_FLAT_PARAMS, MAX_FLAT_RESULTS};
use super::cases::Cases;
use super::error::CabiError;
use super::layout::check_types;
use crate::value::ValType;

/// One core wasm value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Flat {
    /// `i32`
    I32(i32),
    /// `i64`
    I64(i64),
    /// `f32`
    F32(f32),
    /// `f64`
    F64(f64),
}

/// The type of a [`Flat`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlatType {
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `f32`
    F32,
    /// `f64`
    F64,
}

impl Flat {
    /// Its type.
    pub(crate) fn ty(self) -> FlatType {
        match self {
            Flat::I32(_) => FlatType::I32,
            Flat::I64(_) => FlatType::I64,
            Flat::F32(_) => FlatType::F32,
            Flat::F64(_) => FlatType::F64,
        }
    }

    /// The zero of type `t`: what pads a variant's unused payload slots.
    pub(super) fn zero(t: FlatType) -> Self {
        match t {
            FlatType::I32 => Flat::I32(0),
            FlatType::I64 => Flat::I64(0),
            FlatType::F32 => Flat::F32(0.0),
            FlatType::F64 => Flat::F64(0.0),
        }
    }
}

impl FlatType {
    /// The wasm name: `i32`, …
    pub(crate) fn name(self) -> &'static str {
        match self {
            FlatType::I32 => "i32",
            FlatType::I64 => "i64",
            FlatType::F32 => "f32",
            FlatType::F64 => "f64",
        }
    }

    /// The slot type that holds both `self` and `other` in a variant's joined payload.
    fn join(self, other: FlatType) -> FlatType {
        match (self, other) {
            (a, b) if a == b => a,
            (FlatType::I32, FlatType::F32) | (FlatType::F32, FlatType::I32) => FlatType::I32,
            _ => FlatType::I64,
        }
    }
}

/// Which side lowers the results that do not fit [`MAX_FLAT_RESULTS`] core results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SigKind {
    /// A guest export the host calls: the guest returns one `i32` pointer to its results.
    Export,
    /// A guest import the host serves: the guest passes a trailing `i32` pointer where the host
    /// writes the results, and the core function returns nothing.
    Import,
}

/// The core types `types` flatten to, in order.
pub(crate) fn flat_types(types: &[ValType]) -> Result<Vec<FlatType>, CabiError> {
    check_types(types)?;
    Ok(flatten_all(types))
}

/// [`flat_types`] of checked types.
pub(super) fn flatten_all(types: &[ValType]) -> Vec<FlatType> {
    let mut out = Vec::new();
    types.iter().for_each(|t| flatten(t, &mut out));
    out
}

/// How many core values checked `types` flatten to (`flatten_all(types).len()` without
/// allocating): what decides whether they spill to memory.
pub(super) fn flat_count(types: &[ValType]) -> usize {
    types.iter().map(count).sum()
}

fn count(t: &ValType) -> usize {
    match t {
        ValType::String | ValType::List(_) => 2,
        ValType::Record(fields) => fields.iter().map(|(_, t)| count(t)).sum(),
        ValType::Tuple(items) => items.iter().map(count).sum(),
        ValType::Flags(names) if names.is_empty() => 0,
        ValType::Variant(_) | ValType::Enum(_) | ValType::Option(_) | ValType::Result { .. } => {
            // The joined payload is as long as the longest case's.
            let cases = Cases::of(t).into_iter().flat_map(|c| c.payloads());
            1 + cases.map(count).max().unwrap_or(0)
        }
        _ => 1,
    }
}

/// Appends the core types of a checked `t` to `out`.
pub(super) fn flatten(t: &ValType, out: &mut Vec<FlatType>) {
    match t {
        ValType::Bool
        | ValType::S8
        | ValType::U8
        | ValType::S16
        | ValType::U16
        | ValType::S32
        | ValType::U32
        | ValType::Char => out.push(FlatType::I32),
        ValType::S64 | ValType::U64 => out.push(FlatType::I64),
        ValType::Float32 => out.push(FlatType::F32),
        ValType::Float64 => out.push(FlatType::F64),
        ValType::String | ValType::List(_) => out.extend([FlatType::I32, FlatType::I32]),
        ValType::Record(fields) => fields.iter().for_each(|(_, t)| flatten(t, out)),
        ValType::Tuple(items) => items.iter().for_each(|t| flatten(t, out)),
        ValType::Flags(names) if names.is_empty() => {}
        ValType::Flags(_) | ValType::Unsupported(_) => out.push(FlatType::I32),
        ValType::Variant(_) | ValType::Enum(_) | ValType::Option(_) | ValType::Result { .. } => {
            out.push(FlatType::I32);
            if let Some(cases) = Cases::of(t) {
                out.extend(joined_payload(cases));
            }
        }
    }
}

/// The core types of a variant's payload slots: each case's payload flattened, joined slot by
/// slot.
pub(super) fn joined_payload(cases: Cases<'_>) -> Vec<FlatType> {
    let mut joined: Vec<FlatType> = Vec::new();
    let mut case = Vec::new();
    for t in cases.payloads() {
        case.clear();
        flatten(t, &mut case);
        for (i, &ft) in case.iter().enumerate() {
            match joined.get_mut(i) {
                Some(slot) => *slot = slot.join(ft),
                None => joined.push(ft),
            }
        }
    }
    joined
}

/// The core function type (params, results) a WIT function of `params` and `results` becomes:
/// more than [`MAX_FLAT_PARAMS`] core params are one `i32` pointer; more than
/// [`MAX_FLAT_RESULTS`] core results are one `i32` result ([`SigKind::Export`]) or a trailing
/// `i32` param and no result ([`SigKind::Import`]).
pub(crate) fn core_signature(
    params: &[ValType],
    results: &[ValType],
    kind: SigKind,
) -> Result<(Vec<FlatType>, Vec<FlatType>), CabiError> {
    let mut core_params = flat_types(params)?;
    if core_params.len() > MAX_FLAT_PARAMS {
        core_params = vec![FlatType::I32];
    }
    let mut core_results = flat_types(results)?;
    if core_results.len() > MAX_FLAT_RESULTS {
        core_results = match kind {
            SigKind::Export => vec![FlatType::I32],
            SigKind::Import => {
                core_params.push(FlatType::I32);
                Vec::new()
            }
        };
    }
    Ok((core_params, core_results))
}
