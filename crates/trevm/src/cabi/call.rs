//! The four steps of a call across the boundary, in both directions.

use alloc::vec;
use alloc::vec::Vec;

use super::bounds::{MAX_FLAT_PARAMS, MAX_FLAT_RESULTS};
use super::error::CabiError;
use super::flat::{Flat, flat_count};
use super::layout::{check_types, field_ranges, fields_layout};
use super::lift::{Flats, lift};
use super::load::{Lift, load_fields};
use super::lower::lower;
use super::memory::{GuestMemory, LiftBudget, alloc, check_aligned, read_range};
use super::store::store;
use crate::value::{Val, ValType};

/// Export direction, before the call: the core arguments for `vals` of `types`. Strings and
/// lists go to blocks from the guest's `cabi_realloc`; past [`MAX_FLAT_PARAMS`] core values the
/// arguments are stored in one block and its pointer is the only argument.
pub(crate) fn lower_args(
    mem: &mut dyn GuestMemory,
    types: &[ValType],
    vals: &[Val],
) -> Result<Vec<Flat>, CabiError> {
    check_types(types)?;
    check_arity(types, vals)?;
    let count = flat_count(types);
    if count > MAX_FLAT_PARAMS {
        let (size, align) = fields_layout(types.iter());
        let ptr = alloc(
            mem,
            align,
            size.into(),
            "bytes of arguments",
            u32::MAX.into(),
        )?;
        store_tuple(mem, types, vals, ptr)?;
        return Ok(vec![Flat::I32(ptr as i32)]);
    }
    let mut out = Vec::with_capacity(count);
    for (t, v) in types.iter().zip(vals) {
        lower(mem, t, v, &mut out)?;
    }
    Ok(out)
}

/// Export direction, after the call: the results of `types` from the core results `flats`
/// (past [`MAX_FLAT_RESULTS`] core values, one `i32` pointing to them in guest memory).
/// Copies at most [`MAX_LIFT_BYTES`](super::MAX_LIFT_BYTES) bytes and
/// [`MAX_LIFT_VALUES`](super::MAX_LIFT_VALUES) values out of the guest.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn lift_results(
    mem: &mut dyn GuestMemory,
    types: &[ValType],
    flats: &[Flat],
) -> Result<Vec<Val>, CabiError> {
    lift_values(mem, types, flats, MAX_FLAT_RESULTS, LiftBudget::DEFAULT)
}

/// [`lift_results`] within another `budget`.
pub(crate) fn lift_results_within(
    mem: &mut dyn GuestMemory,
    types: &[ValType],
    flats: &[Flat],
    budget: LiftBudget,
) -> Result<Vec<Val>, CabiError> {
    lift_values(mem, types, flats, MAX_FLAT_RESULTS, budget)
}

/// Import direction, on entry: the arguments of `types` from the guest's core arguments
/// `flats` (past [`MAX_FLAT_PARAMS`] core values, one `i32` pointing to them), without the
/// return pointer [`split_retptr`] takes off. Bounded as [`lift_results`] is.
pub(crate) fn lift_args(
    mem: &mut dyn GuestMemory,
    types: &[ValType],
    flats: &[Flat],
) -> Result<Vec<Val>, CabiError> {
    lift_values(mem, types, flats, MAX_FLAT_PARAMS, LiftBudget::DEFAULT)
}

/// [`lift_args`] within another `budget`.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn lift_args_within(
    mem: &mut dyn GuestMemory,
    types: &[ValType],
    flats: &[Flat],
    budget: LiftBudget,
) -> Result<Vec<Val>, CabiError> {
    lift_values(mem, types, flats, MAX_FLAT_PARAMS, budget)
}

/// Import direction, on return: the core results for `vals` of `types`, or, when they take
/// more than [`MAX_FLAT_RESULTS`] core values, nothing: they are stored at `retptr` (which the
/// guest passed, see [`split_retptr`]; [`CabiError::RetPtr`] if it is missing, or given when
/// not needed).
pub(crate) fn lower_results(
    mem: &mut dyn GuestMemory,
    types: &[ValType],
    vals: &[Val],
    retptr: Option<u32>,
) -> Result<Vec<Flat>, CabiError> {
    check_types(types)?;
    check_arity(types, vals)?;
    let count = flat_count(types);
    match (count > MAX_FLAT_RESULTS, retptr) {
        (true, Some(ptr)) => {
            check_aligned(ptr, fields_layout(types.iter()).1)?;
            store_tuple(mem, types, vals, ptr)?;
            Ok(Vec::new())
        }
        (false, None) => {
            let mut out = Vec::with_capacity(count);
            for (t, v) in types.iter().zip(vals) {
                lower(mem, t, v, &mut out)?;
            }
            Ok(out)
        }
        (needed, _) => Err(CabiError::RetPtr { needed }),
    }
}

/// Import direction: the guest's core arguments split into those of the parameters and the
/// trailing return pointer, which it passes when `results` take more than
/// [`MAX_FLAT_RESULTS`] core values.
pub(crate) fn split_retptr<'a>(
    results: &[ValType],
    args: &'a [Flat],
) -> Result<(&'a [Flat], Option<u32>), CabiError> {
    check_types(results)?;
    if flat_count(results) <= MAX_FLAT_RESULTS {
        return Ok((args, None));
    }
    match args.split_last() {
        Some((Flat::I32(ptr), rest)) => Ok((rest, Some(*ptr as u32))),
        last => Err(CabiError::CoreType {
            expected: Some("i32"),
            found: last.map(|(v, _)| v.ty().name()),
        }),
    }
}

fn check_arity(types: &[ValType], vals: &[Val]) -> Result<(), CabiError> {
    if types.len() == vals.len() {
        Ok(())
    } else {
        Err(CabiError::Arity {
            expected: types.len(),
            found: vals.len(),
        })
    }
}

fn lift_values(
    mem: &mut dyn GuestMemory,
    types: &[ValType],
    flats: &[Flat],
    max_flat: usize,
    budget: LiftBudget,
) -> Result<Vec<Val>, CabiError> {
    check_types(types)?;
    let mut cx = Lift { mem, budget };
    let mut src = Flats::new(flats);
    if flat_count(types) > max_flat {
        let ptr = src.i32()? as u32;
        src.finish()?;
        let (size, align) = fields_layout(types.iter());
        let bytes = read_range(cx.mem, &mut cx.budget, ptr, size.into(), align)?;
        return load_fields(&mut cx, types, &bytes);
    }
    let vals = types
        .iter()
        .map(|t| lift(&mut cx, t, &mut src))
        .collect::<Result<Vec<_>, _>>()?;
    src.finish()?;
    Ok(vals)
}

/// Stores `vals` of `types` as a tuple at `ptr` (aligned for it).
fn store_tuple(
    mem: &mut dyn GuestMemory,
    types: &[ValType],
    vals: &[Val],
    ptr: u32,
) -> Result<(), CabiError> {
    let (size, _) = fields_layout(types.iter());
    let mut buf = vec![0; size as usize];
    for ((t, r), v) in field_ranges(types.iter()).zip(vals) {
        store(mem, t, v, &mut buf[r])?;
    }
    mem.write(ptr, &buf)
}
