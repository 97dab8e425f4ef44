//! The message layer's limits ([`ServerLimits`]) and the time constants of its refusals.

/// Limits of the message layer.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// Largest request body accepted through Block1 (bigger: 4.13 with this as Size1).
    pub max_body: usize,
    /// Largest block this server sends or asks for (a power of two, 16–1024).
    pub max_block: usize,
    /// Responses remembered for duplicate detection.
    pub dedup_entries: usize,
    /// Block1 uploads in progress at once, from all peers.
    pub uploads: usize,
    /// Block1 uploads in progress at once from one peer: a new one beyond that replaces that
    /// peer's oldest. Another peer's upload is never dropped for it; when every slot is taken the
    /// new upload gets 5.03 with Max-Age (slots idle for [`UPLOAD_IDLE_MS`] are freed).
    pub uploads_per_peer: usize,
    /// Runs (capsule runs, admissions: [`Handled::Later`](super::Handled::Later)) in flight at once, from all peers;
    /// beyond that a request that needs one gets 5.03 with Max-Age.
    pub runs: usize,
    /// Runs in flight at once for one peer, so that one peer cannot take every run slot.
    pub runs_per_peer: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_body: 256 * 1024,
            max_block: 1024,
            dedup_entries: 64,
            uploads: 8,
            uploads_per_peer: 2,
            runs: 8,
            runs_per_peer: 4,
        }
    }
}

/// An upload slot with no block for this long may be taken by another peer's upload.
pub const UPLOAD_IDLE_MS: u64 = 30_000;

/// The Max-Age (seconds) of a 5.03 for a full server: when to try again.
pub const BUSY_MAX_AGE: u32 = 1;
