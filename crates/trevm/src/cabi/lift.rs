//! Lifting values from core values (the spec's `lift_flat`).

use alloc::vec::Vec;

use super::cases::Cases;
use super::error::CabiError;
use super::flat::{Flat, FlatType, flatten, joined_payload};
use super::load::{Lift, load_list, load_string};
use super::scalar::{canon_f32, canon_f64, char_from};
use super::shape::{case_val, flags_val};
use crate::value::{Val, ValType};

/// Core values read in order, each checked against the core type expected.
pub(super) struct Flats<'a> {
    vals: &'a [Flat],
    pos: usize,
}

impl<'a> Flats<'a> {
    pub(super) fn new(vals: &'a [Flat]) -> Self {
        Flats { vals, pos: 0 }
    }

    /// The next value, which must be of type `want`.
    pub(super) fn next(&mut self, want: FlatType) -> Result<Flat, CabiError> {
        let found = self.vals.get(self.pos).copied();
        match found {
            Some(v) if v.ty() == want => {
                self.pos += 1;
                Ok(v)
            }
            _ => Err(CabiError::CoreType {
                expected: Some(want.name()),
                found: found.map(|v| v.ty().name()),
            }),
        }
    }

    /// The next value, an `i32`.
    pub(super) fn i32(&mut self) -> Result<i32, CabiError> {
        match self.next(FlatType::I32)? {
            Flat::I32(x) => Ok(x),
            _ => Err(CabiError::CoreType {
                expected: Some("i32"),
                found: None,
            }),
        }
    }

    /// Fails unless every value was read.
    pub(super) fn finish(&self) -> Result<(), CabiError> {
        match self.vals.get(self.pos) {
            None => Ok(()),
            Some(v) => Err(CabiError::CoreType {
                expected: None,
                found: Some(v.ty().name()),
            }),
        }
    }
}

/// The value of checked type `t` from the next core values of `src`.
pub(super) fn lift(cx: &mut Lift<'_>, t: &ValType, src: &mut Flats<'_>) -> Result<Val, CabiError> {
    cx.budget.values(1)?;
    // Narrow integers take the low bits of their i32, as the spec's `lift_flat_unsigned` does.
    Ok(match t {
        ValType::Bool => Val::Bool(src.i32()? != 0),
        ValType::S8 => Val::S8(src.i32()? as i8),
        ValType::U8 => Val::U8(src.i32()? as u8),
        ValType::S16 => Val::S16(src.i32()? as i16),
        ValType::U16 => Val::U16(src.i32()? as u16),
        ValType::S32 => Val::S32(src.i32()?),
        ValType::U32 => Val::U32(src.i32()? as u32),
        ValType::S64 | ValType::U64 => match src.next(FlatType::I64)? {
            Flat::I64(x) if *t == ValType::S64 => Val::S64(x),
            Flat::I64(x) => Val::U64(x as u64),
            _ => return Err(bad_core(FlatType::I64)),
        },
        ValType::Float32 => match src.next(FlatType::F32)? {
            Flat::F32(x) => Val::Float32(canon_f32(x)),
            _ => return Err(bad_core(FlatType::F32)),
        },
        ValType::Float64 => match src.next(FlatType::F64)? {
            Flat::F64(x) => Val::Float64(canon_f64(x)),
            _ => return Err(bad_core(FlatType::F64)),
        },
        ValType::Char => Val::Char(char_from(src.i32()? as u32)?),
        ValType::String => {
            let (ptr, len) = (src.i32()? as u32, src.i32()? as u32);
            load_string(cx, ptr, len)?
        }
        ValType::List(e) => {
            let (ptr, len) = (src.i32()? as u32, src.i32()? as u32);
            load_list(cx, e, ptr, len)?
        }
        ValType::Record(fields) => {
            let mut out = Vec::with_capacity(fields.len());
            for (name, t) in fields {
                out.push((name.clone(), lift(cx, t, src)?));
            }
            Val::Record(out)
        }
        ValType::Tuple(items) => Val::Tuple(
            items
                .iter()
                .map(|t| lift(cx, t, src))
                .collect::<Result<_, _>>()?,
        ),
        ValType::Flags(names) if names.is_empty() => flags_val(names, 0),
        ValType::Flags(names) => flags_val(names, src.i32()? as u32),
        ValType::Variant(cases) => lift_case(cx, t, Cases::Variant(cases), src)?,
        ValType::Enum(names) => lift_case(cx, t, Cases::Enum(names), src)?,
        ValType::Option(p) => lift_case(cx, t, Cases::Option(p), src)?,
        ValType::Result { ok, err } => {
            lift_case(cx, t, Cases::Result(ok.as_deref(), err.as_deref()), src)?
        }
        ValType::Unsupported(name) => return Err(CabiError::Unsupported(name.clone())),
    })
}

fn bad_core(want: FlatType) -> CabiError {
    CabiError::CoreType {
        expected: Some(want.name()),
        found: None,
    }
}

/// A variant-like value: the discriminant, then the joined payload slots, of which the case's
/// payload takes the first ones, converted back to its own core types.
fn lift_case(
    cx: &mut Lift<'_>,
    t: &ValType,
    cases: Cases<'_>,
    src: &mut Flats<'_>,
) -> Result<Val, CabiError> {
    let index = src.i32()? as u32;
    let joined = joined_payload(cases);
    let slots = joined
        .iter()
        .map(|&jt| src.next(jt))
        .collect::<Result<Vec<_>, _>>()?;
    if index as usize >= cases.len() {
        return Err(CabiError::BadDiscriminant {
            ty: alloc::string::ToString::to_string(t),
            value: index,
        });
    }
    let payload = match cases.payload(index as usize) {
        Some(pt) => {
            let mut want = Vec::new();
            flatten(pt, &mut want);
            let own = want
                .iter()
                .zip(&slots)
                .map(|(&w, &have)| narrow(have, w))
                .collect::<Result<Vec<_>, _>>()?;
            let mut inner = Flats::new(&own);
            let v = lift(cx, pt, &mut inner)?;
            inner.finish()?;
            Some(v)
        }
        None => None,
    };
    Ok(case_val(cases, index, payload))
}

/// A joined slot's value as the case's own core type (the spec's `CoerceValueIter`).
fn narrow(have: Flat, want: FlatType) -> Result<Flat, CabiError> {
    Ok(match (have, want) {
        (Flat::I32(x), FlatType::F32) => Flat::F32(f32::from_bits(x as u32)),
        (Flat::I64(x), FlatType::I32) => Flat::I32(x as i32),
        (Flat::I64(x), FlatType::F32) => Flat::F32(f32::from_bits(x as u32)),
        (Flat::I64(x), FlatType::F64) => Flat::F64(f64::from_bits(x as u64)),
        (have, want) if have.ty() == want => have,
        (have, want) => {
            return Err(CabiError::CoreType {
                expected: Some(want.name()),
                found: Some(have.ty().name()),
            });
        }
    })
}
