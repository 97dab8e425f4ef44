//! The board's own lines on the semihosting console.

use cortex_m_semihosting::hprintln;
use embassy_time::Instant;

/// A line from the board (not a capsule), with the time since boot.
pub(crate) fn board(msg: &str) {
    let ms = Instant::now().as_millis();
    hprintln!("[{:>5}.{:03}] board: {}", ms / 1000, ms % 1000, msg);
}

/// Prints capsule log lines over semihosting with the time since boot.
#[cfg(feature = "runtime")]
pub(crate) struct SemihostingLog;

#[cfg(feature = "runtime")]
impl trevm::LogSink for SemihostingLog {
    fn log(&self, capsule: &str, message: &str) {
        let ms = Instant::now().as_millis();
        hprintln!(
            "[{:>5}.{:03}] {}: {}",
            ms / 1000,
            ms % 1000,
            capsule,
            message
        );
    }
}
