//! Differential tests of the two VM providers: the same payload built for Wasmtime (Pulley) and
//! for wasmi states the same exports and answers every call the same — values, error kinds and
//! log lines — so the canonical ABI trevm lowers for wasmi means what Wasmtime's does.

mod common;

use std::mem::discriminant;
use std::sync::Arc;

use common::*;
use trevm::{Error, Grants, HostState, Limits, Runtime, RuntimeOptions, Val};
use trevm_coap::message::{code, encode_options_payload, opt};
use trevm_native::ConsoleLog;

const BOTH: [Vm; 2] = [Vm::Wasmtime, Vm::Wasmi];

/// What one provider answered: the call's result and the lines logged meanwhile.
type Answer = (Result<Vec<Val>, Error>, Vec<String>);

/// Calls `calls` in order on one instance of `payload` on `vm`'s runtime `rt`.
fn answers(vm: Vm, rt: &Runtime, payload: &str, calls: &[(&str, Vec<Val>)]) -> Vec<Answer> {
    let loaded = rt.load(&vm.capsule(payload)).expect("loads");
    assert_eq!(
        loaded.provider(),
        match vm {
            Vm::Wasmtime => "wasmtime",
            Vm::Wasmi => "wasmi",
        }
    );
    let log = Arc::new(ConsoleLog::silent());
    run_virtual(async {
        let mut inst = rt
            .instantiate(
                &loaded,
                HostState::new(payload).with_log(log.clone()),
                Limits::new(),
            )
            .await
            .expect("instantiates");
        let mut out = Vec::new();
        for (name, args) in calls {
            let seen = log.messages().len();
            let result = inst.call(name, args).await;
            out.push((result, log.messages()[seen..].to_vec()));
        }
        out
    })
}

/// The exports of `payload` as each provider lists them.
fn exports(vm: Vm, rt: &Runtime, payload: &str) -> Vec<String> {
    let loaded = rt.load(&vm.capsule(payload)).expect("loads");
    let mut e: Vec<String> = loaded
        .exported_funcs(rt)
        .iter()
        .map(ToString::to_string)
        .collect();
    e.sort();
    e
}

/// Both providers list the same exports of `payload` and answer `calls` the same: equal values,
/// or errors of the same kind (the texts of traps differ: Wasmtime has backtraces).
fn same(payload: &str, calls: &[(&str, Vec<Val>)]) {
    let [w, i] = BOTH.map(|vm| {
        let rt = vm.runtime();
        (exports(vm, &rt, payload), answers(vm, &rt, payload, calls))
    });
    assert_eq!(w.0, i.0, "{payload}: exports");
    for (((name, args), (w, w_log)), (i, i_log)) in calls.iter().zip(w.1).zip(i.1) {
        let call = format!("{payload}: {name}({args:?})");
        match (&w, &i) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{call}"),
            (Err(a), Err(b)) => assert_eq!(
                discriminant(a),
                discriminant(b),
                "{call}: Wasmtime {a:?}, wasmi {b:?}"
            ),
            _ => panic!("{call}: Wasmtime {w:?}, wasmi {i:?}"),
        }
        assert_eq!(w_log, i_log, "{call}: log lines");
    }
}

#[test]
fn fibonacci_answers_the_same() {
    let calls: Vec<_> = [0, 1, 2, 10, 20, 25]
        .into_iter()
        .map(|n| ("fibonacci", vec![Val::U32(n)]))
        .collect();
    same("fibonacci", &calls);
}

#[test]
fn the_sandbox_answers_the_same() {
    same("sandbox", &[("run", vec![]), ("run", vec![])]);
}

#[test]
fn bench_work_answers_the_same() {
    let mut calls = Vec::new();
    for n in [0, 1, 15, 25] {
        calls.push(("fib", vec![Val::U32(n)]));
    }
    for (n, seed) in [(0, 0), (1, 7), (100, 1), (1_000, 42), (1_000, u32::MAX)] {
        calls.push(("heapsort", vec![Val::U32(n), Val::U32(seed)]));
    }
    for (n, seed) in [(0, 0), (1, 1), (64, 2), (4_096, 3), (100_000, 4)] {
        calls.push(("sha256", vec![Val::U32(n), Val::U32(seed)]));
    }
    same("bench-work", &calls);
}

#[test]
fn hostile_answers_the_same_where_it_returns_and_fails_alike_where_it_does_not() {
    same(
        "hostile",
        &[
            ("grow-memory", vec![Val::U32(1_000)]),
            ("grow-memory", vec![Val::U32(1 << 20)]),
            ("grow-memory", vec![Val::U32(u32::MAX)]),
            ("sleep-for", vec![Val::U64(5)]),
        ],
    );
    // Each failure stops its instance: one call per instance.
    for name in ["trap", "huge-random", "log-then-trap"] {
        same("hostile", &[(name, vec![])]);
    }
}

#[test]
fn the_coap_world_answers_the_same() {
    // coap-counter: the `coap-server-guest` world without imports (coap-persistent imports the
    // application's `uppercase`, which only Wasmtime capsules can link: `Runtime::define_func`).
    let requests: Vec<(u8, &str, &[u8])> = vec![
        (code::GET, "counter", b""),
        (code::POST, "counter", b""),
        (code::POST, "counter", b"ignored"),
        (code::GET, "counter", b""),
        (code::PUT, "counter", &[0xff, 0xfe]),
        (code::DELETE, "counter", b""),
        (code::GET, "nope", b""),
    ];
    let [w, i] = BOTH.map(|vm| {
        let rt = vm.runtime_with(RuntimeOptions::host().with_grants(Grants::none()));
        let loaded = rt.load(&vm.capsule("coap-counter")).unwrap();
        run_virtual(async {
            let mut inst = rt
                .instantiate(&loaded, HostState::new("coap-counter"), Limits::new())
                .await
                .unwrap();
            let mut out = vec![format!("{:?}", inst.coap_initialize_handler().await)];
            out.push(format!("{:?}", inst.coap_report().await));
            for (c, path, body) in &requests {
                let mut message =
                    encode_options_payload(&[(opt::URI_PATH, path.as_bytes().to_vec())], body);
                let observed = message.len() as u32;
                message.resize(1152, 0);
                out.push(format!("{:?}", inst.coap_run(*c, observed, &message).await));
            }
            out
        })
    });
    assert_eq!(w.len(), requests.len() + 2);
    assert!(w[1].contains("counter"), "{w:?}");
    assert_eq!(w, i);
}
