//! `ariel:wasm-bindings/time-api` on embassy-time, whichever VM runs the capsule.

/// `time-api.sleep`: sleeps without blocking; the capsule's call is suspended and the executor
/// runs other tasks.
///
/// `millis` comes from the guest: a deadline past what embassy-time can represent (e.g.
/// `sleep(u64::MAX)`) sleeps for ever instead of overflowing the tick arithmetic, so only the
/// capsule's timeout (or its caller dropping the call) ends it.
pub(crate) async fn sleep(millis: u64) {
    match embassy_time::Duration::try_from_millis(millis)
        .and_then(|d| embassy_time::Instant::now().checked_add(d))
    {
        Some(deadline) => embassy_time::Timer::at(deadline).await,
        None => core::future::pending().await,
    }
}

/// `time-api.now-as-millis`: milliseconds since boot.
pub(crate) fn now_as_millis() -> u64 {
    embassy_time::Instant::now().as_millis()
}
