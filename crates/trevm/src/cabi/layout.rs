//! Types checked once, then their size and alignment in linear memory.

use alloc::string::ToString;

use super::bounds::{MAX_DEPTH, MAX_FLAGS};
use super::cases::Cases;
use super::error::CabiError;
use crate::value::ValType;

/// Refuses what this module cannot handle: types nested deeper than [`MAX_DEPTH`], `flags` with
/// more than [`MAX_FLAGS`] names, types without a [`Val`](crate::value::Val). Every entry point
/// checks its types first, so the recursion of the rest of the module is bounded.
pub(super) fn check_types(types: &[ValType]) -> Result<(), CabiError> {
    types.iter().try_for_each(|t| check(t, 1))
}

fn check(t: &ValType, depth: u32) -> Result<(), CabiError> {
    if depth > MAX_DEPTH {
        return Err(CabiError::TooDeep);
    }
    let inner = depth + 1;
    match t {
        ValType::List(t) | ValType::Option(t) => check(t, inner),
        ValType::Record(fields) => fields.iter().try_for_each(|(_, t)| check(t, inner)),
        ValType::Tuple(items) => items.iter().try_for_each(|t| check(t, inner)),
        ValType::Variant(cases) => cases
            .iter()
            .filter_map(|(_, t)| t.as_ref())
            .try_for_each(|t| check(t, inner)),
        ValType::Result { ok, err } => ok
            .iter()
            .chain(err.iter())
            .try_for_each(|t| check(t, inner)),
        ValType::Flags(names) if names.len() > MAX_FLAGS => {
            Err(CabiError::TooManyFlags(names.len()))
        }
        ValType::Unsupported(name) => Err(CabiError::Unsupported(name.to_string())),
        _ => Ok(()),
    }
}

/// Size and alignment in bytes of a value of type `t` in linear memory, after the spec's
/// `elem_size` and `alignment`.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn size_align(t: &ValType) -> Result<(u32, u32), CabiError> {
    check(t, 1)?;
    Ok(layout(t))
}

/// [`size_align`] of a type [`check_types`] accepted. Saturates rather than overflows (only a
/// type of hundreds of millions of fields would).
pub(super) fn layout(t: &ValType) -> (u32, u32) {
    match t {
        ValType::Bool | ValType::S8 | ValType::U8 => (1, 1),
        ValType::S16 | ValType::U16 => (2, 2),
        ValType::S32 | ValType::U32 | ValType::Float32 | ValType::Char => (4, 4),
        ValType::S64 | ValType::U64 | ValType::Float64 => (8, 8),
        ValType::String | ValType::List(_) => (8, 4),
        ValType::Record(fields) => fields_layout(fields.iter().map(|(_, t)| t)),
        ValType::Tuple(items) => fields_layout(items.iter()),
        ValType::Flags(names) => {
            let size = flags_size(names.len());
            (size, size.max(1))
        }
        // Resources are i32 handles; refused by `check_types` anyway.
        ValType::Unsupported(_) => (4, 4),
        ValType::Variant(_) | ValType::Enum(_) | ValType::Option(_) | ValType::Result { .. } => {
            match Cases::of(t) {
                Some(cases) => variant_layout(cases).0,
                None => (4, 4),
            }
        }
    }
}

/// Size and alignment of a record or tuple with these field types.
pub(super) fn fields_layout<'a>(fields: impl Iterator<Item = &'a ValType>) -> (u32, u32) {
    let (mut size, mut align) = (0u32, 1u32);
    for t in fields {
        let (s, a) = layout(t);
        size = align_to(size, a).saturating_add(s);
        align = align.max(a);
    }
    (align_to(size, align), align)
}

/// Size and alignment of a variant-like type, and the offset of its payload.
pub(super) fn variant_layout(cases: Cases<'_>) -> ((u32, u32), u32) {
    let disc = cases.discriminant_size();
    let (mut payload_size, mut payload_align) = (0u32, 1u32);
    for t in cases.payloads() {
        let (s, a) = layout(t);
        payload_size = payload_size.max(s);
        payload_align = payload_align.max(a);
    }
    let offset = align_to(disc, payload_align);
    let align = disc.max(payload_align);
    let size = align_to(offset.saturating_add(payload_size), align);
    ((size, align), offset)
}

/// Bytes of a `flags` value with `n` names (at most [`MAX_FLAGS`]): 1 up to 8, 2 up to 16, else
/// 4; none without names.
pub(super) fn flags_size(n: usize) -> u32 {
    match n {
        0 => 0,
        1..=8 => 1,
        9..=16 => 2,
        _ => 4,
    }
}

/// `x` rounded up to a multiple of `align` (a power of two), saturating.
pub(super) fn align_to(x: u32, align: u32) -> u32 {
    let mask = align.saturating_sub(1);
    x.saturating_add(mask) & !mask
}

/// Each field of a record or tuple with the byte range it takes inside the record.
pub(super) fn field_ranges<'a>(
    fields: impl Iterator<Item = &'a ValType>,
) -> impl Iterator<Item = (&'a ValType, core::ops::Range<usize>)> {
    fields.scan(0u32, |end, t| {
        let (s, a) = layout(t);
        let start = align_to(*end, a);
        *end = start.saturating_add(s);
        Some((t, start as usize..*end as usize))
    })
}
