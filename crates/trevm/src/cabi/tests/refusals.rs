//! One test per refusal: what a hostile guest or a wrong value gets, and what it reads.

use alloc::boxed::Box;
use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;

use super::super::*;
use super::{VecMemory, list, names};
use crate::value::{Val, ValType};

fn lift_string(mem: &mut VecMemory, ptr: u32, len: u32) -> Result<Vec<Val>, CabiError> {
    lift_args(
        mem,
        &[ValType::String],
        &[Flat::I32(ptr as i32), Flat::I32(len as i32)],
    )
}

#[test]
fn out_of_bounds_ranges_are_refused() {
    let mut mem = VecMemory::new(64);
    let err = lift_string(&mut mem, 62, 4).unwrap_err();
    assert_eq!(err, CabiError::OutOfBounds { ptr: 62, len: 4 });
    assert_eq!(
        err.to_string(),
        "4 bytes at 0x3e are outside the guest's memory"
    );
    // Past 32 bits: refused before asking the memory.
    let err = lift_string(&mut mem, 0xffff_fff0, 0x20).unwrap_err();
    assert_eq!(
        err,
        CabiError::OutOfBounds {
            ptr: 0xffff_fff0,
            len: 0x20
        }
    );
    // A list whose elements' bytes end past 32 bits.
    let t = [list(ValType::U64)];
    let err = lift_args(&mut mem, &t, &[Flat::I32(-8), Flat::I32(2)]).unwrap_err();
    assert_eq!(
        err,
        CabiError::OutOfBounds {
            ptr: 0xffff_fff8,
            len: 16
        }
    );
    // A length whose bytes would pass 32 bits is refused before any arithmetic could wrap.
    let err = lift_args(&mut mem, &t, &[Flat::I32(8), Flat::I32(0x2000_0000)]).unwrap_err();
    assert!(matches!(err, CabiError::TooLarge { .. }), "{err}");
    // Results behind a pointer past the end.
    let err = lift_results(&mut mem, &[ValType::String], &[Flat::I32(60)]).unwrap_err();
    assert_eq!(err, CabiError::OutOfBounds { ptr: 60, len: 8 });
    // An empty string must still start inside the memory.
    assert!(lift_string(&mut mem, 64, 0).is_ok());
    assert!(matches!(
        lift_string(&mut mem, 65, 0),
        Err(CabiError::OutOfBounds { .. })
    ));
}

#[test]
fn misaligned_pointers_are_refused() {
    let mut mem = VecMemory::new(64);
    let err = lift_args(
        &mut mem,
        &[list(ValType::U32)],
        &[Flat::I32(2), Flat::I32(1)],
    )
    .unwrap_err();
    assert_eq!(err, CabiError::Misaligned { ptr: 2, align: 4 });
    assert!(err.to_string().contains("not aligned to 4 bytes"));
    let err = lift_results(&mut mem, &[ValType::String], &[Flat::I32(6)]).unwrap_err();
    assert_eq!(err, CabiError::Misaligned { ptr: 6, align: 4 });
    let vals = [Val::String("x".into())];
    let err = lower_results(&mut mem, &[ValType::String], &vals, Some(5)).unwrap_err();
    assert_eq!(err, CabiError::Misaligned { ptr: 5, align: 4 });
    // A guest allocator handing out misaligned blocks.
    mem.misalign = true;
    let vals = [Val::List(vec![Val::U64(1)])];
    let err = lower_args(&mut mem, &[list(ValType::U64)], &vals).unwrap_err();
    assert_eq!(err, CabiError::Misaligned { ptr: 17, align: 8 });
}

#[test]
fn invalid_utf8_is_refused() {
    let mut mem = VecMemory::new(64);
    mem.bytes[20..23].copy_from_slice(&[b'o', 0xff, b'k']);
    let err = lift_string(&mut mem, 20, 3).unwrap_err();
    assert_eq!(err, CabiError::InvalidUtf8 { ptr: 20, len: 3 });
    assert_eq!(
        err.to_string(),
        "the string of 3 bytes at 0x14 is not valid utf-8"
    );
}

#[test]
fn bad_discriminants_are_refused() {
    let mut mem = VecMemory::new(64);
    let option = [ValType::Option(Box::new(ValType::U32))];
    let err = lift_args(&mut mem, &option, &[Flat::I32(2), Flat::I32(0)]).unwrap_err();
    assert_eq!(
        err,
        CabiError::BadDiscriminant {
            ty: "option<u32>".into(),
            value: 2
        }
    );
    assert_eq!(
        err.to_string(),
        "discriminant 2 names no case of `option<u32>`"
    );
    // In memory: an enum of 3 cases with discriminant 5, behind a results pointer.
    let t = [ValType::Tuple(vec![ValType::Enum(names(3)), ValType::U32])];
    mem.bytes[32] = 5;
    let err = lift_results(&mut mem, &t, &[Flat::I32(32)]).unwrap_err();
    assert!(
        matches!(err, CabiError::BadDiscriminant { value: 5, .. }),
        "{err}"
    );
}

#[test]
fn invalid_chars_are_refused() {
    let mut mem = VecMemory::new(16);
    for c in [0xd800u32, 0xdfff, 0x11_0000, u32::MAX] {
        let err = lift_args(&mut mem, &[ValType::Char], &[Flat::I32(c as i32)]).unwrap_err();
        assert_eq!(err, CabiError::InvalidChar(c));
    }
    assert_eq!(
        CabiError::InvalidChar(0xd800).to_string(),
        "0xd800 is not a valid `char`"
    );
    let ok = lift_args(&mut mem, &[ValType::Char], &[Flat::I32(0x10_ffff)]).unwrap();
    assert_eq!(ok, [Val::Char('\u{10ffff}')]);
}

#[test]
fn lifts_beyond_the_budget_are_refused() {
    // The budget is charged before memory is read: a 2 MiB string in a 64-byte memory is
    // too large, not out of bounds, and nothing of that size is allocated.
    let mut mem = VecMemory::new(64);
    let err = lift_string(&mut mem, 0, 2 << 20).unwrap_err();
    assert_eq!(
        err,
        CabiError::TooLarge {
            what: "bytes lifted in one call",
            limit: MAX_LIFT_BYTES.into()
        }
    );
    assert_eq!(
        err.to_string(),
        "too large: more than 1048576 bytes lifted in one call"
    );
    // Two strings of 600 KiB: each fits, both together do not.
    let mut mem = VecMemory::new(700 << 10);
    let half = 600 << 10;
    assert!(lift_string(&mut mem, 0, half).is_ok());
    let flats = [0, half, 0, half].map(|n| Flat::I32(n as i32));
    let err = lift_args(&mut mem, &[ValType::String, ValType::String], &flats).unwrap_err();
    assert!(matches!(
        err,
        CabiError::TooLarge {
            what: "bytes lifted in one call",
            ..
        }
    ));
    // Values: 70,000 empty tuples take no bytes but too many values.
    let t = [list(ValType::Tuple(vec![]))];
    let err = lift_args(&mut mem, &t, &[Flat::I32(0), Flat::I32(70_000)]).unwrap_err();
    assert_eq!(
        err,
        CabiError::TooLarge {
            what: "values lifted in one call",
            limit: MAX_LIFT_VALUES.into()
        }
    );
    // Within the budget, the same shape is fine.
    let ok = lift_args(&mut mem, &t, &[Flat::I32(0), Flat::I32(60_000)]).unwrap();
    assert!(matches!(&ok[..], [Val::List(items)] if items.len() == 60_000));
}

#[test]
fn values_of_another_type_are_refused() {
    let mut mem = VecMemory::new(64);
    let err = lower_args(&mut mem, &[ValType::U32], &[Val::String("7".into())]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "value does not match type `u32`: found a string"
    );
    let rec = ValType::Record(vec![("a".into(), ValType::U8)]);
    let v = Val::Record(vec![("b".into(), Val::U8(1))]);
    let err = lower_args(&mut mem, &[rec], &[v]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "value does not match type `record { a: u8 }`: found a record with other fields"
    );
    let var = ValType::Variant(vec![("x".into(), Some(ValType::U8))]);
    let err = lower_args(
        &mut mem,
        core::slice::from_ref(&var),
        &[Val::Variant("y".into(), None)],
    );
    assert!(err.unwrap_err().to_string().ends_with("found case `y`"));
    let err = lower_args(&mut mem, &[var], &[Val::Variant("x".into(), None)]);
    assert!(
        err.unwrap_err()
            .to_string()
            .ends_with("found a case without its payload")
    );
    let flags = ValType::Flags(names(2));
    let err = lower_results(&mut mem, &[flags], &[Val::Flags(vec!["zz".into()])], None);
    assert!(err.unwrap_err().to_string().ends_with("found flag `zz`"));
    let tuple = ValType::Tuple(vec![ValType::U8; 2]);
    let err = lower_args(&mut mem, &[tuple], &[Val::Tuple(vec![Val::U8(1)])]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "value does not match type `tuple<u8, u8>`: found a tuple of 1"
    );
    let err = lower_args(&mut mem, &[ValType::U8, ValType::U8], &[Val::U8(1)]).unwrap_err();
    assert_eq!(
        err,
        CabiError::Arity {
            expected: 2,
            found: 1
        }
    );
}

#[test]
fn too_many_flags_are_refused() {
    let mut mem = VecMemory::new(64);
    let t = [ValType::Flags(names(33))];
    assert_eq!(flat_types(&t).unwrap_err(), CabiError::TooManyFlags(33));
    let err = lower_args(&mut mem, &t, &[Val::Flags(vec![])]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "flags with 33 names: at most 32 are supported"
    );
    assert!(flat_types(&[ValType::Flags(names(32))]).is_ok());
}

#[test]
fn types_nested_too_deep_are_refused() {
    let mut mem = VecMemory::new(64);
    let deep = (0..MAX_DEPTH).fold(ValType::U8, |t, _| list(t));
    assert_eq!(size_align(&deep).unwrap_err(), CabiError::TooDeep);
    let err = lift_args(&mut mem, &[deep], &[Flat::I32(0), Flat::I32(0)]).unwrap_err();
    assert_eq!(err.to_string(), "type nested deeper than 32 levels");
    let deepest = (1..MAX_DEPTH).fold(ValType::U8, |t, _| list(t));
    assert!(size_align(&deepest).is_ok());
}

#[test]
fn unsupported_types_are_refused() {
    let mut mem = VecMemory::new(64);
    let t = [ValType::Option(Box::new(ValType::Unsupported(
        "own<socket>".into(),
    )))];
    let err = lift_args(&mut mem, &t, &[Flat::I32(0), Flat::I32(0)]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "type `own<socket>` is not supported by the canonical ABI here"
    );
    assert!(core_signature(&t, &[], SigKind::Export).is_err());
}

#[test]
fn core_values_of_the_wrong_shape_are_refused() {
    let mut mem = VecMemory::new(64);
    let err = lift_args(&mut mem, &[ValType::U32], &[Flat::I64(1)]).unwrap_err();
    assert_eq!(
        err,
        CabiError::CoreType {
            expected: Some("i32"),
            found: Some("i64")
        }
    );
    assert_eq!(
        err.to_string(),
        "core values do not match the signature: expected i32, found i64"
    );
    let err = lift_args(&mut mem, &[ValType::U32], &[Flat::I32(1), Flat::I32(2)]).unwrap_err();
    assert_eq!(
        err,
        CabiError::CoreType {
            expected: None,
            found: Some("i32")
        }
    );
    let err = lift_results(&mut mem, &[ValType::String], &[]).unwrap_err();
    assert_eq!(
        err,
        CabiError::CoreType {
            expected: Some("i32"),
            found: None
        }
    );
    let err = split_retptr(&[ValType::String], &[Flat::F32(1.0)]).unwrap_err();
    assert_eq!(
        err,
        CabiError::CoreType {
            expected: Some("i32"),
            found: Some("f32")
        }
    );
}

#[test]
fn return_pointers_must_match_the_results() {
    let mut mem = VecMemory::new(64);
    let s = [Val::String("x".into())];
    let err = lower_results(&mut mem, &[ValType::String], &s, None).unwrap_err();
    assert_eq!(err, CabiError::RetPtr { needed: true });
    assert!(err.to_string().contains("no return pointer"));
    let err = lower_results(&mut mem, &[ValType::U8], &[Val::U8(1)], Some(16)).unwrap_err();
    assert_eq!(err, CabiError::RetPtr { needed: false });
}

#[test]
fn a_failing_guest_allocator_is_reported() {
    let mut mem = VecMemory::new(32);
    let big = [Val::String("x".repeat(100))];
    let err = lower_args(&mut mem, &[ValType::String], &big).unwrap_err();
    assert_eq!(
        err,
        CabiError::Realloc {
            align: 1,
            size: 100
        }
    );
    assert_eq!(
        err.to_string(),
        "the guest's cabi_realloc failed to allocate 100 bytes aligned to 1"
    );
    // The guest's results pointer into memory it does not have.
    let err = lower_results(
        &mut mem,
        &[ValType::String],
        &[Val::String("".into())],
        Some(64),
    );
    assert!(matches!(
        err,
        Err(CabiError::OutOfBounds { ptr: 64, len: 8 })
    ));
}

#[test]
fn lowering_past_the_specs_byte_bounds_is_refused_before_allocating() {
    let mut mem = VecMemory::new(64);
    // 4,097 elements of 64 KiB: one more than 256 MiB. The elements are not looked at.
    let t = [list(ValType::Tuple(vec![ValType::U64; 8192]))];
    let v = [Val::List(vec![Val::Bool(false); 4097])];
    let err = lower_args(&mut mem, &t, &v).unwrap_err();
    assert_eq!(
        err,
        CabiError::TooLarge {
            what: "bytes in a list",
            limit: (1 << 28) - 1
        }
    );
    assert!(mem.reallocs.is_empty());
}

#[test]
fn a_smaller_budget_refuses_sooner() {
    let mut mem = VecMemory::new(64);
    let budget = LiftBudget::new(4, 100);
    let flats = [Flat::I32(0), Flat::I32(5)];
    let err = lift_args_within(&mut mem, &[ValType::String], &flats, budget).unwrap_err();
    assert_eq!(
        err.to_string(),
        "too large: more than 4 bytes lifted in one call"
    );
    // Results: a list<u8> of 5 at 32, behind the pointer 16.
    mem.bytes[16..24].copy_from_slice(&[32, 0, 0, 0, 5, 0, 0, 0]);
    let t = [list(ValType::U8)];
    let budget = LiftBudget::new(100, 3);
    let err = lift_results_within(&mut mem, &t, &[Flat::I32(16)], budget).unwrap_err();
    assert_eq!(
        err.to_string(),
        "too large: more than 3 values lifted in one call"
    );
    // 2 bytes and 3 values (the list and two elements) fit exactly.
    let budget = LiftBudget::new(2, 3);
    let got = lift_args_within(&mut mem, &t, &[Flat::I32(32), Flat::I32(2)], budget).unwrap();
    assert_eq!(got, [Val::List(vec![Val::U8(0), Val::U8(0)])]);
}
