//! [`HostFnError`], and how an embedder's host function is shared by the providers' linkers.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::value::Val;

/// A host function refused a call: the capsule traps, and the runtime reports the message as
/// [`Error::HostRefused`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFnError(pub String);

impl core::fmt::Display for HostFnError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::error::Error for HostFnError {}

/// An embedder's host function as both providers' linkers hold it.
#[cfg_attr(not(feature = "wasmi"), allow(dead_code))]
pub(crate) type SharedHostFn<T> =
    Arc<dyn Fn(&mut T, &[Val]) -> Result<Vec<Val>, HostFnError> + Send + Sync>;
