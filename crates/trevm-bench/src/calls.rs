//! What one call costs, into a capsule and out of it, against native baselines.

use std::hint::black_box;
use std::time::Instant;

use futures_executor::block_on;
use trevm::{Capsule, Limits, Runtime, Val};
use trevm_native::NativeBoard;

use crate::capsules::Example;
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

/// [`CallCosts`] of the `bench-calls` capsule, all in one instance.
pub(crate) fn call_costs(
    rt: &Runtime,
    board: &NativeBoard,
    example: &Example,
    limits: Limits,
    plan: &Plan,
) -> Result<CallCosts> {
    let capsule = verified(Capsule::from_vec(example.capsule(rt.profile()).to_vec())?)?;
    let loaded = rt.load(&capsule)?;
    block_on(async {
        let mut instance = rt
            .instantiate(&loaded, board.host_state(example.name), limits)
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
