//! How much the benchmark measures: the full run and `--quick`.

use crate::{coap, device};

/// How much to measure.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    pub(crate) quick: bool,
    /// `fib(n)`.
    pub(crate) fib_n: u32,
    /// Runs of native `fib(n)`.
    pub(crate) fib_native_runs: usize,
    /// Runs of `fib(n)` in a capsule, per profile.
    pub(crate) fib_capsule_runs: usize,
    /// Repetitions of each cold-start step, per capsule and profile.
    pub(crate) cold_runs: usize,
    /// Host calls per `now-loop` call.
    pub(crate) host_calls: u32,
    /// `noop` calls per run.
    pub(crate) noop_calls: u32,
    /// Runs of the call-cost measurements, per profile.
    pub(crate) call_runs: usize,
    /// The CoAP security figures.
    pub(crate) coap: coap::CoapPlan,
    /// The CoAP device under load.
    pub(crate) device: device::DevicePlan,
}

impl Plan {
    pub(crate) const FULL: Plan = Plan {
        quick: false,
        fib_n: 30,
        fib_native_runs: 51,
        fib_capsule_runs: 21,
        cold_runs: 50,
        host_calls: 1_000_000,
        noop_calls: 100_000,
        call_runs: 11,
        coap: coap::CoapPlan {
            handshakes: 51,
            requests: 2_000,
            batches: 5,
        },
        device: device::DevicePlan {
            static_requests: 20_000,
            spin_requests: 2_000,
            runs_per_client: 2_000,
        },
    };

    pub(crate) const QUICK: Plan = Plan {
        quick: true,
        fib_n: 25,
        fib_native_runs: 11,
        fib_capsule_runs: 3,
        cold_runs: 5,
        host_calls: 100_000,
        noop_calls: 10_000,
        call_runs: 3,
        coap: coap::CoapPlan {
            handshakes: 3,
            requests: 100,
            batches: 3,
        },
        device: device::DevicePlan {
            static_requests: 500,
            spin_requests: 100,
            runs_per_client: 100,
        },
    };
}
