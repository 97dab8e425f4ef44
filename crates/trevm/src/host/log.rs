//! `ariel:wasm-bindings/log-api`.

use super::HostState;
use super::bindings::ariel::wasm_bindings::log_api;
use alloc::string::String;

/// Where capsule log lines go. The application decides: the native board prints them with a
/// timestamp, an Ariel OS app forwards them to `ariel_os::debug::log`, a test collects them.
pub trait LogSink: Send + Sync {
    /// One line logged by the capsule called `capsule`.
    fn log(&self, capsule: &str, message: &str);
}

impl log_api::Host for HostState {
    fn info(&mut self, input: String) {
        if let Some(sink) = &self.log {
            sink.log(&self.name, &input);
        }
    }
}
