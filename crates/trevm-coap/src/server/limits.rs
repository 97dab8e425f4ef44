//! The message layer's limits ([`ServerLimits`]) and the time constants of its refusals.

/// Limits of the message layer: what it holds in memory is bounded in bytes
/// ([`ServerLimits::upload_bytes`], [`ServerLimits::dedup_bytes`]), not only in counts.
///
/// [`Default`] is roomy, for a host (the native board); [`ServerLimits::mcu`] fits a
/// microcontroller with 256 KiB of RAM.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// Largest request body accepted through Block1 (bigger: 4.13 with the largest acceptable
    /// as Size1).
    pub max_body: usize,
    /// Largest block this server sends or asks for (a power of two, 16–1024).
    pub max_block: usize,
    /// Responses remembered for duplicate detection.
    pub dedup_entries: usize,
    /// Bytes of responses remembered for duplicate detection, all together: the oldest are
    /// forgotten to make room (a response bigger than this is not remembered).
    pub dedup_bytes: usize,
    /// Block1 uploads in progress at once, from all peers.
    pub uploads: usize,
    /// Block1 uploads in progress at once from one peer: a new one beyond that replaces that
    /// peer's oldest. Another peer's upload is never dropped for it; when every slot is taken the
    /// new upload gets 5.03 with Max-Age (slots idle for [`UPLOAD_IDLE_MS`] are freed).
    pub uploads_per_peer: usize,
    /// Bytes all Block1 uploads in progress may hold together (their buffers, padding included:
    /// see `server/block1.rs`). A new upload or a block beyond it gets 5.03 with Max-Age (4.13
    /// when the body alone could never fit); as for slots, only the peer's own or idle uploads
    /// make way, never another peer's upload in progress.
    pub upload_bytes: usize,
    /// Runs (capsule runs, admissions: [`Handled::Later`](super::Handled::Later)) in flight at once, from all peers;
    /// beyond that a request that needs one gets 5.03 with Max-Age.
    pub runs: usize,
    /// Runs in flight at once for one peer, so that one peer cannot take every run slot.
    pub runs_per_peer: usize,
    /// Observers (RFC 7641) registered at once; a registration beyond that is answered as a
    /// plain GET. Each holds its token, path, cursor and at most one notification on its way
    /// (a few hundred bytes: see `server/observe.rs`).
    pub observers: usize,
    /// How long a confirmable notification waits for its ACK before it is sent again; the wait
    /// doubles with each retransmission (RFC 7252's ACK_TIMEOUT).
    pub notify_ack_timeout_ms: u64,
    /// Retransmissions of a notification before its observer is given up (RFC 7252's
    /// MAX_RETRANSMIT): with the defaults, an observer that vanished is dropped after
    /// 2 + 4 + 8 + 16 + 32 = 62 s.
    pub notify_retransmits: u8,
}

impl Default for ServerLimits {
    /// Roomy limits for a host: 256 KiB bodies, 8 uploads in progress holding up to 1 MiB,
    /// 64 responses (up to 128 KiB) remembered.
    fn default() -> Self {
        ServerLimits {
            max_body: 256 * 1024,
            max_block: 1024,
            dedup_entries: 64,
            dedup_bytes: 128 * 1024,
            uploads: 8,
            uploads_per_peer: 2,
            upload_bytes: 1024 * 1024,
            runs: 8,
            runs_per_peer: 4,
            observers: 4,
            notify_ack_timeout_ms: 2_000,
            notify_retransmits: 4,
        }
    }
}

impl ServerLimits {
    /// Limits for a device with 256 KiB of RAM (an nRF52840), whose heap is about 150–180 KiB
    /// once stacks (the security layer's ~32 KiB among them), statics and network buffers are
    /// taken, and must hold two capsules instantiated and one upload in flight. The message
    /// layer's share, at most:
    ///
    /// | what | bytes |
    /// |---|---|
    /// | uploads in progress ([`upload_bytes`](Self::upload_bytes)): one signed capsule of up to 64 KiB (Pulley32 capsules are 13–60 KB: `payloads/sandbox` 13 KB, `coap-counter` 26 KB, `sandbox-big` 60 KB), or several small ones | 64 KiB + 15 |
    /// | responses remembered ([`dedup_bytes`](Self::dedup_bytes)): 16 entries, at most 8 KiB (≥ 7 full 1024-byte blocks with their headers) | 8 KiB |
    /// | the receive loop's datagram buffer ([`MAX_DATAGRAM`](super::MAX_DATAGRAM)) | 2 KiB |
    /// | total | ≈ 74 KiB |
    ///
    /// which leaves ~75–105 KiB, while the largest upload is in flight, for the other capsules' code (an upload's buffer becomes its
    /// capsule's code memory: no second copy) and instances, the runs (at most 4 in flight, 2 per
    /// peer, each with its fiber stack: `RuntimeOptions::mcu`) and the security layer's
    /// handshakes; an upload that finishes becomes its capsule's code and leaves the budget.
    /// `max_body` is capped by the budget: a body of 64 KiB is the largest taken.
    pub const fn mcu() -> Self {
        ServerLimits {
            max_body: 64 * 1024,
            max_block: 1024,
            dedup_entries: 16,
            dedup_bytes: 8 * 1024,
            uploads: 4,
            uploads_per_peer: 1,
            upload_bytes: 64 * 1024 + BODY_PADDING,
            runs: 4,
            runs_per_peer: 2,
            observers: 2,
            notify_ack_timeout_ms: 2_000,
            notify_retransmits: 4,
        }
    }
}

/// The padding an upload's buffer may need to put its body at an aligned address.
const BODY_PADDING: usize = super::body::BODY_ALIGN - 1;

/// An upload slot with no block for this long may be taken by another peer's upload.
pub const UPLOAD_IDLE_MS: u64 = 30_000;

/// The Max-Age (seconds) of a 5.03 for a full server: when to try again.
pub const BUSY_MAX_AGE: u32 = 1;
