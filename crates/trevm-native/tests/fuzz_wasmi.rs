//! Fuzzing the wasmi upload path on stable: a proptest harness that CI runs for a fixed number of
//! cases (`TREVM_FUZZ_CASES`, default [`DEFAULT_CASES`] per property; docs/security.md records the
//! runs).
//!
//! A plain-wasm capsule is code the device validates itself, so anyone holding a trusted key can
//! hand it any module. This feeds the device path — encode as a wasm capsule, sign with the
//! development key stating export types, verify, [`Runtime::load`], instantiate under tight
//! [`Limits`], call every stated export with arbitrary arguments — with:
//! - modules made by `wasm-smith`, shaped like a capsule (one small memory, scalar exports) or
//!   hostile (SIMD, tail calls, a start function, 64-bit memories, huge memories, imports);
//! - the export types in the manifest matching the code, or lying about it;
//! - a real payload's core module with bits flipped, cut, extended, or its sections spliced;
//! - arbitrary bytes, with and without a wasm header.
//!
//! `TREVM_FUZZ_STATS=1` prints each case's outcome (refused, not instantiated, ran) to stderr, to
//! check that the generators reach every stage. At 1,000 cases: capsule-shaped modules ran 774,
//! failed to instantiate 96, refused 13 (the rest had no manifest a device reads); hostile ones
//! were refused 932 times; mutated fibonacci ran 155 times.
//!
//! Invariants: nothing panics; every failure is an [`Error`] of the kind its stage can give; a
//! module with a start function, or an export whose stated type lies, is refused at load; memory
//! never grows past the limit; after any failure the runtime still loads and runs a good capsule.

mod common;

use std::cell::RefCell;
use std::sync::OnceLock;

use arbitrary::Unstructured;
use common::*;
use embassy_time::Duration;
use proptest::prelude::*;
use trevm::{
    Capsule, EngineProfile, Error, ExportedFunc, FuncType, HostState, Limits, Preemption, Runtime,
    RuntimeOptions, Val, ValType, VersionLedger,
};
use wasmparser::{ExternalKind, Parser, Payload, TypeRef};

/// Cases per property when `TREVM_FUZZ_CASES` is not set: what CI runs (about 20 s in release on
/// two cores for the whole file).
const DEFAULT_CASES: u32 = 10_000;

/// At most this many exports of a module are called per case.
const MAX_CALLS: usize = 12;

fn cases() -> u32 {
    std::env::var("TREVM_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn wasmi_profile() -> EngineProfile {
    EngineProfile::wasmi(Preemption::Fuel)
}

/// Tight limits: 128 KiB of memory (two wasm pages), 200,000 fuel units, a 10 s timeout.
fn limits() -> Limits {
    Limits {
        fuel: Some(200_000),
        max_memory: 128 * 1024,
        max_table_elements: 1_000,
        ..Limits::new()
    }
    .with_timeout(Duration::from_secs(10))
}

thread_local! {
    /// The runtimes under test, one per case's choice: wasmi's own, and one made for Pulley that
    /// also runs wasm capsules (what a slot holds).
    static RUNTIMES: RefCell<Option<[Runtime; 2]>> = const { RefCell::new(None) };
}

fn with_runtime<R>(pulley: bool, f: impl FnOnce(&Runtime) -> R) -> R {
    RUNTIMES.with(|r| {
        let mut r = r.borrow_mut();
        let rts = r.get_or_insert_with(|| {
            [
                Runtime::new(wasmi_profile(), RuntimeOptions::host()).expect("wasmi runtime"),
                runtime(),
            ]
        });
        f(&rts[usize::from(pulley)])
    })
}

/// fibonacci's capsule for wasmi: its core module and its manifest's exports.
fn fibonacci() -> &'static (Vec<u8>, Vec<ExportedFunc>) {
    static FIB: OnceLock<(Vec<u8>, Vec<ExportedFunc>)> = OnceLock::new();
    FIB.get_or_init(|| core_and_exports("fibonacci"))
}

/// sandbox's core module: sections to splice into fibonacci's.
fn sandbox_core() -> &'static [u8] {
    static CORE: OnceLock<Vec<u8>> = OnceLock::new();
    CORE.get_or_init(|| core_and_exports("sandbox").0)
}

fn core_and_exports(name: &str) -> (Vec<u8>, Vec<ExportedFunc>) {
    let bytes = capsule_bytes(name, wasmi_profile());
    let capsule = Capsule::from_slice(&bytes).unwrap();
    let (manifest, _) = trevm::trust::claimed_manifest(&capsule)
        .unwrap()
        .expect("a manifest");
    (capsule.payload().to_vec(), manifest.exports)
}

fn dev_key() -> &'static trevm_sign::SigningKey {
    static KEY: OnceLock<trevm_sign::SigningKey> = OnceLock::new();
    KEY.get_or_init(|| trevm_sign::dev_key().expect("development key").key)
}

/// What happened to one module on the upload path.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// The manifest could not be made (too many exports, names a device refuses, …).
    Unsignable,
    /// Refused by the runtime when loaded.
    Refused,
    /// Loaded; instantiating it failed.
    NotInstantiated,
    /// Loaded, instantiated, its exports called.
    Ran,
}

/// The device path for `wasm` claiming `exports`, with `args` the source of call arguments.
fn upload(wasm: &[u8], exports: Vec<ExportedFunc>, args: &[u8], pulley: bool) -> Outcome {
    let Ok(unsigned) = trevm::capsule::encode(wasmi_profile(), "fuzz", wasm) else {
        return Outcome::Unsignable;
    };
    let claims = trevm_sign::Claims {
        version: Some(1),
        grants: Some(Vec::new()),
        exports: Some(exports.clone()),
    };
    let Ok(signed) = trevm_sign::sign_with(&unsigned, dev_key(), claims) else {
        return Outcome::Unsignable;
    };
    let capsule = Capsule::from_vec(signed).expect("a capsule just signed parses");
    let verified = device_policy()
        .verify(capsule, &VersionLedger::new())
        .expect("signed by the development key");
    let outcome = with_runtime(pulley, |rt| {
        let loaded = match rt.load(&verified) {
            Ok(l) => l,
            Err(e) => {
                assert!(
                    matches!(e, Error::Invalid(_) | Error::Link(_) | Error::Refused(_)),
                    "a load fails as Invalid, Link or Refused (an import not granted), not {e:?}"
                );
                return Outcome::Refused;
            }
        };
        assert_eq!(loaded.provider(), "wasmi");
        // What loaded has no start function, and every stated export is the code's.
        let shape = shape(wasm).expect("what wasmi validated parses");
        assert!(!shape.start, "a module with a start function loaded");
        for e in &exports {
            assert!(
                shape
                    .funcs
                    .iter()
                    .any(|(n, core)| n == &e.name && lies(e, core).is_none()),
                "export `{e}` loaded though the code does not have it"
            );
        }
        let mut u = Unstructured::new(args);
        block_on(async {
            let mut inst = match rt
                .instantiate(&loaded, HostState::new("fuzz"), limits())
                .await
            {
                Ok(i) => i,
                Err(e) => {
                    assert!(
                        matches!(
                            e,
                            Error::MemoryLimit { .. }
                                | Error::Link(_)
                                | Error::Invalid(_)
                                | Error::Trap(_)
                                | Error::DeviceOutOfMemory(_)
                        ),
                        "instantiating fails as a limit, link or trap, not {e:?}"
                    );
                    return Outcome::NotInstantiated;
                }
            };
            for e in exports.iter().take(MAX_CALLS) {
                let args: Vec<Val> =
                    e.ty.params
                        .iter()
                        .map(|(_, t)| arbitrary_val(t, &mut u))
                        .collect();
                let out = inst.call(&e.name, &args).await;
                if let Err(err) = &out {
                    assert!(
                        !matches!(
                            err,
                            Error::Engine(_) | Error::Capsule(_) | Error::Refused(_)
                        ),
                        "a call fails as the capsule's fault, not {err:?}"
                    );
                }
                assert!(
                    inst.peak_memory() <= limits().max_memory,
                    "memory grew to {} past the limit",
                    inst.peak_memory()
                );
            }
            Outcome::Ran
        })
    });
    if outcome != Outcome::Ran {
        still_usable(pulley);
    }
    if std::env::var_os("TREVM_FUZZ_STATS").is_some() {
        eprintln!("outcome {outcome:?}");
    }
    outcome
}

/// The runtime still loads and runs a good capsule.
fn still_usable(pulley: bool) {
    static FIB: OnceLock<Vec<u8>> = OnceLock::new();
    let bytes = FIB.get_or_init(|| capsule_bytes("fibonacci", wasmi_profile()));
    let verified = device_policy()
        .verify(Capsule::from_slice(bytes).unwrap(), &VersionLedger::new())
        .expect("fibonacci verifies");
    with_runtime(pulley, |rt| {
        let loaded = rt.load(&verified).expect("fibonacci loads");
        let out = block_on(async {
            let mut inst = rt
                .instantiate(&loaded, HostState::new("fibonacci"), Limits::new())
                .await?;
            inst.call("fibonacci", &[Val::U32(10)]).await
        });
        assert_eq!(out, Ok(vec![Val::U32(55)]));
    });
}

fn device_policy() -> &'static trevm::TrustPolicy {
    static POLICY: OnceLock<trevm::TrustPolicy> = OnceLock::new();
    POLICY.get_or_init(policy)
}

/// The exports and start function of a module, as far as it parses.
struct Shape {
    /// Exported functions: name and core signature.
    funcs: Vec<(String, wasmparser::FuncType)>,
    start: bool,
}

fn shape(wasm: &[u8]) -> Option<Shape> {
    let mut types = Vec::new();
    let mut func_types: Vec<u32> = Vec::new();
    let mut exports = Vec::new();
    let mut start = false;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.ok()? {
            Payload::TypeSection(r) => {
                for group in r {
                    for sub in group.ok()?.into_types() {
                        types.push(match sub.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(f) => Some(f),
                            _ => None,
                        });
                    }
                }
            }
            Payload::ImportSection(r) => {
                for import in r.into_imports() {
                    if let TypeRef::Func(t) = import.ok()?.ty {
                        func_types.push(t);
                    }
                }
            }
            Payload::FunctionSection(r) => {
                for t in r {
                    func_types.push(t.ok()?);
                }
            }
            Payload::ExportSection(r) => {
                for e in r {
                    let e = e.ok()?;
                    if e.kind == ExternalKind::Func {
                        exports.push((e.name.to_string(), e.index));
                    }
                }
            }
            Payload::StartSection { .. } => start = true,
            _ => {}
        }
    }
    let funcs = exports
        .into_iter()
        .filter_map(|(name, index)| {
            let ty = types
                .get(*func_types.get(index as usize)? as usize)?
                .clone()?;
            Some((name, ty))
        })
        .collect();
    Some(Shape { funcs, start })
}

/// Why `export`'s stated type is not `core`'s, if it is not (scalars and a returned string or
/// list, which the canonical ABI passes through a pointer).
fn lies(export: &ExportedFunc, core: &wasmparser::FuncType) -> Option<String> {
    use wasmparser::ValType as W;
    let flat = |t: &ValType| -> Option<W> {
        Some(match t {
            ValType::Bool
            | ValType::S8
            | ValType::U8
            | ValType::S16
            | ValType::U16
            | ValType::S32
            | ValType::U32
            | ValType::Char => W::I32,
            ValType::S64 | ValType::U64 => W::I64,
            ValType::Float32 => W::F32,
            ValType::Float64 => W::F64,
            _ => return None,
        })
    };
    let params: Option<Vec<W>> = export.ty.params.iter().map(|(_, t)| flat(t)).collect();
    let results: Vec<W> = match export.ty.results.as_slice() {
        [] => vec![],
        [ValType::String | ValType::List(_)] => vec![W::I32],
        [t] => vec![flat(t)?],
        _ => return Some("several results".into()),
    };
    (params.as_deref() != Some(core.params()) || results != core.results())
        .then(|| format!("{export} is not {core:?}"))
}

/// A WIT type whose core form is `t`.
fn wit_for(t: wasmparser::ValType, u: &mut Unstructured<'_>) -> Option<ValType> {
    use wasmparser::ValType as W;
    let choices: &[ValType] = match t {
        W::I32 => &[
            ValType::U32,
            ValType::S32,
            ValType::U8,
            ValType::S16,
            ValType::Bool,
            ValType::Char,
        ],
        W::I64 => &[ValType::U64, ValType::S64],
        W::F32 => &[ValType::Float32],
        W::F64 => &[ValType::Float64],
        _ => return None,
    };
    u.choose(choices).ok().cloned()
}

/// Export types for `shape`'s functions that a manifest can state: matching the code, or (when
/// `lie`) some of them not.
fn stated_exports(shape: &Shape, u: &mut Unstructured<'_>, lie: bool) -> Vec<ExportedFunc> {
    let mut out = Vec::new();
    for (name, core) in &shape.funcs {
        let params: Option<Vec<(String, ValType)>> = core
            .params()
            .iter()
            .enumerate()
            .map(|(i, t)| Some((format!("p{i}"), wit_for(*t, u)?)))
            .collect();
        let results: Option<Vec<ValType>> = match core.results() {
            [] => Some(vec![]),
            [wasmparser::ValType::I32] if u.ratio(1, 8).unwrap_or(false) => {
                // A pointer to a string or list: whatever the code returns is read as one.
                Some(vec![if u.arbitrary().unwrap_or(false) {
                    ValType::String
                } else {
                    ValType::List(Box::new(ValType::U8))
                }])
            }
            [t] => wit_for(*t, u).map(|t| vec![t]),
            _ => None,
        };
        let (Some(mut params), Some(mut results)) = (params, results) else {
            continue;
        };
        if lie && u.ratio(1, 2).unwrap_or(false) {
            match u.int_in_range(0..=2).unwrap_or(0) {
                0 => params.push(("extra".into(), ValType::U32)),
                1 => results = vec![ValType::Float64],
                _ => {
                    params.pop();
                }
            }
        }
        out.push(ExportedFunc {
            name: name.clone(),
            ty: FuncType { params, results },
        });
        if out.len() == 32 {
            break;
        }
    }
    out
}

/// An argument of type `t` from `u` (zeros once `u` runs out).
fn arbitrary_val(t: &ValType, u: &mut Unstructured<'_>) -> Val {
    match t {
        ValType::Bool => Val::Bool(u.arbitrary().unwrap_or_default()),
        ValType::S8 => Val::S8(u.arbitrary().unwrap_or_default()),
        ValType::U8 => Val::U8(u.arbitrary().unwrap_or_default()),
        ValType::S16 => Val::S16(u.arbitrary().unwrap_or_default()),
        ValType::U16 => Val::U16(u.arbitrary().unwrap_or_default()),
        ValType::S32 => Val::S32(u.arbitrary().unwrap_or_default()),
        // Small numbers often: fibonacci(n) with a huge n only burns fuel.
        ValType::U32 => Val::U32(u.int_in_range(0..=40).unwrap_or(0)),
        ValType::S64 => Val::S64(u.arbitrary().unwrap_or_default()),
        ValType::U64 => Val::U64(u.arbitrary().unwrap_or_default()),
        ValType::Float32 => Val::Float32(u.arbitrary().unwrap_or_default()),
        ValType::Float64 => Val::Float64(u.arbitrary().unwrap_or_default()),
        ValType::Char => Val::Char(u.arbitrary().unwrap_or('x')),
        other => panic!("no arguments of type {other} are generated"),
    }
}

/// A module `wasm-smith` makes from `seed`: `hostile` turns on what capsules may not use.
fn smith(seed: &[u8], hostile: bool) -> Vec<u8> {
    let mut u = Unstructured::new(seed);
    let mut config = wasm_smith::Config {
        max_memories: 1,
        // Up to 4 pages: some beyond the 2-page limit.
        max_memory32_bytes: 4 * 65_536,
        memory64_enabled: false,
        custom_page_sizes_enabled: true,
        simd_enabled: false,
        relaxed_simd_enabled: false,
        tail_call_enabled: false,
        threads_enabled: false,
        gc_enabled: false,
        exceptions_enabled: false,
        allow_start_export: false,
        max_imports: 0,
        min_exports: 1,
        export_everything: true,
        max_funcs: 20,
        max_instructions: 200,
        max_globals: 20,
        max_tables: 1,
        max_table_elements: 2_000,
        ..wasm_smith::Config::default()
    };
    if hostile {
        config.memory64_enabled = true;
        config.max_memory32_bytes = 1 << 32;
        config.simd_enabled = true;
        config.tail_call_enabled = true;
        config.exceptions_enabled = true;
        config.gc_enabled = true;
        config.allow_start_export = true;
        config.max_imports = 3;
        config.max_memories = 2;
        config.max_tables = 3;
    }
    match wasm_smith::Module::new(config, &mut u) {
        Ok(m) => m.to_bytes(),
        Err(_) => b"\0asm\x01\0\0\0".to_vec(),
    }
}

/// The sections of a module (header excluded), as byte ranges including id and size.
fn sections(wasm: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut at = 8;
    while at < wasm.len() {
        let start = at;
        at += 1;
        let (mut size, mut shift) = (0usize, 0);
        loop {
            let Some(&b) = wasm.get(at) else {
                return out;
            };
            at += 1;
            size |= usize::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 || shift > 28 {
                break;
            }
        }
        at = at.saturating_add(size).min(wasm.len());
        out.push(start..at);
    }
    out
}

/// fibonacci's module with one section removed, doubled, moved, or taken from sandbox.
fn spliced(op: u8, i: prop::sample::Index, j: prop::sample::Index) -> Vec<u8> {
    let fib = &fibonacci().0;
    let own = sections(fib);
    let other = sections(sandbox_core());
    let mut parts: Vec<&[u8]> = own.iter().map(|r| &fib[r.clone()]).collect();
    let a = i.index(parts.len());
    let b = j.index(parts.len());
    match op % 4 {
        0 => {
            parts.remove(a);
        }
        1 => parts.insert(b, parts[a]),
        2 => parts.swap(a, b),
        _ => {
            let r = other[j.index(other.len())].clone();
            parts[a] = &sandbox_core()[r];
        }
    }
    let mut out = fib[..8].to_vec();
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn capsule_shaped_modules_run_or_are_refused(
        seed in proptest::collection::vec(any::<u8>(), 0..1024),
        args in proptest::collection::vec(any::<u8>(), 0..256),
        lie in any::<bool>(),
        pulley in any::<bool>(),
    ) {
        let wasm = smith(&seed, false);
        let shape = shape(&wasm).expect("wasm-smith makes valid modules");
        let mut u = Unstructured::new(&args);
        let exports = stated_exports(&shape, &mut u, lie);
        let lying = exports.iter().any(|e| {
            shape.funcs.iter().all(|(n, core)| n != &e.name || lies(e, core).is_some())
        });
        let outcome = upload(&wasm, exports, u.take_rest(), pulley);
        if lying {
            prop_assert!(matches!(outcome, Outcome::Refused | Outcome::Unsignable), "{outcome:?}");
        }
    }

    #[test]
    fn hostile_modules_are_refused_or_bounded(
        seed in proptest::collection::vec(any::<u8>(), 0..1024),
        args in proptest::collection::vec(any::<u8>(), 0..256),
        pulley in any::<bool>(),
    ) {
        let wasm = smith(&seed, true);
        let shape = shape(&wasm).expect("wasm-smith makes valid modules");
        let mut u = Unstructured::new(&args);
        let exports = stated_exports(&shape, &mut u, false);
        let outcome = upload(&wasm, exports, u.take_rest(), pulley);
        if shape.start {
            prop_assert!(matches!(outcome, Outcome::Refused | Outcome::Unsignable), "{outcome:?}");
        }
    }

    #[test]
    fn a_mutated_payload_runs_or_is_refused(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 0..4),
        cut in proptest::option::weighted(0.2, any::<prop::sample::Index>()),
        extra in proptest::option::weighted(0.2, proptest::collection::vec(any::<u8>(), 1..32)),
        splice in proptest::option::weighted(
            0.3,
            (any::<u8>(), any::<prop::sample::Index>(), any::<prop::sample::Index>()),
        ),
        args in proptest::collection::vec(any::<u8>(), 0..64),
        pulley in any::<bool>(),
    ) {
        let mut wasm = match splice {
            Some((op, i, j)) => spliced(op, i, j),
            None => fibonacci().0.clone(),
        };
        for (at, mask) in &flips {
            let i = at.index(wasm.len());
            wasm[i] ^= mask;
        }
        if let Some(cut) = cut {
            wasm.truncate(cut.index(wasm.len()));
        }
        wasm.extend_from_slice(extra.as_deref().unwrap_or_default());
        upload(&wasm, fibonacci().1.clone(), &args, pulley);
    }

    #[test]
    fn arbitrary_bytes_are_refused(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        header in any::<bool>(),
        pulley in any::<bool>(),
    ) {
        let mut wasm = if header { b"\0asm\x01\0\0\0".to_vec() } else { Vec::new() };
        wasm.extend_from_slice(&bytes);
        // Without exports stated, so whatever validates is refused only for what it is.
        let outcome = upload(&wasm, Vec::new(), &[], pulley);
        if !header {
            prop_assert_eq!(outcome, Outcome::Refused);
        }
    }
}

fn leb(mut n: u32, out: &mut Vec<u8>) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A core module of `(id, content)` sections.
fn module(sections: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut out = b"\0asm\x01\0\0\0".to_vec();
    for (id, content) in sections {
        out.push(*id);
        leb(content.len() as u32, &mut out);
        out.extend_from_slice(content);
    }
    out
}

/// `count` copies of `item` after their count, as a section's content.
fn vector(count: u32, item: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    leb(count, &mut out);
    for _ in 0..count {
        out.extend_from_slice(item);
    }
    out
}

/// `n` functions `() -> ()` doing nothing.
fn functions(n: u32) -> Vec<(u8, Vec<u8>)> {
    vec![
        (1, vec![1, 0x60, 0, 0]),
        (3, vector(n, &[0])),
        (10, vector(n, &[2, 0, 0x0b])),
    ]
}

/// What wasmi's strict limits and trevm's configuration refuse, whatever the fuzzer happens to
/// make: refused at load, before the device translates (and allocates for) any of it.
#[test]
fn modules_beyond_the_limits_are_refused() {
    let mut with_start = functions(1);
    with_start.insert(2, (8, vec![0]));
    for (what, wasm) in [
        // wasmi's strict limits: 10,000 functions, 1,000 globals, one memory.
        ("10,001 functions", module(&functions(10_001))),
        (
            "1,001 globals",
            module(&[(6, vector(1_001, &[0x7f, 0, 0x41, 0, 0x0b]))]),
        ),
        ("two memories", module(&[(5, vector(2, &[0, 1]))])),
        // Not resumable, so not run: a start function.
        ("a start function", module(&with_start)),
    ] {
        for pulley in [false, true] {
            assert_eq!(
                upload(&wasm, Vec::new(), &[], pulley),
                Outcome::Refused,
                "{what}"
            );
        }
    }
    // And just within them, the same shapes load (10,000 functions of 3 bytes each do not: wasmi
    // also wants at least 40 bytes per function on average once bodies reach 1,000 bytes).
    for (what, wasm) in [
        (
            "1,000 globals",
            module(&[(6, vector(1_000, &[0x7f, 0, 0x41, 0, 0x0b]))]),
        ),
        ("one memory", module(&[(5, vector(1, &[0, 1]))])),
    ] {
        assert_ne!(
            upload(&wasm, Vec::new(), &[], false),
            Outcome::Refused,
            "{what}"
        );
    }
}
