//! What each capsule has done, for `GET /status`: runs, failures by kind, the last error, the
//! time and fuel of the last run, the peak linear memory, and the installed version and signer.
//!
//! `GET /status` answers `application/json` (Content-Format 50), e.g.
//!
//! ```json
//! {"capsules":[{"slot":"sandbox","name":"hello",
//!   "installed":"version 20261130061502, signed by the development key 3f2a…",
//!   "runs":3,"ok":2,"stopped":1,"trapped":0,"last_error":"capsule stopped: timeout after 2 s",
//!   "last_run_ms":2001,"last_fuel":20000000,"peak_memory":65536}]}
//! ```
//!
//! `stopped` counts runs ended by the timeout or by fuel; `trapped` every other failure (a trap,
//! a failed instantiation). Counters start at zero when a capsule is installed or restored.
//! JSON rather than CBOR so `curl`-style tools and people can read it; it is written by hand
//! (a dozen fields, no parser on the device).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;

use trevm::Error;

/// Counters of one installed capsule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapsuleStats {
    /// Runs started.
    pub runs: u64,
    /// Runs that returned.
    pub ok: u64,
    /// Runs stopped by the timeout or by running out of fuel.
    pub stopped: u64,
    /// Runs that failed otherwise (a trap, a failed instantiation).
    pub trapped: u64,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// How long the last run took, in milliseconds.
    pub last_run_ms: Option<u64>,
    /// Fuel the last run burnt (with fuel preemption).
    pub last_fuel: Option<u64>,
    /// The largest linear memory any run had, in bytes.
    pub peak_memory: usize,
}

/// How one run went, as [`CapsuleStats::record`] takes it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RunMeasure {
    pub(crate) ms: u64,
    pub(crate) fuel: Option<u64>,
    pub(crate) peak_memory: usize,
}

impl CapsuleStats {
    /// Counts a finished run.
    pub(crate) fn record<T>(&mut self, outcome: &Result<T, Error>, measure: RunMeasure) {
        self.runs = self.runs.saturating_add(1);
        match outcome {
            Ok(_) => self.ok = self.ok.saturating_add(1),
            Err(e) => {
                if stopped_by_limits(e) {
                    self.stopped = self.stopped.saturating_add(1);
                } else {
                    self.trapped = self.trapped.saturating_add(1);
                }
                self.last_error = Some(format!("{e}"));
            }
        }
        self.last_run_ms = Some(measure.ms);
        self.last_fuel = measure.fuel;
        self.peak_memory = self.peak_memory.max(measure.peak_memory);
    }
}

/// Whether a run failed because the device's limits stopped it (the timeout, or fuel), rather
/// than because of the capsule (a trap) or its loading.
pub(crate) fn stopped_by_limits(e: &Error) -> bool {
    matches!(e, Error::Timeout { .. } | Error::OutOfFuel)
}

/// The answer to a request whose capsule run failed: 5.03 when the limits stopped it (try again
/// later), 5.00 with the error otherwise.
pub(crate) fn failed_run(e: &Error) -> trevm_coap::server::Response {
    use trevm_coap::message::code;
    use trevm_coap::server::Response;
    if stopped_by_limits(e) {
        Response::text(code::SERVICE_UNAVAILABLE, format!("capsule stopped: {e}"))
    } else {
        Response::text(code::INTERNAL_SERVER_ERROR, format!("{e}"))
    }
}

/// One line of `/status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapsuleStatus {
    /// `sandbox` or `persistent`.
    pub slot: &'static str,
    /// The name it is served under (`/sandbox/<name>`), or the capsule's own name.
    pub name: String,
    /// Version and signer (or "built into the firmware").
    pub installed: String,
    /// Its counters.
    pub stats: CapsuleStats,
}

/// The `/status` document.
pub fn to_json(capsules: &[CapsuleStatus]) -> String {
    let mut out = String::from("{\"capsules\":[");
    for (i, c) in capsules.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let s = &c.stats;
        let _ = write!(
            out,
            "{{\"slot\":{},\"name\":{},\"installed\":{},\"runs\":{},\"ok\":{},\"stopped\":{},\
             \"trapped\":{},\"last_error\":{},\"last_run_ms\":{},\"last_fuel\":{},\
             \"peak_memory\":{}}}",
            string(c.slot),
            string(&c.name),
            string(&c.installed),
            s.runs,
            s.ok,
            s.stopped,
            s.trapped,
            s.last_error.as_deref().map_or("null".into(), string),
            number(s.last_run_ms),
            number(s.last_fuel),
            s.peak_memory
        );
    }
    out.push_str("]}");
    out
}

fn number(n: Option<u64>) -> String {
    n.map_or("null".into(), |n| format!("{n}"))
}

/// A JSON string literal (RFC 8259 §7).
fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Sorted by slot, then name.
pub(crate) fn sorted(mut list: Vec<CapsuleStatus>) -> Vec<CapsuleStatus> {
    list.sort_by(|a, b| (a.slot, &a.name).cmp(&(b.slot, &b.name)));
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_and_missing_values_are_null() {
        let status = CapsuleStatus {
            slot: "sandbox",
            name: "a\"b\\c\n".into(),
            installed: "x".into(),
            stats: CapsuleStats::default(),
        };
        assert_eq!(
            to_json(&[status]),
            "{\"capsules\":[{\"slot\":\"sandbox\",\"name\":\"a\\\"b\\\\c\\u000a\",\
             \"installed\":\"x\",\"runs\":0,\"ok\":0,\"stopped\":0,\"trapped\":0,\
             \"last_error\":null,\"last_run_ms\":null,\"last_fuel\":null,\"peak_memory\":0}]}"
        );
        assert_eq!(to_json(&[]), "{\"capsules\":[]}");
    }
}
