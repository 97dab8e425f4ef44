//! `ariel:wasm-bindings/time-api` on embassy-time.

use super::HostState;
use super::bindings::ariel::wasm_bindings::time_api;

impl time_api::Host for HostState {
    /// Sleeps without blocking: the capsule's call is suspended and the executor runs other tasks.
    async fn sleep(&mut self, millis: u64) {
        embassy_time::Timer::after(embassy_time::Duration::from_millis(millis)).await;
    }

    fn now_as_millis(&mut self) -> u64 {
        embassy_time::Instant::now().as_millis()
    }
}
