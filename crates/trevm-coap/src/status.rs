//! The `/status` document of a trevm device (`application/json`, Content-Format 50): one set of
//! types the device serializes (`trevm-slots`, with a `no_std` JSON serializer) and the CLI
//! deserializes (`trevm ls`, with `serde_json`). They name no trevm type, so they live with the
//! protocol, where a client finds them without the device's runtime.
//!
//! ```json
//! {"capsules":[{"slot":"sandbox","name":"hello",
//!   "installed":"version 20261130061502, signed by the development key 3f2a…",
//!   "version":20261130061502,"signer":"3f2a…",
//!   "runs":3,"ok":2,"stopped":1,"trapped":0,"last_error":"capsule stopped: timeout after 2 s",
//!   "last_run_ms":2001,"last_fuel":20000000,"peak_memory":65536}]}
//! ```
//!
//! A board that measures its heap adds `"memory":{"heap_used":…,"heap_peak":…,"heap_size":…}`
//! ([`Memory`]); a client must accept a document without it.
//!
//! `stopped` counts runs ended by the timeout or by fuel (or, in the ephemeral slot, by
//! `DELETE /ephemeral`); `trapped` every other failure (a trap, a failed instantiation). Counters
//! start at zero when a capsule is installed or restored. JSON rather than CBOR so `curl`-style
//! tools and people can read it.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

/// The whole document: every installed capsule, sorted by slot, then name, and the device's heap
/// when its board measures it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// One entry per capsule.
    pub capsules: Vec<CapsuleStatus>,
    /// The device's heap, if its board measures it. Absent from the JSON when `None` (and a
    /// document without it, from an older device, still parses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Memory>,
}

/// The device's heap, in bytes: what is allocated now, the most that ever was, and how big the
/// heap is. `{"heap_used":40960,"heap_peak":131072,"heap_size":1048576}`
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memory {
    /// Bytes allocated now.
    pub heap_used: u64,
    /// The most bytes allocated at once since the device started.
    pub heap_peak: u64,
    /// The heap's size; `None` when it has no fixed size (a process on a host).
    pub heap_size: Option<u64>,
}

/// One capsule: where it is installed, what it is, and what it has done.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapsuleStatus {
    /// `sandbox`, `persistent` or `ephemeral`.
    pub slot: String,
    /// The name it is served under (`/sandbox/<name>`), or the capsule's own name.
    pub name: String,
    /// Version and signer (or "built into the firmware"), for people.
    pub installed: String,
    /// The signed anti-rollback version, for tools (`trevm fleet`); absent for a capsule
    /// nobody signed (built into the firmware, or accepted unsigned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// The signer's key id (hex), for tools; absent when `version` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
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
    pub peak_memory: u64,
}
