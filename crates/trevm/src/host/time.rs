//! `ariel:wasm-bindings/time-api` on embassy-time.

use super::HostState;
use super::bindings::ariel::wasm_bindings::time_api;

impl time_api::Host for HostState {
    /// Sleeps without blocking: the capsule's call is suspended and the executor runs other tasks.
    ///
    /// `millis` comes from the guest: a deadline past what embassy-time can represent (e.g.
    /// `sleep(u64::MAX)`) sleeps for ever instead of overflowing the tick arithmetic, so only the
    /// capsule's timeout (or its caller dropping the call) ends it.
    async fn sleep(&mut self, millis: u64) {
        match embassy_time::Duration::try_from_millis(millis)
            .and_then(|d| embassy_time::Instant::now().checked_add(d))
        {
            Some(deadline) => embassy_time::Timer::at(deadline).await,
            None => core::future::pending().await,
        }
    }

    fn now_as_millis(&mut self) -> u64 {
        embassy_time::Instant::now().as_millis()
    }
}
