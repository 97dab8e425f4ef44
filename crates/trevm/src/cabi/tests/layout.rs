//! Layouts and core values the spec gives, written out by hand.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::super::*;
use super::{VecMemory, list, names};
use crate::value::{Val, ValType};

/// `result<tuple<u8, list<u8>>, enum { a, b, c }>`: what coap-run returns.
fn coap_result() -> ValType {
    ValType::Result {
        ok: Some(Box::new(ValType::Tuple(vec![
            ValType::U8,
            list(ValType::U8),
        ]))),
        err: Some(Box::new(ValType::Enum(vec![
            "a".into(),
            "b".into(),
            "c".into(),
        ]))),
    }
}

fn bytes(v: &[u8]) -> Val {
    Val::List(v.iter().map(|&b| Val::U8(b)).collect())
}

#[test]
fn string_lowers_to_pointer_and_length_of_its_utf8() {
    let mut mem = VecMemory::new(256);
    let flats = lower_args(&mut mem, &[ValType::String], &[Val::String("héllo".into())]).unwrap();
    let [Flat::I32(ptr), Flat::I32(len)] = flats[..] else {
        panic!("{flats:?}")
    };
    assert_eq!(len, 6);
    assert_eq!(mem.at(ptr as u32, 6), "héllo".as_bytes());
    assert_eq!(mem.reallocs, [(1, 6)]);
}

#[test]
fn sizes_and_alignments_are_the_specs() {
    let cases = [
        (ValType::Bool, (1, 1)),
        (ValType::U16, (2, 2)),
        (ValType::Char, (4, 4)),
        (ValType::Float64, (8, 8)),
        (ValType::String, (8, 4)),
        (list(ValType::U64), (8, 4)),
        (
            ValType::Tuple(vec![ValType::U8, list(ValType::U8)]),
            (12, 4),
        ),
        (
            ValType::Tuple(vec![ValType::U8, ValType::U64, ValType::U8]),
            (24, 8),
        ),
        (ValType::Tuple(vec![]), (0, 1)),
        (ValType::Option(Box::new(ValType::U64)), (16, 8)),
        (ValType::Enum(names(256)), (1, 1)),
        (ValType::Enum(names(257)), (2, 2)),
        (ValType::Flags(names(8)), (1, 1)),
        (ValType::Flags(names(9)), (2, 2)),
        (ValType::Flags(names(17)), (4, 4)),
        (coap_result(), (16, 4)),
        (
            ValType::Result {
                ok: None,
                err: None,
            },
            (1, 1),
        ),
    ];
    for (t, want) in cases {
        assert_eq!(size_align(&t).unwrap(), want, "{t}");
    }
}

#[test]
fn signatures_spill_as_the_spec_says() {
    use FlatType::*;
    let params = [ValType::U8, ValType::U32, list(ValType::U8)];
    let results = [coap_result()];
    assert_eq!(
        core_signature(&params, &results, SigKind::Export).unwrap(),
        (vec![I32, I32, I32, I32], vec![I32])
    );
    assert_eq!(
        core_signature(&params, &results, SigKind::Import).unwrap(),
        (vec![I32, I32, I32, I32, I32], vec![])
    );
    assert_eq!(
        core_signature(
            &vec![ValType::U64; 17],
            &[ValType::Float32],
            SigKind::Export
        )
        .unwrap(),
        (vec![I32], vec![F32])
    );
    assert_eq!(
        core_signature(&vec![ValType::U64; 16], &[], SigKind::Import).unwrap(),
        (vec![I64; 16], vec![])
    );
    // The coap-run result flattens to 4 values: discriminant, then u8 / enum joined, then the
    // list's pointer and length.
    assert_eq!(flat_types(&results).unwrap(), [I32, I32, I32, I32]);
}

#[test]
fn coap_result_has_the_specs_bytes() {
    let t = [coap_result()];
    let mut mem = VecMemory::new(256);
    let ok = Val::Result(Ok(Some(Box::new(Val::Tuple(vec![
        Val::U8(7),
        bytes(&[1, 2, 3]),
    ])))));
    assert_eq!(
        lower_results(&mut mem, &t, core::slice::from_ref(&ok), Some(64)).unwrap(),
        []
    );
    let list_ptr = mem.reallocs.len(); // one block: the list's
    assert_eq!(list_ptr, 1);
    let mut want: Vec<u8> = vec![0, 0, 0, 0, 7, 0, 0, 0];
    want.extend(16u32.to_le_bytes()); // the list went to the first block
    want.extend(3u32.to_le_bytes());
    assert_eq!(mem.at(64, 16), want);
    assert_eq!(mem.at(16, 3), [1, 2, 3]);
    assert_eq!(lift_results(&mut mem, &t, &[Flat::I32(64)]).unwrap(), [ok]);

    // Hand-written: err(c), with garbage in the unused payload bytes (ignored).
    mem.bytes[128..144].copy_from_slice(&[1, 0xaa, 0xbb, 0xcc, 2, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]);
    let err = Val::Result(Err(Some(Box::new(Val::Enum("c".into())))));
    assert_eq!(
        lift_results(&mut mem, &t, &[Flat::I32(128)]).unwrap(),
        [err]
    );
}

#[test]
fn variant_payloads_join_into_shared_slots() {
    use FlatType::*;
    let t = ValType::Variant(vec![
        ("a".into(), Some(ValType::Float32)),
        ("b".into(), Some(ValType::U64)),
        (
            "c".into(),
            Some(ValType::Tuple(vec![ValType::Float64, ValType::Float32])),
        ),
        ("d".into(), None),
    ]);
    assert_eq!(
        flat_types(core::slice::from_ref(&t)).unwrap(),
        [I32, I64, F32]
    );
    let mut mem = VecMemory::new(64);
    let case = |name: &str, v: Option<Val>| Val::Variant(name.into(), v.map(Box::new));
    let a = case("a", Some(Val::Float32(1.5)));
    let c = case(
        "c",
        Some(Val::Tuple(vec![Val::Float64(-2.0), Val::Float32(3.0)])),
    );
    let d = case("d", None);
    let lowered = |mem: &mut VecMemory, v: &Val| {
        lower_args(mem, core::slice::from_ref(&t), core::slice::from_ref(v)).unwrap()
    };
    assert_eq!(
        lowered(&mut mem, &a),
        [
            Flat::I32(0),
            Flat::I64(1.5f32.to_bits().into()),
            Flat::F32(0.0)
        ]
    );
    assert_eq!(
        lowered(&mut mem, &c),
        [
            Flat::I32(2),
            Flat::I64((-2.0f64).to_bits() as i64),
            Flat::F32(3.0)
        ]
    );
    assert_eq!(
        lowered(&mut mem, &d),
        [Flat::I32(3), Flat::I64(0), Flat::F32(0.0)]
    );
    for v in [a, c, d] {
        let flats = lowered(&mut mem, &v);
        assert_eq!(
            lift_args(&mut mem, core::slice::from_ref(&t), &flats).unwrap(),
            [v]
        );
    }
    // f32 and i32 share an i32 slot: the float travels as its bits.
    let t = ValType::Variant(vec![
        ("f".into(), Some(ValType::Float32)),
        ("u".into(), Some(ValType::U32)),
    ]);
    assert_eq!(flat_types(core::slice::from_ref(&t)).unwrap(), [I32, I32]);
    let f = Val::Variant("f".into(), Some(Box::new(Val::Float32(-0.5))));
    let flats = lower_args(
        &mut mem,
        core::slice::from_ref(&t),
        core::slice::from_ref(&f),
    )
    .unwrap();
    assert_eq!(flats, [Flat::I32(0), Flat::I32((-0.5f32).to_bits() as i32)]);
    assert_eq!(lift_args(&mut mem, &[t], &flats).unwrap(), [f]);
}

#[test]
fn integers_extend_when_lowered_and_truncate_when_lifted() {
    let mut mem = VecMemory::new(16);
    let types = [
        ValType::S8,
        ValType::U8,
        ValType::S16,
        ValType::U32,
        ValType::U64,
    ];
    let vals = [
        Val::S8(-1),
        Val::U8(255),
        Val::S16(-2),
        Val::U32(u32::MAX),
        Val::U64(u64::MAX),
    ];
    assert_eq!(
        lower_args(&mut mem, &types, &vals).unwrap(),
        [
            Flat::I32(-1),
            Flat::I32(255),
            Flat::I32(-2),
            Flat::I32(-1),
            Flat::I64(-1)
        ]
    );
    let lifted = lift_args(
        &mut mem,
        &[ValType::U8, ValType::S8, ValType::Bool, ValType::U16],
        &[
            Flat::I32(0x1ff),
            Flat::I32(0x180),
            Flat::I32(2),
            Flat::I32(-1),
        ],
    );
    assert_eq!(
        lifted.unwrap(),
        [
            Val::U8(255),
            Val::S8(-128),
            Val::Bool(true),
            Val::U16(u16::MAX)
        ]
    );
}

#[test]
fn nans_are_canonical_both_ways() {
    let mut mem = VecMemory::new(64);
    let odd32 = f32::from_bits(0x7fc0_1234);
    let odd64 = f64::from_bits(0xfff0_0000_0000_0001);
    let flats = lower_args(
        &mut mem,
        &[ValType::Float32, ValType::Float64],
        &[Val::Float32(odd32), Val::Float64(odd64)],
    )
    .unwrap();
    let [Flat::F32(a), Flat::F64(b)] = flats[..] else {
        panic!("{flats:?}")
    };
    assert_eq!(
        (a.to_bits(), b.to_bits()),
        (0x7fc0_0000, 0x7ff8_0000_0000_0000)
    );
    let lifted = lift_args(&mut mem, &[ValType::Float32], &[Flat::F32(odd32)]).unwrap();
    let [Val::Float32(x)] = lifted[..] else {
        panic!("{lifted:?}")
    };
    assert_eq!(x.to_bits(), 0x7fc0_0000);
    // In memory too.
    mem.bytes[32..36].copy_from_slice(&0xffc0_0001u32.to_le_bytes());
    let t = [ValType::Tuple(vec![ValType::Float32, ValType::U64])];
    let lifted = lift_results(&mut mem, &t, &[Flat::I32(32)]).unwrap();
    let [Val::Tuple(ref items)] = lifted[..] else {
        panic!("{lifted:?}")
    };
    let Val::Float32(x) = items[0] else { panic!() };
    assert_eq!(x.to_bits(), 0x7fc0_0000);
}

#[test]
fn flags_are_bits_in_the_smallest_word() {
    let t = ValType::Flags(names(9));
    let v = Val::Flags(vec!["n0".into(), "n8".into()]);
    let mut mem = VecMemory::new(64);
    assert_eq!(
        lower_args(
            &mut mem,
            core::slice::from_ref(&t),
            core::slice::from_ref(&v)
        )
        .unwrap(),
        [Flat::I32(0x101)]
    );
    let rec = [ValType::Tuple(vec![t.clone(), ValType::U8])];
    let tuple = Val::Tuple(vec![v.clone(), Val::U8(5)]);
    lower_results(&mut mem, &rec, core::slice::from_ref(&tuple), Some(32)).unwrap();
    assert_eq!(mem.at(32, 4), [1, 1, 5, 0]);
    // Bits past the names are ignored.
    let lifted = lift_args(&mut mem, &[t], &[Flat::I32(0xfe01)]).unwrap();
    assert_eq!(lifted, [Val::Flags(vec!["n0".into()])]);
    let no_names: Vec<String> = Vec::new();
    assert_eq!(flat_types(&[ValType::Flags(no_names)]).unwrap(), []);
}

#[test]
fn many_arguments_travel_in_one_block() {
    let mut mem = VecMemory::new(256);
    let types = vec![ValType::U32; 17];
    let vals: Vec<Val> = (0..17).map(Val::U32).collect();
    let flats = lower_args(&mut mem, &types, &vals).unwrap();
    assert_eq!(flats, [Flat::I32(16)]);
    assert_eq!(mem.reallocs, [(4, 68)]);
    assert_eq!(mem.at(16 + 4 * 16, 4), 16u32.to_le_bytes());
    assert_eq!(lift_args(&mut mem, &types, &flats).unwrap(), vals);
}

#[test]
fn the_retptr_comes_off_the_end() {
    let results = [ValType::String];
    let args = [Flat::I32(1), Flat::I32(40)];
    let (rest, ptr) = split_retptr(&results, &args).unwrap();
    assert_eq!((rest, ptr), (&args[..1], Some(40)));
    let (rest, ptr) = split_retptr(&[ValType::U32], &args).unwrap();
    assert_eq!((rest, ptr), (&args[..], None));
}

#[test]
fn counting_core_values_agrees_with_flattening() {
    let v = ValType::Variant(vec![
        (
            "a".into(),
            Some(ValType::Tuple(vec![ValType::String, ValType::U8])),
        ),
        ("b".into(), Some(ValType::Float64)),
        ("c".into(), None),
    ]);
    let types = [
        v,
        ValType::Flags(Vec::new()),
        ValType::Flags(names(3)),
        coap_result(),
        ValType::Record(vec![
            ("x".into(), list(ValType::U8)),
            ("y".into(), ValType::S64),
        ]),
    ];
    assert_eq!(
        super::super::flat::flat_count(&types),
        flat_types(&types).unwrap().len()
    );
}
