//! [`ManifestError`]: why a manifest could not be read.

use core::fmt;

/// Why a manifest (or the signature around it) could not be read: what is wrong, in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManifestError(pub &'static str);

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed capsule manifest: {}", self.0)
    }
}

impl core::error::Error for ManifestError {}

/// The length of a definite-length array or map; `wrong_type` if the item is not one.
pub(crate) fn definite(
    len: Result<Option<u64>, minicbor::decode::Error>,
    wrong_type: ManifestError,
) -> Result<u64, ManifestError> {
    len.map_err(|_| wrong_type)?
        .ok_or(ManifestError("indefinite-length CBOR"))
}
