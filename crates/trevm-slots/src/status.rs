//! What each capsule has done, for `GET /status`: runs, failures by kind, the last error, the
//! time and fuel of the last run, the peak linear memory, and the installed version and signer;
//! and the device's heap when its board measures it ([`Memory`], see
//! [`Device::with_memory`](crate::Device::with_memory)). The document's types are `trevm_coap::status` (shared with the CLI); this module counts
//! ([`CapsuleStats`]) and writes the document with `serde-json-core` ([`to_json`]), `no_std`.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use trevm::Error;

use crate::admit::Installed;
pub use trevm_coap::status::{CapsuleStatus, Memory, Status};

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
    /// This capsule's line of `/status`.
    pub fn status(&self, slot: &str, name: &str, installed: &Installed) -> CapsuleStatus {
        CapsuleStatus {
            slot: slot.into(),
            name: name.into(),
            installed: installed.text.clone(),
            version: installed.version,
            signer: installed.signer.clone(),
            runs: self.runs,
            ok: self.ok,
            stopped: self.stopped,
            trapped: self.trapped,
            last_error: self.last_error.clone(),
            last_run_ms: self.last_run_ms,
            last_fuel: self.last_fuel,
            peak_memory: self.peak_memory as u64,
        }
    }

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

/// The most bytes `/status` takes: the buffer [`to_json`] writes into starts at 1 KiB and
/// doubles up to this. A device holds a dozen capsules at most, each line a few hundred bytes
/// unless its last error is long; past the bound, last errors are cut to [`MAX_ERROR_SHOWN`].
pub const MAX_STATUS_JSON: usize = 32 * 1024;

/// Characters of a last error `/status` shows when the whole would not fit [`MAX_STATUS_JSON`].
pub const MAX_ERROR_SHOWN: usize = 200;

/// The `/status` document (see `trevm_coap::status`): `capsules`, and `memory` when the board
/// measures its heap.
pub fn to_json(capsules: Vec<CapsuleStatus>, memory: Option<Memory>) -> String {
    let status = Status { capsules, memory };
    if let Some(json) = serialize(&status) {
        return json;
    }
    let mut short = status;
    for c in &mut short.capsules {
        if let Some(e) = &mut c.last_error
            && let Some((cut, _)) = e.char_indices().nth(MAX_ERROR_SHOWN)
        {
            e.truncate(cut);
            e.push('…');
        }
    }
    serialize(&short).unwrap_or_else(|| {
        format!("{{\"capsules\":[],\"error\":\"over {MAX_STATUS_JSON} bytes\"}}")
    })
}

/// `status` as JSON, if it fits [`MAX_STATUS_JSON`].
fn serialize(status: &Status) -> Option<String> {
    let mut room = 1024;
    loop {
        let mut buf = alloc::vec![0u8; room];
        match serde_json_core::to_slice(status, &mut buf) {
            Ok(n) => {
                buf.truncate(n);
                // serde-json-core writes UTF-8 (the strings' own, and ASCII around them).
                return String::from_utf8(buf).ok();
            }
            Err(serde_json_core::ser::Error::BufferFull) if room < MAX_STATUS_JSON => room *= 2,
            Err(_) => return None,
        }
    }
}

/// Sorted by slot, then name.
pub(crate) fn sorted(mut list: Vec<CapsuleStatus>) -> Vec<CapsuleStatus> {
    list.sort_by(|a, b| (&a.slot, &a.name).cmp(&(&b.slot, &b.name)));
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x() -> Installed {
        Installed {
            text: "x".into(),
            ..Installed::default()
        }
    }

    #[test]
    fn strings_are_escaped_and_missing_values_are_null() {
        let status = CapsuleStats::default().status("sandbox", "a\"b\\c\n", &x());
        assert_eq!(
            to_json(alloc::vec![status], None),
            "{\"capsules\":[{\"slot\":\"sandbox\",\"name\":\"a\\\"b\\\\c\\n\",\
             \"installed\":\"x\",\"runs\":0,\"ok\":0,\"stopped\":0,\"trapped\":0,\
             \"last_error\":null,\"last_run_ms\":null,\"last_fuel\":null,\"peak_memory\":0}]}"
        );
        assert_eq!(to_json(Vec::new(), None), "{\"capsules\":[]}");
    }

    #[test]
    fn a_long_status_is_bounded_and_still_json() {
        let stats = CapsuleStats {
            last_error: Some("e".repeat(MAX_STATUS_JSON)),
            ..CapsuleStats::default()
        };
        let json = to_json(
            alloc::vec![stats.status("sandbox", "big", &x())],
            Some(MEMORY),
        );
        assert!(json.len() < MAX_STATUS_JSON, "{} bytes", json.len());
        assert!(json.contains("\"last_error\":\"eeee"), "{json}");
        // Cut to fit, the memory section is still there.
        let back: Status = serde_json::from_str(&json).expect("JSON");
        assert_eq!(back.memory, Some(MEMORY));
    }

    const MEMORY: Memory = Memory {
        heap_used: 40_960,
        heap_peak: 131_072,
        heap_size: Some(1 << 20),
    };

    #[test]
    fn memory_is_written_when_measured_and_read_back_either_way() {
        let capsules = alloc::vec![CapsuleStats::default().status("sandbox", "hello", &x())];
        let with = to_json(capsules.clone(), Some(MEMORY));
        assert!(
            with.ends_with(
                "],\"memory\":{\"heap_used\":40960,\"heap_peak\":131072,\"heap_size\":1048576}}"
            ),
            "{with}"
        );
        let without = to_json(capsules.clone(), None);
        assert!(!without.contains("\"memory\""), "{without}");
        // What the CLI reads (serde_json): both, the first with its memory, the second without.
        let read = |json: &str| serde_json::from_str::<Status>(json).expect("JSON");
        assert_eq!(
            read(&with),
            Status {
                capsules: capsules.clone(),
                memory: Some(MEMORY)
            }
        );
        assert_eq!(
            read(&without),
            Status {
                capsules,
                memory: None
            }
        );
        // A host process has no fixed heap size: null, still read back.
        let unsized_heap = Memory {
            heap_size: None,
            ..MEMORY
        };
        let json = to_json(Vec::new(), Some(unsized_heap));
        assert!(json.contains("\"heap_size\":null"), "{json}");
        assert_eq!(read(&json).memory, Some(unsized_heap));
    }
}
