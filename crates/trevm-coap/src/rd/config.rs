//! What a device tells the RD about itself, and how patiently it does it: [`Config`].

use alloc::string::String;
use alloc::vec::Vec;

use crate::client::Timing;

/// The longest endpoint name (RFC 9176 §5.3: `ep` is at most 63 bytes).
pub const MAX_ENDPOINT: usize = 63;
/// The longest base URI accepted in [`Config`] (a Uri-Query option holds 255 bytes,
/// `base=` included).
pub const MAX_BASE: usize = 200;
/// The most Uri-Path segments of a registration path (configured or discovered), and of a
/// registration's location.
pub const MAX_SEGMENTS: usize = 8;
/// The longest registration path or location, all segments together, in bytes.
pub const MAX_PATH: usize = 128;

/// How a device registers (RFC 9176 §5.3, full registration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The endpoint name (`ep`): 1 to [`MAX_ENDPOINT`] bytes of unreserved URI characters.
    pub endpoint: String,
    /// The registration's lifetime (`lt`) in seconds, at least 1. It is refreshed at 3/4 of
    /// it (earlier when that leaves too little time for the refresh's retransmissions).
    pub lifetime_s: u32,
    /// The device's own address as the RD should give it out (`base`, `coap://host:port`):
    /// explicit, because the registration comes from another UDP port than the server's.
    pub base: String,
    /// The registration resource's Uri-Path segments (`["resourcedirectory", ""]` for
    /// `/resourcedirectory/`); `None`: discover it with `GET /.well-known/core?rt=core.rd`.
    pub path: Option<Vec<String>>,
    /// Seeds the client's message IDs and tokens and the retry jitter (pick it at random, or
    /// from the clock, so that devices started together do not retry in step).
    pub seed: u32,
    /// The registration requests' retransmissions ([`Config::new`] scales them to the
    /// lifetime: see [`timing_for`]).
    pub timing: Timing,
    /// The first wait after a failure, in milliseconds (default 2 s); it doubles with each
    /// further failure up to `max_backoff_ms`, plus up to a quarter of it as jitter.
    pub first_backoff_ms: u64,
    /// The longest wait between attempts, in milliseconds (default 5 min).
    pub max_backoff_ms: u64,
}

impl Config {
    /// Registers as `endpoint` with `lifetime_s` and `base`, discovering the registration
    /// path, with seed 0, [`timing_for`] the lifetime and backoff from 2 s to 5 min.
    pub fn new(endpoint: impl Into<String>, lifetime_s: u32, base: impl Into<String>) -> Config {
        Config {
            endpoint: endpoint.into(),
            lifetime_s,
            base: base.into(),
            path: None,
            seed: 0,
            timing: timing_for(lifetime_s),
            first_backoff_ms: 2_000,
            max_backoff_ms: 300_000,
        }
    }

    /// With the registration path `path` (`/resourcedirectory/`) instead of discovering it.
    pub fn with_path(mut self, path: &str) -> Config {
        self.path = Some(path_segments(path));
        self
    }

    /// With this seed (see [`Config::seed`]).
    pub fn with_seed(mut self, seed: u32) -> Config {
        self.seed = seed;
        self
    }

    /// Why this configuration cannot be used, if it cannot.
    pub fn check(&self) -> Result<(), &'static str> {
        let unreserved = |b: u8| b.is_ascii_alphanumeric() || b"-._~".contains(&b);
        if self.endpoint.is_empty()
            || self.endpoint.len() > MAX_ENDPOINT
            || !self.endpoint.bytes().all(unreserved)
        {
            return Err("the endpoint name must be 1 to 63 letters, digits, '-', '.', '_' or '~'");
        }
        if self.lifetime_s == 0 {
            return Err("the registration lifetime must be at least 1 s");
        }
        if self.base.is_empty()
            || self.base.len() > MAX_BASE
            || !self.base.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err("the base URI must be 1 to 200 printable ASCII characters");
        }
        if let Some(path) = &self.path
            && !path_fits(path)
        {
            return Err("the registration path has too many or too long segments");
        }
        Ok(())
    }
}

/// Retransmissions scaled to a lifetime: the RFC 7252 default (2 s, 4 retransmissions, 62 s
/// in all) for lifetimes of 2 min and more; for shorter ones an initial timeout of
/// `lifetime/124` (at least 100 ms), so that a refresh's 5 transmissions (31 initial timeouts)
/// fit in the last quarter of the lifetime. Short lifetimes are for tests on a LAN.
pub fn timing_for(lifetime_s: u32) -> Timing {
    let lifetime_ms = u64::from(lifetime_s) * 1000;
    Timing {
        ack_timeout_ms: (lifetime_ms / 124).clamp(100, 2_000),
        max_retransmit: 4,
    }
}

/// A URI path as Uri-Path segments (RFC 7252 §6.4): `/resourcedirectory/` is
/// `["resourcedirectory", ""]`, `/` and the empty path none.
pub fn path_segments(path: &str) -> Vec<String> {
    let path = path.strip_prefix('/').unwrap_or(path);
    if path.is_empty() {
        return Vec::new();
    }
    path.split('/').map(String::from).collect()
}

/// Whether `segments` are within [`MAX_SEGMENTS`] and [`MAX_PATH`].
pub fn path_fits(segments: &[String]) -> bool {
    segments.len() <= MAX_SEGMENTS && segments.iter().map(String::len).sum::<usize>() <= MAX_PATH
}
