//! Lifting values out of linear memory (the spec's `load`), within a [`LiftBudget`].

use alloc::string::String;
use alloc::vec::Vec;

use super::cases::Cases;
use super::error::CabiError;
use super::layout::{field_ranges, flags_size, layout, variant_layout};
use super::memory::{GuestMemory, LiftBudget, read_range};
use super::scalar::{canon_f32, canon_f64, char_from, le};
use super::shape::{case_val, flags_val};
use crate::value::{Val, ValType};

/// What one lift works with: the guest's memory and what it may still copy out of it.
pub(super) struct Lift<'m> {
    /// The guest's memory.
    pub(super) mem: &'m mut dyn GuestMemory,
    /// What is left to copy.
    pub(super) budget: LiftBudget,
}

/// The value of checked type `t` stored in `b` (exactly its size, copied from guest memory at
/// an address aligned for `t`).
pub(super) fn load(cx: &mut Lift<'_>, t: &ValType, b: &[u8]) -> Result<Val, CabiError> {
    cx.budget.values(1)?;
    let word = |at| le(b, at, 4) as u32;
    Ok(match t {
        ValType::Bool => Val::Bool(b[0] != 0),
        ValType::S8 => Val::S8(b[0] as i8),
        ValType::U8 => Val::U8(b[0]),
        ValType::S16 => Val::S16(le(b, 0, 2) as u16 as i16),
        ValType::U16 => Val::U16(le(b, 0, 2) as u16),
        ValType::S32 => Val::S32(word(0) as i32),
        ValType::U32 => Val::U32(word(0)),
        ValType::S64 => Val::S64(le(b, 0, 8) as i64),
        ValType::U64 => Val::U64(le(b, 0, 8)),
        ValType::Float32 => Val::Float32(canon_f32(f32::from_bits(word(0)))),
        ValType::Float64 => Val::Float64(canon_f64(f64::from_bits(le(b, 0, 8)))),
        ValType::Char => Val::Char(char_from(word(0))?),
        ValType::String => load_string(cx, word(0), word(4))?,
        ValType::List(e) => load_list(cx, e, word(0), word(4))?,
        ValType::Record(fields) => {
            let mut out = Vec::with_capacity(fields.len());
            for ((name, _), (t, r)) in fields.iter().zip(field_ranges(fields.iter().map(|f| &f.1)))
            {
                out.push((name.clone(), load(cx, t, &b[r])?));
            }
            Val::Record(out)
        }
        ValType::Tuple(items) => Val::Tuple(load_fields(cx, items, b)?),
        ValType::Flags(names) => flags_val(names, le(b, 0, flags_size(names.len())) as u32),
        ValType::Variant(cases) => load_case(cx, t, Cases::Variant(cases), b)?,
        ValType::Enum(names) => load_case(cx, t, Cases::Enum(names), b)?,
        ValType::Option(p) => load_case(cx, t, Cases::Option(p), b)?,
        ValType::Result { ok, err } => {
            load_case(cx, t, Cases::Result(ok.as_deref(), err.as_deref()), b)?
        }
        ValType::Unsupported(name) => return Err(CabiError::Unsupported(name.clone())),
    })
}

/// The values of a tuple of checked `types` stored in `b`.
pub(super) fn load_fields(
    cx: &mut Lift<'_>,
    types: &[ValType],
    b: &[u8],
) -> Result<Vec<Val>, CabiError> {
    field_ranges(types.iter())
        .map(|(t, r)| load(cx, t, &b[r]))
        .collect()
}

fn load_case(cx: &mut Lift<'_>, t: &ValType, cases: Cases<'_>, b: &[u8]) -> Result<Val, CabiError> {
    let (_, offset) = variant_layout(cases);
    let index = le(b, 0, cases.discriminant_size()) as u32;
    if index as usize >= cases.len() {
        return Err(CabiError::BadDiscriminant {
            ty: alloc::string::ToString::to_string(t),
            value: index,
        });
    }
    let payload = match cases.payload(index as usize) {
        Some(pt) => {
            let start = offset as usize;
            let end = start + layout(pt).0 as usize;
            Some(load(cx, pt, &b[start..end])?)
        }
        None => None,
    };
    Ok(case_val(cases, index, payload))
}

/// The utf-8 string of `len` bytes at `ptr`.
pub(super) fn load_string(cx: &mut Lift<'_>, ptr: u32, len: u32) -> Result<Val, CabiError> {
    let bytes = read_range(cx.mem, &mut cx.budget, ptr, len.into(), 1)?;
    let s = String::from_utf8(bytes).map_err(|_| CabiError::InvalidUtf8 { ptr, len })?;
    Ok(Val::String(s))
}

/// The list of `len` elements of checked type `e` at `ptr`.
pub(super) fn load_list(
    cx: &mut Lift<'_>,
    e: &ValType,
    ptr: u32,
    len: u32,
) -> Result<Val, CabiError> {
    let (size, align) = layout(e);
    // Room for the elements is reserved only once the budget says they may all be lifted.
    cx.budget.has_values(len.into())?;
    let bytes = read_range(
        cx.mem,
        &mut cx.budget,
        ptr,
        u64::from(len) * u64::from(size),
        align,
    )?;
    let size = size as usize;
    let mut out = Vec::with_capacity(len as usize);
    for i in 0..len as usize {
        let start = i * size;
        out.push(load(cx, e, &bytes[start..start + size])?);
    }
    Ok(Val::List(out))
}
