//! The capsule manifest: what a signer vouches for.
//!
//! A manifest is a CBOR map (RFC 8949, definite lengths) with small integer keys:
//!
//! ```text
//! {
//!   1: "sandbox",                 ; name: text, at most 32 bytes, equal to the header's name
//!   2: 20261130061502,            ; version: unsigned, anti-rollback counter (higher = newer)
//!   3: [2, 1, 48, 1],             ; profile: [target, preemption, Wasmtime major, profile revision]
//!   4: h'9f86…0a08',              ; SHA-256 of the payload (the precompiled component), 32 bytes
//!   5: ["ariel:wasm-bindings/log-api@0.0.1", "uppercase"]
//!                                 ; grants: the imports the capsule may have, at most 32 names
//!   6: [["fib", [["n", 6], [6]]]] ; exports: only for plain wasm (target `wasm`), absent if none:
//!                                 ; each function's name and WIT type (see `exports.rs`)
//! }
//! ```
//!
//! `trevm build` writes the map with keys in this order; readers accept any order but refuse
//! unknown or repeated keys, indefinite lengths, tags and anything after the map, so a manifest
//! means exactly one thing. Signed, it is the payload of the capsule's COSE_Sign1 (see
//! [`crate::trust`]); unsigned, it is the trailer as it is.
//!
//! [`ManifestRef`] reads one in place (borrowing its strings from the capsule, allocating
//! nothing); [`Manifest`] is the owned form a verified capsule keeps.

mod decode;
mod error;
mod exports;
mod model;

pub use decode::ManifestRef;
pub use error::ManifestError;
pub use exports::{
    MAX_CASES, MAX_EXPORT_NAME_LEN, MAX_EXPORTS, MAX_LABEL_LEN, MAX_TYPE_DEPTH, MAX_TYPE_NODES,
};
pub use model::{MAX_GRANT_LEN, MAX_GRANTS, Manifest, sha256};
