//! Behaviour a capsule author or device developer can observe: what capsules log, what they
//! draw, how long they sleep, and how every kind of misbehaviour comes back as an error value.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use common::*;
use futures_util::future::{Either, select};
use trevm::capsule::{CapsuleError, encode};
use trevm::{
    Capsule, EngineProfile, Error, Grants, HostState, Limits, Preemption, Runtime, RuntimeOptions,
    Target, TrustError, Val, VersionLedger,
};

each_vm! {
fn log_rng_and_time_bindings_are_observable(vm) {
    let rt = vm.runtime();
    let loaded = rt.load(&vm.capsule("async-bindings")).unwrap();
    let (host, log) = host("async-bindings");
    let host = host.with_rng(CountingRng::default());
    // The capsule sleeps 3 s, then loops forever: a 4 s timeout ends it after the second clock read.
    // On the wall clock: only real time passes while the capsule loops.
    let limits = Limits::new().with_timeout(trevm::Duration::from_secs(4));
    let err = block_on(async {
        let mut inst = rt.instantiate(&loaded, host, limits).await?;
        inst.call_run().await
    })
    .unwrap_err();
    assert_eq!(err, Error::Timeout { after_ms: 4000 });

    let lines = log.messages();
    assert_eq!(lines[0], "Hello from inside the capsule");
    // log + rng: ten numbers, each the counting RNG's next value modulo 100.
    let numbers: Vec<u32> = lines[2..12]
        .iter()
        .map(|l| l.parse().expect("a number"))
        .collect();
    let expected: Vec<u32> = (1..=10).map(|i| (7 * i) % 100).collect();
    assert_eq!(numbers, expected, "log: {lines:?}");
    // time: now-as-millis before and after `sleep(3000)` are at least 3000 ms apart.
    let millis = |l: &String| -> u64 {
        l.trim_start_matches("It has been ")
            .trim_end_matches(" ms since boot")
            .parse()
            .expect("ms")
    };
    let before = lines
        .iter()
        .find(|l| l.starts_with("It has been"))
        .map(millis)
        .expect("first clock line");
    let after = lines
        .iter()
        .filter(|l| l.starts_with("It has been"))
        .nth(1)
        .map(millis)
        .expect("second line");
    assert!(after - before >= 3000, "slept {} ms", after - before);
    assert_eq!(
        lines.last().map(String::as_str),
        Some("Starting an infinite loop")
    );
}
}

/// A task that yields `beats` times, counting its polls, then ends.
struct Heartbeat {
    polls: Arc<AtomicU32>,
    beats: u32,
}

impl std::future::Future for Heartbeat {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        self.polls.fetch_add(1, Ordering::Relaxed);
        if self.beats == 0 {
            return std::task::Poll::Ready(());
        }
        self.beats -= 1;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

each_vm! {
fn timeout_stops_a_busy_loop_while_other_tasks_run(vm) {
    let rt = vm.runtime();
    let loaded = rt.load(&vm.capsule("hostile")).unwrap();

    // Other tasks run while a capsule spins: a task on the same executor is polled three times
    // (each poll yields) while the call is still in progress. The call has no timeout and `spin`
    // never returns, so only that task can end the race: no clock is involved, and a blocked
    // executor would hang the test rather than fail it.
    let (host, _) = host("hostile");
    let mut inst = block_on(rt.instantiate(&loaded, host, Limits::new())).unwrap();
    let polls = Arc::new(AtomicU32::new(0));
    let heartbeat = Heartbeat {
        polls: polls.clone(),
        beats: 3,
    };
    let spinning = block_on(async {
        let call = Box::pin(inst.call("spin", &[]));
        match select(call, heartbeat).await {
            Either::Left((r, _)) => Some(r),
            // Dropping the call here stops the capsule mid-loop.
            Either::Right(((), _)) => None,
        }
    });
    assert_eq!(
        spinning,
        None,
        "spin returned after the other task was polled {} times",
        polls.load(Ordering::Relaxed)
    );
    assert_eq!(polls.load(Ordering::Relaxed), 4);

    // The timeout stops the same busy loop, and only that instance: on the wall clock, as on a
    // device (a virtual clock stands still while the capsule computes).
    // The timeout stops the same busy loop, and only that instance.
    let (host, _) = common::host("hostile");
    let limits = Limits::new().with_timeout(trevm::Duration::from_millis(600));
    let (result, mut inst) = block_on(async {
        let mut inst = rt.instantiate(&loaded, host, limits).await.unwrap();
        let r = inst.call("spin", &[]).await;
        (r, inst)
    });
    assert_eq!(result, Err(Error::Timeout { after_ms: 600 }));
    // The instance is stopped; the runtime is fine and can start a new one.
    assert_eq!(block_on(inst.call("spin", &[])), Err(Error::Stopped));
    let (host, _) = common::host("hostile");
    let grown = block_on(async {
        let mut inst = rt.instantiate(&loaded, host, Limits::new()).await?;
        inst.call("grow-memory", &[Val::U32(0)]).await
    });
    assert!(
        matches!(grown.as_deref(), Ok([Val::S32(n)]) if *n > 0),
        "{grown:?}"
    );
}
}

each_vm! {
fn huge_sleeps_wait_for_the_timeout_instead_of_overflowing(vm) {
    let rt = vm.runtime();
    let loaded = rt.load(&vm.capsule("hostile")).unwrap();
    // u64::MAX ms overflows embassy-time's ticks; 2^60 ms fits a Duration but not now + it.
    // On the virtual clock: the 200 ms timeouts take no wall time.
    for millis in [u64::MAX, u64::MAX / 1000, 1 << 60] {
        let (host, log) = host("hostile");
        let r = run_virtual(async {
            let mut inst = rt
                .instantiate(
                    &loaded,
                    host,
                    Limits::new().with_timeout(trevm::Duration::from_millis(200)),
                )
                .await?;
            inst.call("sleep-for", &[Val::U64(millis)]).await
        });
        assert_eq!(r, Err(Error::Timeout { after_ms: 200 }), "sleep({millis})");
        assert!(
            !log.messages().iter().any(|l| l.contains("woke up")),
            "sleep({millis})"
        );
    }
    // An ordinary sleep still wakes up, after exactly its time.
    let (host, log) = host("hostile");
    run_virtual(async {
        let mut inst = rt.instantiate(&loaded, host, Limits::new()).await?;
        inst.call("sleep-for", &[Val::U64(5)]).await
    })
    .unwrap();
    assert!(log.messages().iter().any(|l| l.contains("woke up")));
}
}

each_vm! {
fn fuel_budget_stops_a_busy_loop(vm) {
    let rt = vm.runtime();
    let loaded = rt.load(&vm.capsule("hostile")).unwrap();
    let (host, _) = host("hostile");
    let r = block_on(async {
        let mut inst = rt
            .instantiate(&loaded, host, Limits::new().with_fuel(1_000_000))
            .await?;
        inst.call("spin", &[]).await
    });
    assert_eq!(r, Err(Error::OutOfFuel));
}
}

each_vm! {
fn traps_are_reported_and_stop_only_that_instance(vm) {
    let rt = vm.runtime();
    let loaded = rt.load(&vm.capsule("hostile")).unwrap();
    let (host, log) = host("hostile");
    block_on(async {
        let mut inst = rt.instantiate(&loaded, host, Limits::new()).await.unwrap();
        let err = inst.call("log-then-trap", &[]).await.unwrap_err();
        match &err {
            Error::Trap(msg) => assert!(msg.contains("unreachable"), "{msg}"),
            other => panic!("expected a trap, got {other:?}"),
        }
        assert!(err.to_string().starts_with("capsule trapped: "), "{err}");
        assert_eq!(log.messages(), ["about to trap"]);
        assert_eq!(inst.call("trap", &[]).await, Err(Error::Stopped));
        // A panic inside the capsule is a trap too.
        let (host, _) = common::host("hostile");
        let mut fresh = rt.instantiate(&loaded, host, Limits::new()).await.unwrap();
        assert!(matches!(fresh.call("trap", &[]).await, Err(Error::Trap(_))));
    });
}
}

each_vm! {
fn memory_growth_beyond_the_limit_is_refused(vm) {
    let rt = vm.runtime();
    let loaded = rt.load(&vm.capsule("hostile")).unwrap();
    let (host, _) = host("hostile");
    let limits = Limits::new().with_max_memory(64 * 1024);
    block_on(async {
        let mut inst = rt.instantiate(&loaded, host, limits).await.unwrap();
        // The guest sees memory.grow fail (-1) and can carry on.
        let r = inst
            .call("grow-memory", &[Val::U32(1024 * 1024)])
            .await
            .unwrap();
        assert_eq!(r, [Val::S32(-1)]);
        // Growth within the limit works and returns the previous size (32 KiB initial memory).
        let r = inst.call("grow-memory", &[Val::U32(1024)]).await.unwrap();
        assert_eq!(r, [Val::S32(32 * 1024)]);
    });
    // A capsule whose initial memory exceeds the limit does not start.
    let (host, _) = common::host("hostile");
    let err = block_on(rt.instantiate(&loaded, host, Limits::new().with_max_memory(16 * 1024)))
        .unwrap_err();
    assert!(
        matches!(err, Error::MemoryLimit { requested, limit: 16384 } if requested > 16384),
        "{err:?}"
    );
}
}

each_vm! {
fn huge_random_bytes_request_is_refused_not_fatal(vm) {
    let rt = vm.runtime();
    let loaded = rt.load(&vm.capsule("hostile")).unwrap();
    let (host, _) = host("hostile");
    let host = host.with_rng(CountingRng::default());
    let err = block_on(async {
        let mut inst = rt.instantiate(&loaded, host, Limits::new()).await?;
        inst.call("huge-random", &[]).await
    })
    .unwrap_err();
    match err {
        Error::HostRefused(msg) => {
            assert!(msg.contains("random-bytes(4294967295) exceeds"), "{msg}")
        }
        other => panic!("expected HostRefused, got {other:?}"),
    }
}
}

#[test]
fn capsule_built_for_another_profile_is_refused_with_the_reason() {
    let rt = runtime();
    let pulley32 = capsule_bytes("fibonacci", EngineProfile::pulley32(Preemption::Fuel));
    let err = rt.load(&verified(pulley32)).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, Error::Capsule(CapsuleError::ProfileMismatch { .. })),
        "{err:?}"
    );
    assert!(msg.contains("target pulley32 ≠ pulley64"), "{msg}");
    assert!(msg.contains("trevm build --target pulley64"), "{msg}");

    let epoch = capsule_bytes(
        "fibonacci",
        EngineProfile {
            target: Target::pulley_for_this_machine(),
            preemption: Preemption::Epoch,
        },
    );
    let err = rt.load(&verified(epoch.clone())).unwrap_err();
    assert!(err.to_string().contains("preemption epoch ≠ fuel"), "{err}");

    // The same bytes run on a runtime of their own profile.
    let epoch_rt = Runtime::new(
        Capsule::from_vec(epoch.clone()).unwrap().profile(),
        RuntimeOptions::host(),
    )
    .unwrap();
    let loaded = epoch_rt.load(&verified(epoch)).unwrap();
    let ticker = epoch_rt.epoch_ticker();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(std::time::Duration::from_millis(10));
            ticker.tick();
        }
    });
    let r = block_on(async {
        let mut inst = epoch_rt
            .instantiate(&loaded, HostState::new("fib"), Limits::new())
            .await?;
        inst.call("fibonacci", &[Val::U32(20)]).await
    });
    assert_eq!(r, Ok(vec![Val::U32(6765)]));
}

#[test]
fn each_runtime_refuses_the_other_kind_with_the_reason_and_a_pulley_runtime_runs_both() {
    let wasm = capsule_bytes("fibonacci", Vm::Wasmi.profile());
    let pulley = capsule_bytes("fibonacci", Vm::Wasmtime.profile());
    // A runtime for plain wasm only: Pulley code is another profile, named in the refusal.
    let err = Vm::Wasmi
        .runtime()
        .load(&verified(pulley.clone()))
        .unwrap_err();
    assert!(
        matches!(err, Error::Capsule(CapsuleError::ProfileMismatch { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("target pulley64 ≠ wasm"), "{err}");
    // wasm capsules are stamped for fuel: a runtime without preemption says so.
    let none = Runtime::new(
        EngineProfile::wasmi(Preemption::None),
        RuntimeOptions::host(),
    )
    .unwrap();
    let err = none.load(&verified(wasm.clone())).unwrap_err();
    assert!(err.to_string().contains("preemption fuel ≠ none"), "{err}");
    // A Pulley runtime (trevm with both features) takes both kinds, each on its provider.
    let rt = Vm::Wasmtime.runtime();
    for (bytes, provider) in [(pulley, "wasmtime"), (wasm, "wasmi")] {
        let loaded = rt.load(&verified(bytes)).unwrap();
        assert_eq!(loaded.provider(), provider);
        let r = block_on(async {
            let mut inst = rt
                .instantiate(&loaded, HostState::new("fib"), Limits::new())
                .await?;
            inst.call("fibonacci", &[Val::U32(20)]).await
        });
        assert_eq!(r, Ok(vec![Val::U32(6765)]), "{provider}");
    }
}

#[test]
fn garbage_and_damaged_capsules_are_refused_without_panic() {
    let rt = runtime();
    let good = capsule_bytes("fibonacci", EngineProfile::for_this_machine());

    assert!(matches!(
        Capsule::from_vec(vec![]),
        Err(CapsuleError::BadMagic { .. })
    ));
    assert!(matches!(
        Capsule::from_vec(b"hello world, not a capsule".to_vec()),
        Err(CapsuleError::BadMagic { .. })
    ));
    for cut in [8, 63, 64, 100, good.len() / 2, good.len() - 1] {
        let r = Capsule::from_vec(good[..cut].to_vec());
        assert!(
            matches!(
                r,
                Err(CapsuleError::TooShort { .. } | CapsuleError::Truncated { .. })
            ),
            "cut at {cut}: {r:?}"
        );
    }
    for at in [64, 200, good.len() / 2, good.len() - 1] {
        let mut bad = good.clone();
        bad[at] ^= 0x5a;
        assert!(
            matches!(Capsule::from_vec(bad), Err(CapsuleError::Corrupted { .. })),
            "flip at {at}"
        );
    }
    let mut bad_header = good.clone();
    bad_header[12] = 99; // unknown target
    assert_eq!(
        Capsule::from_vec(bad_header).unwrap_err(),
        CapsuleError::BadHeader("unknown target")
    );

    // A bare Wasmtime .cwasm and a core module are recognised and explained.
    let err = Capsule::from_vec(good[64..].to_vec()).unwrap_err();
    assert!(err.to_string().contains("bare Wasmtime .cwasm"), "{err}");

    // A valid header and CRC around bytes that are not Wasmtime code: without a signature the
    // trust policy refuses them before Wasmtime sees a byte.
    for junk in [&b""[..], b"\x7fELF garbage", &[0u8; 4096][..]] {
        let wrapped = encode(EngineProfile::for_this_machine(), "junk", junk).unwrap();
        let err = policy()
            .verify(Capsule::from_vec(wrapped).unwrap(), &VersionLedger::new())
            .unwrap_err();
        assert_eq!(err, TrustError::Unsigned);
    }
    // Signed by a key the device does not know: refused too.
    let stranger = trevm_sign::SigningKey::generate();
    let signed = trevm_sign::sign(&good, &stranger, Some(1), None).unwrap();
    let err = policy()
        .verify(Capsule::from_vec(signed).unwrap(), &VersionLedger::new())
        .unwrap_err();
    assert!(matches!(err, TrustError::UnknownSigner { .. }), "{err}");
    let _ = rt;
}

each_vm! {
fn interfaces_not_granted_fail_at_link_time(vm) {
    let rt = vm.runtime_with(RuntimeOptions::host().with_grants(Grants::none()));
    let loaded = rt.load(&vm.capsule("async-bindings")).unwrap();
    let err = block_on(rt.instantiate(&loaded, HostState::new("a"), Limits::new())).unwrap_err();
    match err {
        Error::Link(msg) => assert!(msg.contains("ariel:wasm-bindings/"), "{msg}"),
        other => panic!("expected a link error, got {other:?}"),
    }
    // A pure capsule needs no grant at all.
    let loaded = rt.load(&vm.capsule("sandbox")).unwrap();
    let r = block_on(async {
        let mut inst = rt
            .instantiate(&loaded, HostState::new("s"), Limits::new())
            .await?;
        inst.call("run", &[]).await
    });
    assert_eq!(r, Ok(vec![Val::String("Hello from the sandbox!".into())]));
}
}

each_vm! {
fn deep_recursion_is_a_stack_overflow_trap(vm) {
    let rt = vm.runtime();
    let loaded = rt.load(&vm.capsule("fibonacci")).unwrap();
    let r = block_on(async {
        let mut inst = rt
            .instantiate(&loaded, HostState::new("fib"), Limits::new())
            .await?;
        inst.call("fibonacci", &[Val::U32(10_000_000)]).await
    });
    match r {
        Err(Error::Trap(msg)) => {
            // Names the export that trapped: capsules carry no address map by default.
            assert!(msg.starts_with("in `fibonacci`: "), "{msg}");
            assert!(msg.contains("call stack exhausted"), "{msg}");
            assert!(msg.len() < 400, "backtrace should be folded: {msg}");
        }
        other => panic!("expected a stack overflow trap, got {other:?}"),
    }
}
}

each_vm! {
fn wrong_export_and_arguments_are_errors_not_traps(vm) {
    let rt = vm.runtime();
    let loaded = rt.load(&vm.capsule("fibonacci")).unwrap();
    block_on(async {
        let mut inst = rt
            .instantiate(&loaded, HostState::new("fib"), Limits::new())
            .await
            .unwrap();
        assert!(matches!(
            inst.call("nope", &[]).await,
            Err(Error::MissingExport { .. })
        ));
        assert!(matches!(
            inst.call("fibonacci", &[]).await,
            Err(Error::BadArguments(_))
        ));
        assert_eq!(
            inst.call("fibonacci", &[Val::String("x".into())]).await,
            Err(Error::BadArguments(
                "`fibonacci` argument 1 (`n`): expected u32, got a string".into()
            ))
        );
        // Still usable after those.
        assert_eq!(
            inst.call("fibonacci", &[Val::U32(20)]).await,
            Ok(vec![Val::U32(6765)])
        );
    });
}
}

/// Capsule bytes at a 16-byte-aligned `'static` address, as `include_capsule!` gives firmware.
fn leak_aligned(bytes: &[u8]) -> &'static [u8] {
    let buf: &'static mut [u8] = Vec::leak(vec![0u8; bytes.len() + 16]);
    let offset = buf.as_ptr().align_offset(16);
    let slot = &mut buf[offset..offset + bytes.len()];
    slot.copy_from_slice(bytes);
    slot
}

#[test]
fn static_capsules_load_in_place_repeatedly_and_across_runtimes() {
    let bytes = leak_aligned(&capsule_bytes(
        "fibonacci",
        EngineProfile::for_this_machine(),
    ));
    let rt = runtime();
    let other = runtime();
    // Wasmtime registers in-place code by address: loading the same bytes again (same or another
    // engine) must neither panic nor break the first load.
    let first = rt
        .load(&verify(Capsule::from_static(bytes).unwrap()))
        .unwrap();
    let second = rt
        .load(&verify(Capsule::from_static(bytes).unwrap()))
        .unwrap();
    let third = other
        .load(&verify(Capsule::from_static(bytes).unwrap()))
        .unwrap();
    // A borrowed, non-'static slice is always copied, so the capsule may outlive it.
    let borrowed = {
        let temporary = bytes.to_vec();
        rt.load(&verify(Capsule::from_slice(&temporary).unwrap()))
            .unwrap()
    };
    for (runtime, loaded) in [
        (&rt, &first),
        (&rt, &second),
        (&other, &third),
        (&rt, &borrowed),
    ] {
        let r = block_on(async {
            let mut inst = runtime
                .instantiate(loaded, HostState::new("fib"), Limits::new())
                .await?;
            inst.call("fibonacci", &[Val::U32(20)]).await
        });
        assert_eq!(r, Ok(vec![Val::U32(6765)]));
    }
}

/// An application's own store data next to trevm's `HostState`, reached from a host function it
/// links itself (`uppercase` of the `example-coap-server` world).
#[test]
fn an_embedder_keeps_its_own_state_and_links_its_own_imports() {
    use trevm::HostView;
    use trevm_coap::message::{code, encode_options_payload, opt};

    struct App {
        host: HostState,
        shouted: Vec<String>,
    }
    impl HostView for App {
        fn host(&self) -> &HostState {
            &self.host
        }
        fn host_mut(&mut self) -> &mut HostState {
            &mut self.host
        }
    }

    let grants = Grants {
        log: true,
        ..Grants::none()
    };
    let mut rt = Runtime::<App>::with_store_data(
        EngineProfile::for_this_machine(),
        RuntimeOptions::host().with_grants(grants),
    )
    .unwrap();
    rt.define_func("", "uppercase", |app: &mut App, args| match args {
        [Val::String(input)] => {
            app.shouted.push(input.clone());
            Ok(vec![Val::String(input.to_uppercase())])
        }
        _ => Err(trevm::HostFnError("uppercase takes one string".into())),
    })
    .unwrap();
    let loaded = rt.load(&capsule("coap-persistent")).unwrap();
    let app = App {
        host: HostState::new("coap-persistent"),
        shouted: Vec::new(),
    };
    const IFACE: &str = "ariel:wasm-bindings/coap-server-guest@0.0.1";
    let (reply, shouted) = block_on(async {
        let mut inst = rt.instantiate(&loaded, app, Limits::new()).await?;
        inst.call(&format!("{IFACE}#initialize-handler"), &[])
            .await?;
        let mut message =
            encode_options_payload(&[(opt::URI_PATH, b"shout".to_vec())], b"make me loud");
        let observed = message.len() as u32;
        message.resize(1152, 0);
        let reply = inst
            .call(
                &format!("{IFACE}#coap-run"),
                &[
                    Val::U8(code::PUT),
                    Val::U32(observed),
                    Val::List(message.into_iter().map(Val::U8).collect()),
                ],
            )
            .await?;
        Ok::<_, Error>((reply, inst.data().shouted.clone()))
    })
    .unwrap();
    assert_eq!(shouted, ["make me loud"]);
    let text = format!("{reply:?}");
    // "MAKE ME LOUD" as bytes in the capsule's answer.
    assert!(text.contains("U8(77), U8(65), U8(75), U8(69)"), "{text}");
}
