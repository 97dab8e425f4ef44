//! The capsule container: a small header in front of Wasmtime's precompiled component, and a
//! trailer carrying the capsule's manifest, signed or not.
//!
//! ```text
//! offset size field
//!      0    8 magic "TREVMCAP"
//!      8    2 container format version (2), little endian
//!     10    2 header length in bytes (64)
//!     12    1 target        (see [`Target`])
//!     13    1 preemption    (see [`Preemption`])
//!     14    2 Wasmtime major version the code was produced by
//!     16    4 payload length in bytes (P)
//!     20    4 CRC-32 (IEEE) of everything after the header: payload and trailer
//!     24    2 profile revision ([`PROFILE_REVISION`])
//!     26    1 trailer kind: 0 none, 1 unsigned manifest, 2 signed manifest (see [`TrailerKind`])
//!     27    1 reserved, zero
//!     28    4 trailer length in bytes (T), at most [`MAX_TRAILER_LEN`]
//!     32   32 capsule name, UTF-8, NUL padded
//!     64    P payload: the `.cwasm` produced by `Engine::precompile_component`
//!   64+P    T trailer: a manifest (CBOR, see [`crate::manifest`]), or a COSE_Sign1 over one
//!               (see [`crate::trust`])
//! ```
//! A capsule is exactly `64 + P + T` bytes: trailing bytes are refused.
//!
//! The header is checked before Wasmtime sees a byte: wrong magic, truncation, corruption (the
//! CRC) and a different profile are all reported as [`CapsuleError`]s that say what differs. The
//! 64-byte header keeps the payload as aligned as the whole buffer, so a capsule starting at an
//! address aligned to [`CODE_ALIGN`] is used in place, without a copy: an `&'static [u8]` (see
//! [`include_capsule!`](crate::include_capsule)) from flash, or a heap buffer the capsule owns
//! ([`Capsule::from_vec_at`]: an upload, a capsule read from a store), which then lives as long as
//! what was loaded from it (the argument is in `owned.rs`).
//!
//! The CRC guards against accidents (a truncated upload, a flipped bit), not against an attacker:
//! anyone can recompute it. Wasmtime trusts precompiled code, so a [`Capsule`] cannot be loaded:
//! only a [`VerifiedCapsule`](crate::trust::VerifiedCapsule) can, which comes from a
//! [`TrustPolicy`](crate::trust::TrustPolicy) that checked its signature, or from
//! [`include_capsule!`](crate::include_capsule) (code built into the firmware image).

pub(crate) mod checked;
mod crc;
mod embedded;
mod encode;
mod error;
mod header;
mod layout;
pub(crate) mod owned;
mod stamp;

pub use checked::Capsule;
pub use crc::crc32;
pub use embedded::EmbeddedCapsule;
pub use encode::{encode, encode_with_trailer, with_trailer};
pub use error::CapsuleError;
pub use header::{CapsuleHeader, TrailerKind, cut_name};
pub use layout::{CODE_ALIGN, FORMAT_VERSION, HEADER_LEN, MAGIC, MAX_NAME_LEN, MAX_TRAILER_LEN};
pub use stamp::StampedProfile;
