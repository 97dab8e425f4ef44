//! The numbers of the capsule layout (see the [module docs](super)).

/// First eight bytes of every capsule.
pub const MAGIC: [u8; 8] = *b"TREVMCAP";
/// Length of the header in front of the payload.
pub const HEADER_LEN: usize = 64;
/// Container format version written and read by this crate (2: with a manifest trailer).
pub const FORMAT_VERSION: u16 = 2;
/// Longest capsule name stored in the header (bytes of UTF-8).
pub const MAX_NAME_LEN: usize = 32;
/// Longest trailer (manifest or signature) a capsule may carry: it is parsed before anything
/// else is trusted, so its size is bounded.
pub const MAX_TRAILER_LEN: usize = 4096;
/// The alignment at which a capsule's payload is used in place as Wasmtime's code memory (from
/// flash: [`include_capsule!`](crate::include_capsule); from an owned buffer:
/// [`Capsule::from_vec_at`](super::Capsule::from_vec_at)) instead of copied. The header is a
/// multiple of it, so a capsule that starts aligned has its payload aligned.
pub const CODE_ALIGN: usize = 16;
