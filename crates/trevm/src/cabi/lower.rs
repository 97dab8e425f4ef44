//! Lowering values to core values (the spec's `lower_flat`).

use alloc::vec::Vec;

use super::cases::Cases;
use super::error::CabiError;
use super::flat::{Flat, FlatType, joined_payload};
use super::memory::GuestMemory;
use super::scalar::{canon_f32, canon_f64};
use super::shape::{case_of, flags_bits, kind, mismatch, record_fields, tuple_items};
use super::store::{store_list, store_string};
use crate::value::{Val, ValType};

/// Appends the core values of `v`, of checked type `t`, to `out`; strings and lists go to fresh
/// guest blocks.
pub(super) fn lower(
    mem: &mut dyn GuestMemory,
    t: &ValType,
    v: &Val,
    out: &mut Vec<Flat>,
) -> Result<(), CabiError> {
    // Signed integers sign-extend, unsigned ones zero-extend into their i32.
    let flat = match (t, v) {
        (ValType::Bool, Val::Bool(x)) => Flat::I32(i32::from(*x)),
        (ValType::S8, Val::S8(x)) => Flat::I32((*x).into()),
        (ValType::U8, Val::U8(x)) => Flat::I32((*x).into()),
        (ValType::S16, Val::S16(x)) => Flat::I32((*x).into()),
        (ValType::U16, Val::U16(x)) => Flat::I32((*x).into()),
        (ValType::S32, Val::S32(x)) => Flat::I32(*x),
        (ValType::U32, Val::U32(x)) => Flat::I32(*x as i32),
        (ValType::S64, Val::S64(x)) => Flat::I64(*x),
        (ValType::U64, Val::U64(x)) => Flat::I64(*x as i64),
        (ValType::Float32, Val::Float32(x)) => Flat::F32(canon_f32(*x)),
        (ValType::Float64, Val::Float64(x)) => Flat::F64(canon_f64(*x)),
        (ValType::Char, Val::Char(c)) => Flat::I32(u32::from(*c) as i32),
        (ValType::String, Val::String(s)) => {
            let (ptr, len) = store_string(mem, s)?;
            out.push(Flat::I32(ptr as i32));
            Flat::I32(len as i32)
        }
        (ValType::List(e), Val::List(items)) => {
            let (ptr, len) = store_list(mem, e, items)?;
            out.push(Flat::I32(ptr as i32));
            Flat::I32(len as i32)
        }
        (ValType::Record(fields), _) => {
            for (ft, fv) in record_fields(t, fields, v)? {
                lower(mem, ft, fv, out)?;
            }
            return Ok(());
        }
        (ValType::Tuple(items), _) => {
            for (it, iv) in tuple_items(t, items, v)? {
                lower(mem, it, iv, out)?;
            }
            return Ok(());
        }
        (ValType::Flags(names), _) => {
            let bits = flags_bits(t, names, v)?;
            if names.is_empty() {
                return Ok(());
            }
            Flat::I32(bits as i32)
        }
        (ValType::Variant(cases), _) => return lower_case(mem, t, Cases::Variant(cases), v, out),
        (ValType::Enum(names), _) => return lower_case(mem, t, Cases::Enum(names), v, out),
        (ValType::Option(p), _) => return lower_case(mem, t, Cases::Option(p), v, out),
        (ValType::Result { ok, err }, _) => {
            let cases = Cases::Result(ok.as_deref(), err.as_deref());
            return lower_case(mem, t, cases, v, out);
        }
        (ValType::Unsupported(name), _) => return Err(CabiError::Unsupported(name.clone())),
        _ => return Err(mismatch(t, kind(v))),
    };
    out.push(flat);
    Ok(())
}

/// A variant-like value: its discriminant, then its payload widened into the joined slots, the
/// slots it does not use zero.
fn lower_case(
    mem: &mut dyn GuestMemory,
    t: &ValType,
    cases: Cases<'_>,
    v: &Val,
    out: &mut Vec<Flat>,
) -> Result<(), CabiError> {
    let (index, payload) = case_of(t, cases, v)?;
    out.push(Flat::I32(index as i32));
    let joined = joined_payload(cases);
    let start = out.len();
    if let Some((pt, pv)) = payload {
        lower(mem, pt, pv, out)?;
    }
    for (slot, &jt) in out[start..].iter_mut().zip(&joined) {
        *slot = widen(*slot, jt);
    }
    let used = out.len() - start;
    out.extend(joined.iter().skip(used).map(|&jt| Flat::zero(jt)));
    Ok(())
}

/// A case's core value in a joined slot of type `want` (the spec's `lower_flat_variant`).
fn widen(have: Flat, want: FlatType) -> Flat {
    match (have, want) {
        (Flat::F32(x), FlatType::I32) => Flat::I32(x.to_bits() as i32),
        (Flat::I32(x), FlatType::I64) => Flat::I64((x as u32).into()),
        (Flat::F32(x), FlatType::I64) => Flat::I64(x.to_bits().into()),
        (Flat::F64(x), FlatType::I64) => Flat::I64(x.to_bits() as i64),
        (have, _) => have,
    }
}
