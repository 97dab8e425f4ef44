//! Generated types and values: lowering then lifting gives the value back, in both directions;
//! lifting whatever a guest may pass never panics.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use proptest::collection::vec as vec_of;
use proptest::prelude::*;

use super::super::*;
use super::{VecMemory, names};
use crate::value::{Val, ValType};

fn leaf() -> impl Strategy<Value = ValType> {
    prop_oneof![
        Just(ValType::Bool),
        Just(ValType::S8),
        Just(ValType::U8),
        Just(ValType::S16),
        Just(ValType::U16),
        Just(ValType::S32),
        Just(ValType::U32),
        Just(ValType::S64),
        Just(ValType::U64),
        Just(ValType::Float32),
        Just(ValType::Float64),
        Just(ValType::Char),
        Just(ValType::String),
        (0..=32usize).prop_map(|n| ValType::Flags(names(n))),
        (1..=4usize).prop_map(|n| ValType::Enum(names(n))),
    ]
}

fn any_type() -> impl Strategy<Value = ValType> {
    leaf().prop_recursive(4, 24, 4, |inner| {
        let opt = proptest::option::of(inner.clone());
        prop_oneof![
            inner.clone().prop_map(|t| ValType::List(Box::new(t))),
            inner.clone().prop_map(|t| ValType::Option(Box::new(t))),
            (opt.clone(), opt.clone()).prop_map(|(ok, err)| ValType::Result {
                ok: ok.map(Box::new),
                err: err.map(Box::new),
            }),
            vec_of(inner.clone(), 0..4).prop_map(ValType::Tuple),
            vec_of(inner, 1..4)
                .prop_map(|ts| ValType::Record(names(ts.len()).into_iter().zip(ts).collect())),
            vec_of(opt, 1..4)
                .prop_map(|ts| ValType::Variant(names(ts.len()).into_iter().zip(ts).collect())),
        ]
    })
}

fn float32() -> impl Strategy<Value = f32> {
    any::<f32>().prop_filter("NaN is canonicalised", |x| !x.is_nan())
}

fn float64() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("NaN is canonicalised", |x| !x.is_nan())
}

fn boxed(v: Val) -> Option<Box<Val>> {
    Some(Box::new(v))
}

/// A value of `t`.
fn value_of(t: &ValType) -> BoxedStrategy<Val> {
    match t {
        ValType::Bool => any::<bool>().prop_map(Val::Bool).boxed(),
        ValType::S8 => any::<i8>().prop_map(Val::S8).boxed(),
        ValType::U8 => any::<u8>().prop_map(Val::U8).boxed(),
        ValType::S16 => any::<i16>().prop_map(Val::S16).boxed(),
        ValType::U16 => any::<u16>().prop_map(Val::U16).boxed(),
        ValType::S32 => any::<i32>().prop_map(Val::S32).boxed(),
        ValType::U32 => any::<u32>().prop_map(Val::U32).boxed(),
        ValType::S64 => any::<i64>().prop_map(Val::S64).boxed(),
        ValType::U64 => any::<u64>().prop_map(Val::U64).boxed(),
        ValType::Float32 => float32().prop_map(Val::Float32).boxed(),
        ValType::Float64 => float64().prop_map(Val::Float64).boxed(),
        ValType::Char => any::<char>().prop_map(Val::Char).boxed(),
        ValType::String => vec_of(any::<char>(), 0..6)
            .prop_map(|cs| Val::String(cs.into_iter().collect()))
            .boxed(),
        ValType::List(e) => vec_of(value_of(e), 0..4).prop_map(Val::List).boxed(),
        ValType::Tuple(ts) => ts
            .iter()
            .map(value_of)
            .collect::<Vec<_>>()
            .prop_map(Val::Tuple)
            .boxed(),
        ValType::Record(fields) => {
            let names: Vec<String> = fields.iter().map(|(n, _)| n.clone()).collect();
            let values: Vec<_> = fields.iter().map(|(_, t)| value_of(t)).collect();
            values
                .prop_map(move |vs| Val::Record(names.iter().cloned().zip(vs).collect()))
                .boxed()
        }
        ValType::Flags(ns) => proptest::sample::subsequence(ns.clone(), 0..=ns.len())
            .prop_map(Val::Flags)
            .boxed(),
        ValType::Enum(ns) => proptest::sample::select(ns.clone())
            .prop_map(Val::Enum)
            .boxed(),
        ValType::Option(p) => proptest::option::of(value_of(p))
            .prop_map(|v| Val::Option(v.map(Box::new)))
            .boxed(),
        ValType::Result { ok, err } => {
            let side = |t: &Option<Box<ValType>>| match t {
                Some(t) => value_of(t).prop_map(boxed).boxed(),
                None => Just(None).boxed(),
            };
            prop_oneof![
                side(ok).prop_map(|v| Val::Result(Ok(v))),
                side(err).prop_map(|v| Val::Result(Err(v))),
            ]
            .boxed()
        }
        ValType::Variant(cases) => {
            let arms: Vec<BoxedStrategy<Val>> = cases
                .iter()
                .map(|(name, t)| {
                    let name = name.clone();
                    match t {
                        Some(t) => value_of(t)
                            .prop_map(move |v| Val::Variant(name.clone(), boxed(v)))
                            .boxed(),
                        None => Just(Val::Variant(name, None)).boxed(),
                    }
                })
                .collect();
            proptest::strategy::Union::new(arms).boxed()
        }
        ValType::Unsupported(_) => unreachable!("not generated"),
    }
}

/// Types with values of them.
fn typed_values(n: core::ops::Range<usize>) -> impl Strategy<Value = (Vec<ValType>, Vec<Val>)> {
    vec_of(any_type(), n).prop_flat_map(|types| {
        let values: Vec<_> = types.iter().map(value_of).collect();
        (Just(types), values)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arguments_round_trip((types, vals) in typed_values(0..6)) {
        let flat = flat_types(&types).unwrap();
        prop_assert_eq!(super::super::flat::flat_count(&types), flat.len());
        let mut mem = VecMemory::new(1 << 16);
        let flats = lower_args(&mut mem, &types, &vals).unwrap();
        let (core, _) = core_signature(&types, &[], SigKind::Export).unwrap();
        let got: Vec<FlatType> = flats.iter().map(|f| f.ty()).collect();
        prop_assert_eq!(got, core);
        prop_assert_eq!(lift_args(&mut mem, &types, &flats).unwrap(), vals);
    }

    #[test]
    fn results_round_trip((types, vals) in typed_values(0..3)) {
        let mut mem = VecMemory::new(1 << 16);
        let (_, core) = core_signature(&[], &types, SigKind::Export).unwrap();
        let (params, _) = core_signature(&[], &types, SigKind::Import).unwrap();
        let flats = if params.is_empty() {
            let flats = lower_results(&mut mem, &types, &vals, None).unwrap();
            let got: Vec<FlatType> = flats.iter().map(|f| f.ty()).collect();
            prop_assert_eq!(got, core);
            flats
        } else {
            // The guest passes a block for the results; the host fills it.
            let (size, align) = size_align(&ValType::Tuple(types.clone())).unwrap();
            let retptr = mem.realloc(align, size).unwrap();
            prop_assert!(lower_results(&mut mem, &types, &vals, Some(retptr)).unwrap().is_empty());
            vec![Flat::I32(retptr as i32)]
        };
        prop_assert_eq!(lift_results(&mut mem, &types, &flats).unwrap(), vals);
    }

    /// Whatever memory and core values a guest hands over, lifting answers without panicking.
    #[test]
    fn lifting_garbage_never_panics(
        types in vec_of(any_type(), 0..4),
        memory in vec_of(any::<u8>(), 0..512),
        seed in vec_of(prop_oneof![0..600i32, any::<i32>()], 64),
    ) {
        let mut mem = VecMemory::new(0);
        mem.bytes = memory;
        let (core, _) = core_signature(&types, &[], SigKind::Import).unwrap();
        let flats: Vec<Flat> = core
            .iter()
            .zip(seed.iter().cycle())
            .map(|(t, &x)| match t {
                FlatType::I32 => Flat::I32(x),
                FlatType::I64 => Flat::I64(x.into()),
                FlatType::F32 => Flat::F32(f32::from_bits(x as u32)),
                FlatType::F64 => Flat::F64(f64::from_bits(x as u64)),
            })
            .collect();
        let _ = lift_args(&mut mem, &types, &flats);
        if !flats.is_empty() {
            let _ = lift_results(&mut mem, &types, &flats[..1]);
        }
    }
}
