//! `fib(n)` natively and in the `fibonacci` capsule: the compute figures.

use std::hint::black_box;
use std::time::Instant;

use futures_executor::block_on;
use trevm::{Capsule, Limits, Runtime, Val};
use trevm_native::NativeBoard;

use crate::capsules::Example;
use crate::cold::verified;
use crate::report::Samples;
use crate::util::{Result, nanos};

/// The function the `fibonacci` capsule computes, compiled natively.
pub(crate) fn fib(n: u32) -> u32 {
    if n < 2 {
        n
    } else {
        fib(n - 1).wrapping_add(fib(n - 2))
    }
}

/// Native `fib(n)`, `runs` times after a smaller warm-up; also returns the result, which the
/// capsules must reproduce. Never inlined, like [`fib_capsule`], for profilers.
#[inline(never)]
pub(crate) fn fib_native(n: u32, runs: usize) -> (Samples, u32) {
    black_box(fib(black_box(n.min(20)))); // warm-up
    let mut s = Samples::default();
    let mut result = 0;
    for _ in 0..runs {
        let t = Instant::now();
        result = black_box(fib(black_box(n)));
        s.push(nanos(t.elapsed()));
    }
    (s, result)
}

/// `fibonacci(n)` in one instance, `runs` times after a smaller warm-up call. Checks the result
/// against the native one (a wrong result would make the timing meaningless).
///
/// Never inlined, so that a profiler can attribute each profile's run separately, e.g.
/// `valgrind --tool=callgrind --dump-before='*fib_capsule*' --dump-after='*fib_capsule*'`.
#[inline(never)]
pub(crate) fn fib_capsule(
    rt: &Runtime,
    board: &NativeBoard,
    example: &Example,
    limits: Limits,
    n: u32,
    expected: u32,
    runs: usize,
) -> Result<Samples> {
    let capsule = verified(Capsule::from_vec(example.capsule(rt.profile()).to_vec())?)?;
    let loaded = rt.load(&capsule)?;
    block_on(async {
        let mut instance = rt
            .instantiate(&loaded, board.host_state(example.name), limits)
            .await?;
        instance.call("fibonacci", &[Val::U32(n.min(20))]).await?;
        let mut s = Samples::default();
        for _ in 0..runs {
            let t = Instant::now();
            let result = instance.call("fibonacci", &[Val::U32(n)]).await?;
            s.push(nanos(t.elapsed()));
            if result != [Val::U32(expected)] {
                return Err(format!(
                    "fibonacci({n}) returned {result:?} in {}, natively {expected}",
                    rt.profile()
                )
                .into());
            }
        }
        Ok(s)
    })
}
