//! `ariel:wasm-bindings/log-api`: what `info` does, whichever VM runs the capsule.

use super::HostState;

/// Where capsule log lines go. The application decides: the native board prints them with a
/// timestamp, an Ariel OS app forwards them to `ariel_os::debug::log`, a test collects them.
pub trait LogSink: Send + Sync {
    /// One line logged by the capsule called `capsule`.
    fn log(&self, capsule: &str, message: &str);
}

impl HostState {
    /// `log-api.info`: hands the line to the sink, or drops it without one.
    pub(crate) fn log_info(&self, message: &str) {
        if let Some(sink) = &self.log {
            sink.log(&self.name, message);
        }
    }
}
