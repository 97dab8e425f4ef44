//! Whether a value has a type's shape, and building lifted values of variant-like types.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::cases::Cases;
use super::error::CabiError;
use crate::value::{Val, ValType};

/// [`CabiError::Mismatch`] for `t` and what was `found` instead.
pub(super) fn mismatch(t: &ValType, found: impl Into<String>) -> CabiError {
    CabiError::Mismatch {
        expected: t.to_string(),
        found: found.into(),
    }
}

/// What kind of value `v` is, for [`mismatch`].
pub(super) fn kind(v: &Val) -> &'static str {
    match v {
        Val::Bool(_) => "a bool",
        Val::S8(_) => "an s8",
        Val::U8(_) => "a u8",
        Val::S16(_) => "an s16",
        Val::U16(_) => "a u16",
        Val::S32(_) => "an s32",
        Val::U32(_) => "a u32",
        Val::S64(_) => "an s64",
        Val::U64(_) => "a u64",
        Val::Float32(_) => "an f32",
        Val::Float64(_) => "an f64",
        Val::Char(_) => "a char",
        Val::String(_) => "a string",
        Val::List(_) => "a list",
        Val::Record(_) => "a record",
        Val::Tuple(_) => "a tuple",
        Val::Variant(..) => "a variant",
        Val::Enum(_) => "an enum",
        Val::Option(_) => "an option",
        Val::Result(_) => "a result",
        Val::Flags(_) => "flags",
    }
}

/// A case's payload as a value gives it, with its type.
pub(super) type Payload<'t, 'v> = Option<(&'t ValType, &'v Val)>;

/// The case index of `v` among the `cases` of `t`, and its payload.
pub(super) fn case_of<'t, 'v>(
    t: &'t ValType,
    cases: Cases<'t>,
    v: &'v Val,
) -> Result<(u32, Payload<'t, 'v>), CabiError> {
    let (index, payload): (usize, Option<&Val>) = match (cases, v) {
        (Cases::Variant(cs), Val::Variant(name, payload)) => {
            let i = cs
                .iter()
                .position(|(n, _)| n == name)
                .ok_or_else(|| mismatch(t, format!("case `{name}`")))?;
            (i, payload.as_deref())
        }
        (Cases::Enum(names), Val::Enum(name)) => {
            let i = names
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| mismatch(t, format!("case `{name}`")))?;
            (i, None)
        }
        (Cases::Option(_), Val::Option(None)) => (0, None),
        (Cases::Option(_), Val::Option(Some(p))) => (1, Some(p)),
        (Cases::Result(..), Val::Result(Ok(p))) => (0, p.as_deref()),
        (Cases::Result(..), Val::Result(Err(p))) => (1, p.as_deref()),
        _ => return Err(mismatch(t, kind(v))),
    };
    let payload = match (cases.payload(index), payload) {
        (Some(pt), Some(pv)) => Some((pt, pv)),
        (None, None) => None,
        (Some(_), None) => return Err(mismatch(t, "a case without its payload")),
        (None, Some(_)) => return Err(mismatch(t, "a payload for a case without one")),
    };
    // At most 2^32 cases: the discriminant is 32 bits at most.
    let index = u32::try_from(index).map_err(|_| mismatch(t, "a case past 2^32"))?;
    Ok((index, payload))
}

/// The value of case `index` (checked < `cases.len()`) with its lifted payload.
pub(super) fn case_val(cases: Cases<'_>, index: u32, payload: Option<Val>) -> Val {
    let payload = payload.map(Box::new);
    match cases {
        Cases::Variant(cs) => Val::Variant(cs[index as usize].0.clone(), payload),
        Cases::Enum(names) => Val::Enum(names[index as usize].clone()),
        Cases::Option(_) => Val::Option(payload),
        Cases::Result(..) if index == 0 => Val::Result(Ok(payload)),
        Cases::Result(..) => Val::Result(Err(payload)),
    }
}

/// The record `fields` of `v` paired with their types, if `v` is a record of exactly these
/// field names in this order.
pub(super) fn record_fields<'t, 'v>(
    t: &'t ValType,
    fields: &'t [(String, ValType)],
    v: &'v Val,
) -> Result<impl Iterator<Item = (&'t ValType, &'v Val)>, CabiError> {
    let Val::Record(values) = v else {
        return Err(mismatch(t, kind(v)));
    };
    let same =
        values.len() == fields.len() && values.iter().zip(fields).all(|((a, _), (b, _))| a == b);
    if !same {
        return Err(mismatch(t, "a record with other fields"));
    }
    Ok(fields
        .iter()
        .map(|(_, t)| t)
        .zip(values.iter().map(|(_, v)| v)))
}

/// The tuple `items` of `v` paired with their types, if `v` is a tuple of as many.
pub(super) fn tuple_items<'t, 'v>(
    t: &'t ValType,
    items: &'t [ValType],
    v: &'v Val,
) -> Result<impl Iterator<Item = (&'t ValType, &'v Val)>, CabiError> {
    match v {
        Val::Tuple(values) if values.len() == items.len() => Ok(items.iter().zip(values)),
        Val::Tuple(values) => Err(mismatch(t, format!("a tuple of {}", values.len()))),
        _ => Err(mismatch(t, kind(v))),
    }
}

/// The bits of the flags `v` sets among `names` (at most 32, checked).
pub(super) fn flags_bits(t: &ValType, names: &[String], v: &Val) -> Result<u32, CabiError> {
    let Val::Flags(set) = v else {
        return Err(mismatch(t, kind(v)));
    };
    set.iter().try_fold(0u32, |bits, flag| {
        let i = names
            .iter()
            .position(|n| n == flag)
            .ok_or_else(|| mismatch(t, format!("flag `{flag}`")))?;
        Ok(bits | 1 << i)
    })
}

/// The flags of `names` whose bits `bits` sets (bits past the names are ignored, as the spec
/// does).
pub(super) fn flags_val(names: &[String], bits: u32) -> Val {
    let set: Vec<String> = names
        .iter()
        .enumerate()
        .filter(|&(i, _)| bits & (1 << i) != 0)
        .map(|(_, n)| n.clone())
        .collect();
    Val::Flags(set)
}
