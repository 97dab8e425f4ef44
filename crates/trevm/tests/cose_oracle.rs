//! The device's COSE_Sign1 and manifest decoder ([`trevm::trust::Sign1`],
//! [`trevm::manifest::ManifestRef`]) against an oracle built on coset and ciborium: the way the
//! runtime read signatures before it had its own decoder (bound the CBOR, decode it into a
//! `Value`, let coset read the COSE_Sign1, then check the allowed shape on what coset read).
//!
//! Inputs are generated with their structure: well-formed signatures and manifests whose fields
//! are sometimes hostile (other types, lengths one past a bound, repeated or unknown keys,
//! indefinite lengths, non-shortest integers, tags, trailing bytes), then sometimes mutated byte
//! by byte. On every input both must agree: accepted by both with the same fields, or refused by
//! both. Where both accept, a signature made over coset's `Sig_structure` must verify with the
//! decoder's, and only then.
//!
//! `TREVM_FUZZ_CASES` sets the number of cases per property (default 300, what CI runs).

use coset::cbor::value::Value;
use coset::{AsCborValue, CoseSign1, TaggedCborSerializable, iana};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use trevm::capsule::StampedProfile;
use trevm::manifest::{Manifest, ManifestRef};
use trevm::profile::{EngineProfile, Preemption, Target};
use trevm::trust::Sign1;

fn cases() -> u32 {
    std::env::var("TREVM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

// ---- A small CBOR writer that can also write what encoders never would. ----

/// An item head: `major` with argument `n`, in the shortest form or (`wide`) one size larger.
fn head(major: u8, n: u64, wide: bool) -> Vec<u8> {
    let m = major << 5;
    let size = match n {
        0..=23 if !wide => return vec![m | n as u8],
        0..=0xff => 1,
        0x100..=0xffff => 2,
        0x1_0000..=0xffff_ffff => 4,
        _ => 8,
    };
    let size: usize = if wide && size < 8 && n > 23 {
        size * 2
    } else {
        size
    };
    let mut out = vec![m | (24 + size.trailing_zeros() as u8)];
    out.extend_from_slice(&n.to_be_bytes()[8 - size..]);
    out
}

fn uint(n: u64, wide: bool) -> Vec<u8> {
    head(0, n, wide)
}

fn nint(n: i64) -> Vec<u8> {
    head(1, (-1 - n) as u64, false)
}

fn bytes(b: &[u8]) -> Vec<u8> {
    let mut out = head(2, b.len() as u64, false);
    out.extend_from_slice(b);
    out
}

fn text(s: &str) -> Vec<u8> {
    let mut out = head(3, s.len() as u64, false);
    out.extend_from_slice(s.as_bytes());
    out
}

/// A container of `items`: definite with their count, with a wrong count, or indefinite.
fn container(major: u8, items: &[Vec<u8>], pairs: bool, form: u8) -> Vec<u8> {
    let count = if pairs { items.len() / 2 } else { items.len() } as u64;
    let mut out = match form {
        0 => head(major, count, false),
        1 => head(major, count + 1, false),
        2 => head(major, count.saturating_sub(1), false),
        _ => vec![(major << 5) | 31],
    };
    for i in items {
        out.extend_from_slice(i);
    }
    if form == 3 {
        out.push(0xff);
    }
    out
}

/// The form of a container: mostly definite and right.
fn form() -> impl Strategy<Value = u8> {
    prop_oneof![12 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8), 1 => Just(3u8)]
}

fn any_junk() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(vec![0xf6]),
        Just(vec![0xf5]),
        Just(vec![0xfb, 0, 0, 0, 0, 0, 0, 0, 0]),
        Just(vec![0xc2, 0x41, 0x01]),
        Just(vec![0x5f, 0x41, 0x00, 0xff]),
        Just(vec![0x7f, 0x61, b'a', 0xff]),
        Just(vec![0x1c]),
        prop::collection::vec(any::<u8>(), 0..4),
    ]
}

// ---- Manifests ----

fn name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => "[a-z0-9-]{0,32}".prop_map(|s| text(&s)),
        1 => "[a-z]{33,40}".prop_map(|s| text(&s)),
        1 => Just(text("a\0b")),
        1 => Just(text("ünï")),
        1 => Just(vec![0x62, 0xff, 0xfe]),
        1 => any_junk(),
    ]
}

fn version() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => (any::<u64>(), any::<bool>()).prop_map(|(n, w)| uint(n, w)),
        2 => (0u64..30, any::<bool>()).prop_map(|(n, w)| uint(n, w)),
        1 => (i64::MIN..0).prop_map(nint),
        1 => Just(vec![0xc2, 0x41, 0x07]),
        1 => any_junk(),
    ]
}

fn small_number() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => (prop::sample::select(vec![0u64, 1, 2, 3, 4, 48, 255, 256, 65535, 65536]), any::<bool>())
            .prop_map(|(n, w)| uint(n, w)),
        1 => Just(nint(-1)),
        1 => any_junk(),
    ]
}

fn profile() -> impl Strategy<Value = Vec<u8>> {
    let good = StampedProfile::current(EngineProfile::pulley32(Preemption::Fuel));
    let good = vec![
        uint(good.profile.target as u64, false),
        uint(good.profile.preemption as u64, false),
        uint(u64::from(good.wasmtime_major), false),
        uint(u64::from(good.revision), false),
    ];
    prop_oneof![
        4 => Just(container(4, &good, false, 0)),
        4 => (prop::collection::vec(small_number(), 3..=5), form())
            .prop_map(|(items, f)| container(4, &items, false, f)),
        1 => any_junk(),
    ]
}

fn digest() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => any::<[u8; 32]>().prop_map(|d| bytes(&d)),
        1 => prop::sample::select(vec![0usize, 31, 33]).prop_map(|n| bytes(&vec![7; n])),
        1 => Just(text(&"d".repeat(32))),
        1 => any_junk(),
    ]
}

fn grant() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => "[a-z:/@.0-9-]{1,40}".prop_map(|s| text(&s)),
        1 => prop::sample::select(vec![0usize, 128, 129]).prop_map(|n| text(&"g".repeat(n))),
        1 => any_junk(),
    ]
}

fn grants() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => (prop::collection::vec(grant(), 0..4), form())
            .prop_map(|(items, f)| container(4, &items, false, f)),
        1 => (prop::collection::vec(Just(text("g")), 31..=33), form())
            .prop_map(|(items, f)| container(4, &items, false, f)),
        1 => any_junk(),
    ]
}

// ---- Exports (key 6) ----

/// A name inside a type (parameter, field, case, flag): mostly good, sometimes at or past its
/// bound, empty, or not text.
fn label() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => "[a-z][a-z0-9-]{0,8}".prop_map(|s| text(&s)),
        1 => prop::sample::select(vec![0usize, 64, 65]).prop_map(|n| text(&"l".repeat(n))),
        1 => any_junk(),
    ]
}

/// `[tag, items…]`, mostly with the right count.
fn tagged(tag: u64, items: Vec<Vec<u8>>, form: u8) -> Vec<u8> {
    let mut all = vec![uint(tag, false)];
    all.extend(items);
    container(4, &all, false, form)
}

/// The CBOR of a type: the primitives, each compound with good and bad contents, unknown tags
/// and junk, nested a few levels.
fn val_type() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop_oneof![
        12 => (0u64..13, any::<bool>()).prop_map(|(n, w)| uint(n, w)),
        1 => prop::sample::select(vec![13u64, 21, 22, 255, 256]).prop_map(|n| uint(n, false)),
        1 => Just(nint(-1)),
        1 => any_junk(),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        let maybe = prop_oneof![4 => inner.clone(), 1 => Just(vec![0xf6])];
        prop_oneof![
            (prop::sample::select(vec![13u64, 18]), inner.clone(), form())
                .prop_map(|(tag, t, f)| tagged(tag, vec![t], f)),
            (
                prop::collection::vec((label(), inner.clone()), 0..4),
                form()
            )
                .prop_map(|(fs, f)| tagged(
                    14,
                    fs.into_iter().flat_map(|(n, t)| [n, t]).collect(),
                    f
                )),
            (prop::collection::vec(inner.clone(), 0..4), form())
                .prop_map(|(ts, f)| tagged(15, ts, f)),
            (
                prop::collection::vec((label(), maybe.clone()), 0..4),
                form()
            )
                .prop_map(|(cs, f)| tagged(
                    16,
                    cs.into_iter().flat_map(|(n, t)| [n, t]).collect(),
                    f
                )),
            (
                prop::sample::select(vec![17u64, 20]),
                prop::collection::vec(label(), 0..4),
                form()
            )
                .prop_map(|(tag, ns, f)| tagged(tag, ns, f)),
            (maybe.clone(), maybe, form()).prop_map(|(ok, err, f)| tagged(19, vec![ok, err], f)),
            (label(), form()).prop_map(|(n, f)| tagged(21, vec![n], f)),
        ]
    })
}

/// A type at the nesting and width bounds and one past them.
fn bound_type() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (15usize..=17).prop_map(|depth| {
            let mut t = uint(2, false);
            for _ in 0..depth {
                t = tagged(13, vec![t], 0);
            }
            t
        }),
        (63usize..=65).prop_map(|n| tagged(
            17,
            (0..n).map(|i| text(&format!("c{i}"))).collect(),
            0
        )),
    ]
}

/// `[params, results]`: named parameters (sometimes an odd count) and 0 to 2 results.
fn func_type() -> impl Strategy<Value = Vec<u8>> {
    let ty = prop_oneof![10 => val_type(), 1 => bound_type()];
    let params = (
        prop::collection::vec((label(), ty.clone()), 0..4),
        any::<bool>(),
        form(),
    )
        .prop_map(|(ps, odd, f)| {
            let mut items: Vec<Vec<u8>> = ps.into_iter().flat_map(|(n, t)| [n, t]).collect();
            if odd {
                items.push(text("x"));
            }
            container(4, &items, false, f)
        });
    let results = prop_oneof![
        8 => (prop::collection::vec(ty, 0..=1), form()).prop_map(|(rs, f)| container(4, &rs, false, f)),
        1 => Just(container(4, &[uint(2, false), uint(2, false)], false, 0)),
    ];
    prop_oneof![
        10 => (params, results, form()).prop_map(|(p, r, f)| container(4, &[p, r], false, f)),
        1 => any_junk(),
    ]
    .boxed()
}

/// The value of key 6: mostly a few exports (names from a small set, so some repeat), sometimes
/// none, 64 or 65 of them, 1,025 types, or junk.
fn exports() -> impl Strategy<Value = Vec<u8>> {
    let name = prop_oneof![
        8 => prop::sample::select(vec!["run", "fib", "a:b/c@0.0.1#d", "x", "y", "z"]).prop_map(text),
        1 => prop::sample::select(vec![0usize, 128, 129]).prop_map(|n| text(&"n".repeat(n))),
        1 => any_junk(),
    ];
    let export = (name, func_type(), form()).prop_map(|(n, t, f)| container(4, &[n, t], false, f));
    let many = |count: usize, params: usize| {
        let ps: Vec<Vec<u8>> = (0..params)
            .flat_map(|i| [text(&format!("p{i}")), uint(2, false)])
            .collect();
        let ft = container(
            4,
            &[container(4, &ps, false, 0), container(4, &[], false, 0)],
            false,
            0,
        );
        let es: Vec<Vec<u8>> = (0..count)
            .map(|i| container(4, &[text(&format!("f{i}")), ft.clone()], false, 0))
            .collect();
        container(4, &es, false, 0)
    };
    prop_oneof![
        12 => (prop::collection::vec(export, 0..4), form())
            .prop_map(|(es, f)| container(4, &es, false, f)),
        1 => (64usize..=65).prop_map(move |n| many(n, 0)),
        1 => prop::sample::select(vec![(16usize, 64usize), (17, 60)]).prop_map(move |(n, p)| many(n, p)),
        1 => any_junk(),
    ]
    .boxed()
}

/// Exports a builder would list: well formed, of every kind of type, sometimes none.
fn good_exports() -> impl Strategy<Value = Vec<trevm::ExportedFunc>> {
    use trevm::{FuncType, ValType};
    let leaf = prop::sample::select(vec![
        ValType::Bool,
        ValType::U8,
        ValType::S64,
        ValType::Float64,
        ValType::Char,
        ValType::String,
    ]);
    let names = || prop::collection::vec("[a-z][a-z0-9-]{0,8}", 1..4);
    let ty = leaf.prop_recursive(3, 16, 3, move |inner| {
        prop_oneof![
            inner.clone().prop_map(|t| ValType::List(Box::new(t))),
            inner.clone().prop_map(|t| ValType::Option(Box::new(t))),
            prop::collection::vec(("[a-z]{1,8}", inner.clone()), 1..4).prop_map(ValType::Record),
            prop::collection::vec(inner.clone(), 1..4).prop_map(ValType::Tuple),
            prop::collection::vec(("[a-z]{1,8}", prop::option::of(inner.clone())), 1..4)
                .prop_map(ValType::Variant),
            names().prop_map(ValType::Enum),
            names().prop_map(ValType::Flags),
            (prop::option::of(inner.clone()), prop::option::of(inner)).prop_map(|(ok, err)| {
                ValType::Result {
                    ok: ok.map(Box::new),
                    err: err.map(Box::new),
                }
            }),
        ]
    });
    let func = (
        prop::collection::vec(("[a-z]{1,8}", ty.clone()), 0..4),
        prop::collection::vec(ty, 0..=1),
    )
        .prop_map(|(params, results)| FuncType { params, results });
    prop_oneof![
        1 => Just(Vec::new()).boxed(),
        2 => prop::collection::vec(func, 1..4).prop_map(|fs| {
            fs.into_iter()
                .enumerate()
                .map(|(i, ty)| trevm::ExportedFunc {
                    name: format!("f{i}"),
                    ty,
                })
                .collect()
        }).boxed(),
    ]
}

/// A manifest map: each of the five keys mostly present once, sometimes missing, repeated,
/// joined by an unknown key, written as a wider integer, in any order; the sixth (exports) as
/// often absent as present.
fn manifest() -> impl Strategy<Value = Vec<u8>> {
    let fields = (name(), version(), profile(), digest(), grants(), exports());
    let count = || prop_oneof![10 => Just(1usize), 1 => Just(0usize), 1 => Just(2usize)];
    let counts = (
        prop::collection::vec(count(), 5),
        prop_oneof![6 => Just(0usize), 6 => Just(1usize), 1 => Just(2usize)],
    )
        .prop_map(|(mut c, e)| {
            c.push(e);
            c
        });
    let shape = (
        counts,
        prop_oneof![10 => Just(None), 1 => (7u64..300).prop_map(Some), 1 => Just(Some(u64::MAX))],
        any::<bool>(),
        any::<u64>(),
        form(),
    );
    (fields, shape)
        .prop_map(
            |((n, v, p, d, g, x), (counts, unknown, wide_key, seed, f))| {
                let values = [n, v, p, d, g, x];
                let mut entries: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
                for (i, value) in values.iter().enumerate() {
                    for _ in 0..counts[i] {
                        entries.push((uint(i as u64 + 1, wide_key && i == 0), value.clone()));
                    }
                }
                if let Some(k) = unknown {
                    entries.push((uint(k, false), uint(0, false)));
                }
                shuffle(&mut entries, seed);
                let items: Vec<Vec<u8>> = entries.into_iter().flat_map(|(k, v)| [k, v]).collect();
                container(5, &items, true, f)
            },
        )
        // Boxed, as `exports()`: proptest keeps each generator's value tree inline, and a
        // COSE_Sign1's around a manifest's overflowed a test thread's 2 MiB stack unboxed.
        .boxed()
}

/// A manifest with every field well formed (names, versions, digests, grants and exports still
/// vary).
fn good_manifest() -> impl Strategy<Value = Vec<u8>> {
    let profile = StampedProfile::current(EngineProfile::pulley32(Preemption::Fuel));
    (
        "[a-z0-9-]{0,32}",
        any::<u64>(),
        any::<[u8; 32]>(),
        prop::collection::vec("[a-z:/@.0-9-]{1,128}", 0..=32),
        good_exports(),
    )
        .prop_map(move |(name, version, digest, grants, exports)| {
            Manifest {
                name,
                version,
                profile,
                digest,
                grants,
                exports,
            }
            .to_cbor()
        })
}

/// Reorders `items` (a deterministic shuffle from `seed`, so cases replay).
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        items.swap(i, (seed >> 33) as usize % (i + 1));
    }
}

// ---- COSE_Sign1 ----

fn protected() -> impl Strategy<Value = Vec<u8>> {
    let entry = prop_oneof![
        8 => Just((uint(1, false), nint(-8))),
        1 => Just((uint(1, false), vec![0x38, 0x07])),
        1 => Just((uint(1, false), nint(-7))),
        1 => Just((uint(1, false), text("EdDSA"))),
        8 => any::<[u8; 8]>().prop_map(|k| (uint(4, false), bytes(&k))),
        1 => prop::sample::select(vec![0usize, 7, 9]).prop_map(|n| (uint(4, false), bytes(&vec![1; n]))),
        1 => Just((uint(3, false), uint(0, false))),
        1 => Just((text("kid"), bytes(&[0; 8]))),
        1 => Just((nint(-70000), uint(1, false))),
    ];
    let map = (prop::collection::vec(entry, 0..=3), form(), any::<u64>()).prop_map(
        |(mut entries, f, seed)| {
            shuffle(&mut entries, seed);
            let items: Vec<Vec<u8>> = entries.into_iter().flat_map(|(k, v)| [k, v]).collect();
            container(5, &items, true, f)
        },
    );
    let good = any::<[u8; 8]>().prop_map(|kid| {
        let items = [uint(1, false), nint(-8), uint(4, false), bytes(&kid)];
        container(5, &items, true, 0)
    });
    prop_oneof![
        12 => good,
        6 => map,
        1 => any_junk(),
        1 => any::<[u8; 8]>().prop_map(|kid| {
            let mut m = container(5, &[uint(1, false), nint(-8), uint(4, false), bytes(&kid)], true, 0);
            m.push(0);
            m
        }),
    ]
}

fn unprotected() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        10 => Just(vec![0xa0]),
        1 => Just(vec![0xa1, 0x04, 0x40]),
        1 => Just(vec![0xa1, 0x01, 0x27]),
        1 => Just(vec![0xbf, 0xff]),
        1 => any_junk(),
    ]
}

fn sign1() -> impl Strategy<Value = Vec<u8>> {
    let payload = prop_oneof![
        10 => good_manifest().prop_map(|m| bytes(&m)),
        4 => manifest().prop_map(|m| bytes(&m)),
        1 => Just(vec![0xf6]),
        1 => manifest().prop_map(|m| text(&String::from_utf8_lossy(&m))),
        1 => any_junk(),
    ];
    let signature = prop_oneof![
        10 => any::<[u8; 32]>().prop_map(|s| bytes(&[s, s].concat())),
        1 => prop::sample::select(vec![0usize, 63, 65]).prop_map(|n| bytes(&vec![5; n])),
        1 => any_junk(),
    ];
    let protected_field = prop_oneof![
        10 => protected().prop_map(|p| bytes(&p)),
        1 => any_junk(),
    ];
    let tag = prop_oneof![10 => Just(vec![0xd2]), 1 => Just(vec![0xd1]), 1 => Just(vec![]), 1 => Just(vec![0xd2, 0xd2])];
    (
        tag,
        protected_field,
        unprotected(),
        payload,
        signature,
        form(),
        prop_oneof![10 => Just(vec![]), 1 => any_junk()],
    )
        .prop_map(|(tag, p, u, m, s, f, tail)| {
            let mut out = tag;
            out.extend(container(4, &[p, u, m, s], false, f));
            out.extend(tail);
            out
        })
}

/// Up to three byte-level changes: flip, insert, delete, truncate.
fn mutated(input: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let edit = (0u8..4, any::<prop::sample::Index>(), any::<u8>());
    (input, prop::collection::vec(edit, 0..=3)).prop_map(|(mut bytes, edits)| {
        for (kind, at, b) in edits {
            if bytes.is_empty() {
                break;
            }
            let i = at.index(bytes.len());
            match kind {
                0 => bytes[i] ^= b | 1,
                1 => bytes.insert(i, b),
                2 => {
                    bytes.remove(i);
                }
                _ => bytes.truncate(i),
            }
        }
        bytes
    })
}

// ---- The oracle: coset and ciborium, then the shape checks. ----

/// How much CBOR the oracle reads: at most `items` items in `depth` levels. For a COSE_Sign1,
/// 96 items in 8 levels (what the runtime checked before it decoded with ciborium). For a
/// manifest, more than its decoder can ever accept (its exports nest and count beyond those),
/// and no `undefined`, which ciborium reads as `null` and the format does not have.
#[derive(Clone, Copy)]
struct Bound {
    items: u64,
    depth: usize,
    undefined: bool,
}

const SIGN1: Bound = Bound {
    items: 96,
    depth: 8,
    undefined: true,
};

const MANIFEST: Bound = Bound {
    items: 1 << 20,
    depth: 32,
    undefined: false,
};

/// The allowed CBOR: one definite-length item filling `bytes`, within `bound`, and no tag but
/// (`outer_tag`) the first item's: ciborium reads a bignum (tags 2 and 3) as an integer, the
/// format has none.
fn bounded(bytes: &[u8], outer_tag: bool, bound: Bound) -> bool {
    let (mut pos, mut items, mut depth) = (0usize, 0u64, 0usize);
    let mut pending = vec![0u64; bound.depth + 1];
    pending[0] = 1;
    loop {
        while depth > 0 && pending[depth] == 0 {
            depth -= 1;
        }
        if pending[depth] == 0 {
            break;
        }
        pending[depth] -= 1;
        items += 1;
        let Some(&initial) = bytes.get(pos) else {
            return false;
        };
        pos += 1;
        let (major, info) = (initial >> 5, initial & 0x1f);
        let arg = match info {
            0..=23 => u64::from(info),
            24..=27 => {
                let n = 1usize << (info - 24);
                let Some(raw) = bytes.get(pos..pos + n) else {
                    return false;
                };
                pos += n;
                raw.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b))
            }
            _ => return false,
        };
        if major == 7 && info == 23 && !bound.undefined {
            return false;
        }
        let children = match major {
            0 | 1 | 7 => 0,
            2 | 3 => {
                match usize::try_from(arg).ok().and_then(|n| pos.checked_add(n)) {
                    Some(end) if end <= bytes.len() => pos = end,
                    _ => return false,
                }
                0
            }
            4 => arg,
            5 => arg.saturating_mul(2),
            _ if outer_tag && items == 1 => 1,
            _ => return false,
        };
        if items > bound.items || children > bound.items {
            return false;
        }
        if children > 0 {
            if depth == bound.depth {
                return false;
            }
            depth += 1;
            pending[depth] = children;
        }
    }
    pos == bytes.len()
}

fn value(bytes: &[u8], outer_tag: bool) -> Option<Value> {
    value_within(bytes, outer_tag, SIGN1)
}

fn value_within(bytes: &[u8], outer_tag: bool, bound: Bound) -> Option<Value> {
    if !bounded(bytes, outer_tag, bound) {
        return None;
    }
    coset::cbor::de::from_reader(bytes).ok()
}

/// The manifest as the runtime read it with ciborium.
fn oracle_manifest(bytes: &[u8]) -> Option<Manifest> {
    let Value::Map(entries) = value_within(bytes, false, MANIFEST)? else {
        return None;
    };
    let (mut name, mut version, mut profile, mut digest, mut grants) =
        (None, None, None, None, None);
    let mut exports = None;
    for (k, v) in entries {
        let k = i64::try_from(k.as_integer()?).ok()?;
        let taken = match k {
            1 => name
                .replace(match v {
                    Value::Text(s) if s.len() <= 32 && !s.contains('\0') => s,
                    _ => return None,
                })
                .is_some(),
            2 => version
                .replace(u64::try_from(v.as_integer()?).ok()?)
                .is_some(),
            3 => {
                let Value::Array(items) = v else { return None };
                let nums: Vec<u16> = items
                    .iter()
                    .map(|i| i.as_integer().and_then(|i| u16::try_from(i).ok()))
                    .collect::<Option<_>>()?;
                let [t, p, major, rev] = nums.as_slice() else {
                    return None;
                };
                let p = StampedProfile {
                    profile: EngineProfile {
                        target: [
                            Target::Pulley32,
                            Target::Pulley64,
                            Target::Host,
                            Target::Wasm,
                        ]
                        .into_iter()
                        .find(|&x| x as u16 == *t)?,
                        preemption: [Preemption::None, Preemption::Fuel, Preemption::Epoch]
                            .into_iter()
                            .find(|&x| x as u16 == *p)?,
                    },
                    wasmtime_major: *major,
                    revision: *rev,
                };
                profile.replace(p).is_some()
            }
            4 => {
                let Value::Bytes(b) = v else { return None };
                digest
                    .replace(<[u8; 32]>::try_from(b.as_slice()).ok()?)
                    .is_some()
            }
            5 => {
                let Value::Array(items) = v else { return None };
                if items.len() > 32 {
                    return None;
                }
                let g: Vec<String> = items
                    .into_iter()
                    .map(|i| match i {
                        Value::Text(s) if !s.is_empty() && s.len() <= 128 => Some(s),
                        _ => None,
                    })
                    .collect::<Option<_>>()?;
                grants.replace(g).is_some()
            }
            6 => exports.replace(oracle_exports(v)?).is_some(),
            _ => return None,
        };
        if taken {
            return None;
        }
    }
    Some(Manifest {
        name: name?,
        version: version?,
        profile: profile?,
        digest: digest?,
        grants: grants?,
        exports: exports.unwrap_or_default(),
    })
}

/// Key 6 as the format defines it (`trevm::manifest`'s `exports.rs`), read from ciborium's value.
fn oracle_exports(v: Value) -> Option<Vec<trevm::ExportedFunc>> {
    let Value::Array(items) = v else { return None };
    if items.is_empty() || items.len() > 64 {
        return None;
    }
    let mut nodes = 0usize;
    let mut out: Vec<trevm::ExportedFunc> = Vec::new();
    for item in items {
        let Value::Array(pair) = item else {
            return None;
        };
        let [Value::Text(name), Value::Array(ft)] = <[Value; 2]>::try_from(pair).ok()? else {
            return None;
        };
        if name.is_empty() || name.len() > 128 || out.iter().any(|f| f.name == name) {
            return None;
        }
        let [Value::Array(params), Value::Array(results)] = <[Value; 2]>::try_from(ft).ok()? else {
            return None;
        };
        if params.len() % 2 != 0 || params.len() / 2 > 64 || results.len() > 1 {
            return None;
        }
        let mut ty = trevm::FuncType::default();
        for pair in params.chunks(2) {
            ty.params.push((
                oracle_label(&pair[0])?,
                oracle_type(&pair[1], 1, &mut nodes)?,
            ));
        }
        for r in &results {
            ty.results.push(oracle_type(r, 1, &mut nodes)?);
        }
        out.push(trevm::ExportedFunc { name, ty });
    }
    Some(out)
}

fn oracle_label(v: &Value) -> Option<String> {
    match v {
        Value::Text(s) if !s.is_empty() && s.len() <= 64 => Some(s.clone()),
        _ => None,
    }
}

fn oracle_type(v: &Value, depth: usize, nodes: &mut usize) -> Option<trevm::ValType> {
    use trevm::ValType as T;
    *nodes += 1;
    if depth > 16 || *nodes > 1024 {
        return None;
    }
    let primitives = [
        T::Bool,
        T::S8,
        T::U8,
        T::S16,
        T::U16,
        T::S32,
        T::U32,
        T::S64,
        T::U64,
        T::Float32,
        T::Float64,
        T::Char,
        T::String,
    ];
    let items = match v {
        Value::Integer(i) => return primitives.get(usize::try_from(*i).ok()?).cloned(),
        Value::Array(items) => items,
        _ => return None,
    };
    let (tag, rest) = items.split_first()?;
    let tag = u8::try_from(tag.as_integer()?).ok()?;
    let t = |v: &Value, nodes: &mut usize| oracle_type(v, depth + 1, nodes);
    let maybe = |v: &Value, nodes: &mut usize| match v {
        Value::Null => Some(None),
        v => t(v, nodes).map(Some),
    };
    let cases = |per: usize| {
        (!rest.is_empty() && rest.len() % per == 0 && rest.len() / per <= 64).then_some(())
    };
    Some(match (tag, rest) {
        (13, [x]) => T::List(Box::new(t(x, nodes)?)),
        (18, [x]) => T::Option(Box::new(t(x, nodes)?)),
        (14, _) => {
            cases(2)?;
            let mut fields = Vec::new();
            for p in rest.chunks(2) {
                fields.push((oracle_label(&p[0])?, t(&p[1], nodes)?));
            }
            T::Record(fields)
        }
        (15, _) => {
            cases(1)?;
            T::Tuple(rest.iter().map(|x| t(x, nodes)).collect::<Option<_>>()?)
        }
        (16, _) => {
            cases(2)?;
            let mut out = Vec::new();
            for p in rest.chunks(2) {
                out.push((oracle_label(&p[0])?, maybe(&p[1], nodes)?));
            }
            T::Variant(out)
        }
        (17 | 20, _) => {
            cases(1)?;
            let names = rest.iter().map(oracle_label).collect::<Option<Vec<_>>>()?;
            if tag == 17 {
                T::Enum(names)
            } else {
                T::Flags(names)
            }
        }
        (19, [ok, err]) => T::Result {
            ok: maybe(ok, nodes)?.map(Box::new),
            err: maybe(err, nodes)?.map(Box::new),
        },
        (21, [name]) => T::Unsupported(oracle_label(name)?),
        _ => return None,
    })
}

/// What both sides report for an accepted signature.
#[derive(Debug, PartialEq)]
struct Read {
    protected: Vec<u8>,
    kid: [u8; 8],
    payload: Vec<u8>,
    signature: Vec<u8>,
    manifest: Manifest,
}

fn oracle_sign1(trailer: &[u8]) -> Option<(Read, CoseSign1)> {
    let Value::Tag(18, inner) = value(trailer, true)? else {
        return None;
    };
    let Value::Array(parts) = inner.as_ref() else {
        return None;
    };
    // The shape coset does not insist on: exactly alg and kid protected, nothing unprotected.
    let Some(Value::Bytes(protected)) = parts.first() else {
        return None;
    };
    let Value::Map(entries) = value(protected, false)? else {
        return None;
    };
    if entries.len() != 2 || parts.get(1) != Some(&Value::Map(vec![])) {
        return None;
    }
    let sign1 = CoseSign1::from_cbor_value(*inner).ok()?;
    let h = &sign1.protected.header;
    if h.alg != Some(coset::Algorithm::Assigned(iana::Algorithm::EdDSA)) {
        return None;
    }
    let kid = <[u8; 8]>::try_from(h.key_id.as_slice()).ok()?;
    let payload = sign1.payload.clone()?;
    if sign1.signature.len() != 64 {
        return None;
    }
    let manifest = oracle_manifest(&payload)?;
    let read = Read {
        protected: sign1.protected.original_data.clone()?,
        kid,
        payload,
        signature: sign1.signature.clone(),
        manifest,
    };
    Some((read, sign1))
}

fn decoded(trailer: &[u8]) -> Option<Read> {
    let s = Sign1::decode(trailer).ok()?;
    Some(Read {
        protected: s.protected.to_vec(),
        kid: s.kid.0,
        payload: s.payload.to_vec(),
        signature: s.signature.to_vec(),
        manifest: s.manifest.to_owned(),
    })
}

fn run(
    strategy: impl Strategy<Value = Vec<u8>>,
    check: impl Fn(&[u8]) -> Result<bool, TestCaseError>,
) {
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let accepted = std::cell::Cell::new(0u32);
    runner
        .run(&strategy, |bytes| {
            if check(&bytes)? {
                accepted.set(accepted.get() + 1);
            }
            Ok(())
        })
        .unwrap();
    // A generator that never makes an acceptable input would test refusals only.
    assert!(accepted.get() > 0, "no generated input was accepted");
}

#[test]
fn manifests_decode_as_the_oracle_reads_them() {
    // Well-formed manifests too: the hostile generators alone are accepted rarely enough that a
    // run of 300 could accept none (CI saw it) and fail without finding anything.
    run(
        prop_oneof![
            manifest(),
            mutated(manifest()),
            good_manifest(),
            mutated(good_manifest())
        ],
        |bytes| {
            let new = ManifestRef::decode(bytes).ok().map(|m| m.to_owned());
            let old = oracle_manifest(bytes);
            prop_assert_eq!(&new, &old, "input {:02x?}", bytes);
            if let Some(m) = &new {
                // The encoder writes what both read, in the shortest form.
                let again = Manifest::from_cbor(&m.to_cbor());
                prop_assert_eq!(again.as_ref(), Ok(m));
            }
            Ok(new.is_some())
        },
    );
}

#[test]
fn signatures_decode_as_coset_reads_them() {
    run(prop_oneof![sign1(), mutated(sign1())], |bytes| {
        let new = decoded(bytes);
        let old = oracle_sign1(bytes);
        prop_assert_eq!(
            new.as_ref(),
            old.as_ref().map(|(r, _)| r),
            "input {:02x?}",
            bytes
        );
        Ok(new.is_some())
    });
}

#[test]
fn what_coset_signs_verifies_and_nothing_else() {
    let pair = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([9; 32]));
    let strategy = (prop_oneof![good_manifest(), manifest()], any::<[u8; 8]>());
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |(manifest, kid)| {
            let protected = coset::HeaderBuilder::new()
                .algorithm(iana::Algorithm::EdDSA)
                .key_id(kid.to_vec())
                .build();
            let sign1 = coset::CoseSign1Builder::new()
                .protected(protected)
                .payload(manifest.clone())
                .create_signature(b"", |tbs| pair.sk.sign(tbs, None).to_vec())
                .build();
            let bytes = sign1.clone().to_tagged_vec().unwrap();
            let new = Sign1::decode(&bytes);
            prop_assert_eq!(new.is_ok(), oracle_manifest(&manifest).is_some());
            if let Ok(s) = new {
                prop_assert!(s.verify_signature(&pair.pk));
                // coset's own check agrees; a byte of the signed payload changed fails both.
                let by_coset = sign1.verify_signature(b"", |sig, tbs| {
                    pair.pk
                        .verify(tbs, &ed25519_compact::Signature::from_slice(sig).unwrap())
                });
                prop_assert!(by_coset.is_ok());
                let mut altered = bytes.clone();
                let at = altered.len() - 64 - 2 - 1;
                altered[at] ^= 0x01;
                if let Ok(t) = Sign1::decode(&altered) {
                    prop_assert!(!t.verify_signature(&pair.pk));
                }
                let other = CoseSign1::from_tagged_slice(&altered).unwrap();
                let by_coset = other.verify_signature(b"", |sig, tbs| {
                    pair.pk
                        .verify(tbs, &ed25519_compact::Signature::from_slice(sig).unwrap())
                });
                prop_assert!(by_coset.is_err());
            }
            Ok(())
        })
        .unwrap();
}
