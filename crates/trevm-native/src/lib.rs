//! The native board: what an Ariel OS `native` build provides, for running trevm capsules on Linux.
//!
//! - an embassy executor on std threads (re-exported as [`embassy_executor`]), with the
//!   embassy-time std driver, so capsule `sleep`s and timeouts use real time;
//! - a console [`LogSink`](trevm::LogSink) that prints each capsule line with the time since boot
//!   and the capsule's name, and can also keep the lines for tests ([`ConsoleLog::captured`]);
//! - OS randomness for `rng-api`;
//! - [`NativeBoard::host_state`], which grants a capsule everything the board has.
#![warn(missing_docs)]

use std::io::Write;
use std::sync::{Arc, Mutex};

pub use embassy_executor;
pub use embassy_time;
pub use trevm;

use trevm::HostState;

/// Time since the board booted (process start), as `1.234`.
pub fn uptime() -> String {
    let ms = embassy_time::Instant::now().as_millis();
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// Prints capsule log lines as `[  1.234] name: message`, optionally keeping them.
#[derive(Debug, Default)]
pub struct ConsoleLog {
    keep: bool,
    quiet: bool,
    lines: Mutex<Vec<(String, String)>>,
}

impl ConsoleLog {
    /// A sink that prints lines.
    pub fn new() -> Self {
        Self::default()
    }

    /// A sink that prints lines and keeps them for [`ConsoleLog::captured`].
    pub fn capturing() -> Self {
        ConsoleLog {
            keep: true,
            ..Self::default()
        }
    }

    /// A sink that only keeps lines (for tests that assert on them).
    pub fn silent() -> Self {
        ConsoleLog {
            keep: true,
            quiet: true,
            ..Self::default()
        }
    }

    /// `(capsule, message)` pairs logged so far (only when capturing).
    pub fn captured(&self) -> Vec<(String, String)> {
        self.lines.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Just the messages logged so far (only when capturing).
    pub fn messages(&self) -> Vec<String> {
        self.captured().into_iter().map(|(_, m)| m).collect()
    }

    /// Prints a line from the board itself (not a capsule) in the same format.
    pub fn board(&self, message: &str) {
        self.emit("board", message);
    }

    fn emit(&self, source: &str, message: &str) {
        if !self.quiet {
            let mut out = std::io::stdout().lock();
            // A closed stdout must not take the board down: drop the line.
            let _ = writeln!(out, "[{:>9}] {source}: {message}", uptime());
            let _ = out.flush();
        }
        if self.keep
            && let Ok(mut lines) = self.lines.lock()
        {
            lines.push((source.to_string(), message.to_string()));
        }
    }
}

impl trevm::LogSink for ConsoleLog {
    fn log(&self, capsule: &str, message: &str) {
        self.emit(capsule, message);
    }
}

/// The native board's peripherals as capsule host state.
#[derive(Debug, Clone)]
pub struct NativeBoard {
    log: Arc<ConsoleLog>,
}

impl Default for NativeBoard {
    fn default() -> Self {
        Self::new()
    }
}

impl NativeBoard {
    /// A board whose log prints to stdout.
    pub fn new() -> Self {
        NativeBoard {
            log: Arc::new(ConsoleLog::new()),
        }
    }

    /// A board with the given log sink.
    pub fn with_log(log: Arc<ConsoleLog>) -> Self {
        NativeBoard { log }
    }

    /// The board's log.
    pub fn log(&self) -> &Arc<ConsoleLog> {
        &self.log
    }

    /// Host state for a capsule called `name`: console log and OS randomness.
    pub fn host_state(&self, name: &str) -> HostState {
        HostState::new(name)
            .with_log(self.log.clone())
            .with_rng(rand_core::UnwrapErr(rand_core::OsRng))
    }
}
