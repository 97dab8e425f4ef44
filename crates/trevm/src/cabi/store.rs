//! Lowering values into linear memory (the spec's `store`), allocating strings and lists with
//! the guest's `cabi_realloc`.

use alloc::vec;

use super::cases::Cases;
use super::error::CabiError;
use super::layout::{field_ranges, flags_size, layout, variant_layout};
use super::memory::{GuestMemory, alloc};
use super::scalar::{canon_f32, canon_f64, put_le};
use super::shape::{case_of, flags_bits, kind, mismatch, record_fields, tuple_items};
use crate::value::{Val, ValType};

/// The spec's bound on the bytes of a string (`MAX_STRING_BYTE_LENGTH`) and of a list's
/// elements (`MAX_LIST_BYTE_LENGTH`): 256 MiB − 1. (A lift stops far earlier, at
/// [`MAX_LIFT_BYTES`](super::MAX_LIFT_BYTES).)
const MAX_BYTE_LENGTH: u64 = (1 << 28) - 1;

/// Writes `v`, of checked type `t`, into `b` (exactly the size of `t`, zeroed, to be written
/// to guest memory at an address aligned for `t`).
pub(super) fn store(
    mem: &mut dyn GuestMemory,
    t: &ValType,
    v: &Val,
    b: &mut [u8],
) -> Result<(), CabiError> {
    match (t, v) {
        (ValType::Bool, Val::Bool(x)) => b[0] = u8::from(*x),
        (ValType::S8, Val::S8(x)) => b[0] = *x as u8,
        (ValType::U8, Val::U8(x)) => b[0] = *x,
        (ValType::S16, Val::S16(x)) => put_le(b, 0, 2, *x as u16 as u64),
        (ValType::U16, Val::U16(x)) => put_le(b, 0, 2, (*x).into()),
        (ValType::S32, Val::S32(x)) => put_le(b, 0, 4, *x as u32 as u64),
        (ValType::U32, Val::U32(x)) => put_le(b, 0, 4, (*x).into()),
        (ValType::S64, Val::S64(x)) => put_le(b, 0, 8, *x as u64),
        (ValType::U64, Val::U64(x)) => put_le(b, 0, 8, *x),
        (ValType::Float32, Val::Float32(x)) => put_le(b, 0, 4, canon_f32(*x).to_bits().into()),
        (ValType::Float64, Val::Float64(x)) => put_le(b, 0, 8, canon_f64(*x).to_bits()),
        (ValType::Char, Val::Char(c)) => put_le(b, 0, 4, u32::from(*c).into()),
        (ValType::String, Val::String(s)) => {
            let (ptr, len) = store_string(mem, s)?;
            put_le(b, 0, 4, ptr.into());
            put_le(b, 4, 4, len.into());
        }
        (ValType::List(e), Val::List(items)) => {
            let (ptr, len) = store_list(mem, e, items)?;
            put_le(b, 0, 4, ptr.into());
            put_le(b, 4, 4, len.into());
        }
        (ValType::Record(fields), _) => {
            let ranges = field_ranges(fields.iter().map(|f| &f.1));
            for ((ft, fv), (_, r)) in record_fields(t, fields, v)?.zip(ranges) {
                store(mem, ft, fv, &mut b[r])?;
            }
        }
        (ValType::Tuple(items), _) => {
            for ((it, iv), (_, r)) in tuple_items(t, items, v)?.zip(field_ranges(items.iter())) {
                store(mem, it, iv, &mut b[r])?;
            }
        }
        (ValType::Flags(names), _) => {
            let bits = flags_bits(t, names, v)?;
            put_le(b, 0, flags_size(names.len()), bits.into());
        }
        (ValType::Variant(cases), _) => store_case(mem, t, Cases::Variant(cases), v, b)?,
        (ValType::Enum(names), _) => store_case(mem, t, Cases::Enum(names), v, b)?,
        (ValType::Option(p), _) => store_case(mem, t, Cases::Option(p), v, b)?,
        (ValType::Result { ok, err }, _) => {
            let cases = Cases::Result(ok.as_deref(), err.as_deref());
            store_case(mem, t, cases, v, b)?
        }
        (ValType::Unsupported(name), _) => return Err(CabiError::Unsupported(name.clone())),
        _ => return Err(mismatch(t, kind(v))),
    }
    Ok(())
}

fn store_case(
    mem: &mut dyn GuestMemory,
    t: &ValType,
    cases: Cases<'_>,
    v: &Val,
    b: &mut [u8],
) -> Result<(), CabiError> {
    let (index, payload) = case_of(t, cases, v)?;
    put_le(b, 0, cases.discriminant_size(), index.into());
    if let Some((pt, pv)) = payload {
        let start = variant_layout(cases).1 as usize;
        let end = start + layout(pt).0 as usize;
        store(mem, pt, pv, &mut b[start..end])?;
    }
    Ok(())
}

/// Copies `s` into a fresh guest block: its (pointer, length).
pub(super) fn store_string(mem: &mut dyn GuestMemory, s: &str) -> Result<(u32, u32), CabiError> {
    let ptr = alloc(mem, 1, s.len() as u64, "bytes in a string", MAX_BYTE_LENGTH)?;
    mem.write(ptr, s.as_bytes())?;
    // `alloc` checked the length against MAX_BYTE_LENGTH.
    Ok((ptr, s.len() as u32))
}

/// Stores `items` of checked type `e` into a fresh guest block: its (pointer, length).
pub(super) fn store_list(
    mem: &mut dyn GuestMemory,
    e: &ValType,
    items: &[Val],
) -> Result<(u32, u32), CabiError> {
    let (size, align) = layout(e);
    let bytes = items.len() as u64 * u64::from(size);
    let ptr = alloc(mem, align, bytes, "bytes in a list", MAX_BYTE_LENGTH)?;
    let len = u32::try_from(items.len()).map_err(|_| CabiError::TooLarge {
        what: "elements in a list",
        limit: u32::MAX.into(),
    })?;
    let size = size as usize;
    let mut buf = vec![0; bytes as usize];
    for (i, item) in items.iter().enumerate() {
        store(mem, e, item, &mut buf[i * size..(i + 1) * size])?;
    }
    mem.write(ptr, &buf)?;
    Ok((ptr, len))
}
