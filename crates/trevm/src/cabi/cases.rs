//! Variants, enums, options and results seen alike: as a list of cases, each with an optional
//! payload type, as the canonical ABI treats them.

use alloc::string::String;

use crate::value::ValType;

/// The cases of a variant-like type.
#[derive(Clone, Copy)]
pub(super) enum Cases<'a> {
    /// `variant { … }`
    Variant(&'a [(String, Option<ValType>)]),
    /// `enum { … }`: cases without payloads.
    Enum(&'a [String]),
    /// `option<T>`: `none`, `some(T)`.
    Option(&'a ValType),
    /// `result<T, E>`: `ok(T)`, `error(E)`.
    Result(Option<&'a ValType>, Option<&'a ValType>),
}

impl<'a> Cases<'a> {
    /// The cases of `t`, if it is variant-like.
    pub(super) fn of(t: &'a ValType) -> Option<Self> {
        Some(match t {
            ValType::Variant(cases) => Cases::Variant(cases),
            ValType::Enum(names) => Cases::Enum(names),
            ValType::Option(t) => Cases::Option(t),
            ValType::Result { ok, err } => Cases::Result(ok.as_deref(), err.as_deref()),
            _ => return None,
        })
    }

    /// How many cases.
    pub(super) fn len(self) -> usize {
        match self {
            Cases::Variant(cases) => cases.len(),
            Cases::Enum(names) => names.len(),
            Cases::Option(_) | Cases::Result(..) => 2,
        }
    }

    /// The payload type of case `i`, if it has one.
    pub(super) fn payload(self, i: usize) -> Option<&'a ValType> {
        match self {
            Cases::Variant(cases) => cases.get(i).and_then(|(_, t)| t.as_ref()),
            Cases::Enum(_) => None,
            Cases::Option(t) => (i == 1).then_some(t),
            Cases::Result(ok, err) => match i {
                0 => ok,
                1 => err,
                _ => None,
            },
        }
    }

    /// The payload types of all cases that have one.
    pub(super) fn payloads(self) -> impl Iterator<Item = &'a ValType> {
        (0..self.len()).filter_map(move |i| self.payload(i))
    }

    /// Bytes of the discriminant in memory: 1 up to 256 cases, 2 up to 65,536, else 4. Its core
    /// type is always `i32`.
    pub(super) fn discriminant_size(self) -> u32 {
        match self.len() {
            0..=0x100 => 1,
            0x101..=0x1_0000 => 2,
            _ => 4,
        }
    }
}
