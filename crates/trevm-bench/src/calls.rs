//! What one call costs, into a capsule and out of it, against native baselines.

use std::hint::black_box;
use std::time::Instant;

use futures_executor::block_on;
use trevm::{Capsule, Limits, Runtime, Val};
use trevm_native::NativeBoard;

use crate::cold::verified;
use crate::plan::Plan;
use crate::report::Samples;
use crate::util::{Result, nanos};

/// Per-call costs, in nanoseconds.
pub(crate) struct CallCosts {
    /// `now-as-millis`, called by the capsule (`now-loop(host_calls)`).
    pub(crate) now: Samples,
    /// `instance.call("noop")`, from the host.
    pub(crate) noop: Samples,
    /// `instance.call_typed("noop")`: the same call without dynamic values.
    pub(crate) typed: Samples,
}

/// [`CallCosts`] of `capsule` (the `bench-calls` example, built for `rt`'s profile), all in one
/// instance.
pub(crate) fn call_costs(
    rt: &Runtime,
    board: &NativeBoard,
    capsule: &[u8],
    limits: Limits,
    plan: &Plan,
) -> Result<CallCosts> {
    let capsule = verified(Capsule::from_vec(capsule.to_vec())?)?;
    let loaded = rt.load(&capsule)?;
    block_on(async {
        let mut instance = rt
            .instantiate(&loaded, board.host_state("bench-calls"), limits)
            .await?;
        // Warm-up.
        instance.call("now-loop", &[Val::U32(1000)]).await?;
        for _ in 0..1000 {
            instance.call("noop", &[]).await?;
        }
        let mut now = Samples::default();
        for _ in 0..plan.call_runs {
            let t = Instant::now();
            let result = instance
                .call("now-loop", &[Val::U32(plan.host_calls)])
                .await?;
            now.push(nanos(t.elapsed()) / f64::from(plan.host_calls));
            if !matches!(result.as_slice(), [Val::U64(_)]) {
                return Err(format!("now-loop returned {result:?}").into());
            }
        }
        let mut noop = Samples::default();
        for _ in 0..plan.call_runs {
            let t = Instant::now();
            for _ in 0..plan.noop_calls {
                instance.call("noop", &[]).await?;
            }
            noop.push(nanos(t.elapsed()) / f64::from(plan.noop_calls));
        }
        let mut typed = Samples::default();
        for _ in 0..plan.call_runs {
            let t = Instant::now();
            for _ in 0..plan.noop_calls {
                instance.call_typed::<(), ()>("noop", ()).await?;
            }
            typed.push(nanos(t.elapsed()) / f64::from(plan.noop_calls));
        }
        Ok(CallCosts { now, noop, typed })
    })
}

/// [`CallCosts`] of the `bench-calls` core `module` on bare wasmi (`engine` from
/// `peers::wasmi_engine`, `fuel` as it was made with; fuel enough for anything, never yields).
/// `now-as-millis` is a host function doing what trevm's does; `noop` is called by name like
/// trevm's `call` (`Func::call` with dynamic values) and `call_typed` (a `TypedFunc`).
pub(crate) fn bare_wasmi_call_costs(
    engine: &wasmi::Engine,
    fuel: bool,
    module: &[u8],
    plan: &Plan,
) -> Result<CallCosts> {
    const TIME: &str = "ariel:wasm-bindings/time-api@0.0.1";
    let module = wasmi::Module::new(engine, module)?;
    let mut linker = wasmi::Linker::<()>::new(engine);
    linker.func_wrap(TIME, "now-as-millis", |_: wasmi::Caller<'_, ()>| -> i64 {
        trevm_native::embassy_time::Instant::now().as_millis() as i64
    })?;
    // Imported by `float-across-sleeps`, which is not measured.
    linker.func_wrap(TIME, "sleep", |_: wasmi::Caller<'_, ()>, _ms: i64| {})?;
    let mut store = wasmi::Store::new(engine, ());
    if fuel {
        store.set_fuel(u64::MAX)?;
    }
    let instance = linker.instantiate_and_start(&mut store, &module)?;
    let now_loop = |store: &mut wasmi::Store<()>, n: u32| -> Result<i64> {
        let f = instance.get_typed_func::<i32, i64>(&*store, "now-loop")?;
        Ok(f.call(store, n as i32)?)
    };
    let noop = |store: &mut wasmi::Store<()>| -> Result<()> {
        let f = instance
            .get_func(&*store, "noop")
            .ok_or("bench-calls exports no `noop`")?;
        Ok(f.call(store, &[], &mut [])?)
    };
    let typed = |store: &mut wasmi::Store<()>| -> Result<()> {
        let f = instance.get_typed_func::<(), ()>(&*store, "noop")?;
        Ok(f.call(store, ())?)
    };
    // Warm-up.
    now_loop(&mut store, 1000)?;
    for _ in 0..1000 {
        noop(&mut store)?;
    }
    let mut now = Samples::default();
    for _ in 0..plan.call_runs {
        let t = Instant::now();
        black_box(now_loop(&mut store, plan.host_calls)?);
        now.push(nanos(t.elapsed()) / f64::from(plan.host_calls));
    }
    let mut dynamic = Samples::default();
    for _ in 0..plan.call_runs {
        let t = Instant::now();
        for _ in 0..plan.noop_calls {
            noop(&mut store)?;
        }
        dynamic.push(nanos(t.elapsed()) / f64::from(plan.noop_calls));
    }
    let mut typed_s = Samples::default();
    for _ in 0..plan.call_runs {
        let t = Instant::now();
        for _ in 0..plan.noop_calls {
            typed(&mut store)?;
        }
        typed_s.push(nanos(t.elapsed()) / f64::from(plan.noop_calls));
    }
    Ok(CallCosts {
        now,
        noop: dynamic,
        typed: typed_s,
    })
}

/// What the host side of `now-as-millis` does, called directly.
pub(crate) fn native_now_loop(calls: u32, runs: usize) -> Samples {
    let mut s = Samples::default();
    for _ in 0..runs {
        let t = Instant::now();
        let mut sum = 0u64;
        for _ in 0..calls {
            sum = sum.wrapping_add(black_box(
                trevm_native::embassy_time::Instant::now().as_millis(),
            ));
        }
        black_box(sum);
        s.push(nanos(t.elapsed()) / f64::from(calls));
    }
    s
}

#[inline(never)]
pub(crate) fn noop() {}

/// An empty function called through `black_box`, so the call is really made.
pub(crate) fn native_noop(calls: u32, runs: usize) -> Samples {
    let f: fn() = noop;
    let mut s = Samples::default();
    for _ in 0..runs {
        let t = Instant::now();
        for _ in 0..calls {
            black_box(f)();
        }
        s.push(nanos(t.elapsed()) / f64::from(calls));
    }
    s
}
