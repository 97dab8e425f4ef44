//! The board's console: capsule log lines with the time since boot, optionally kept for tests.

use std::io::Write;
use std::sync::Mutex;

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
