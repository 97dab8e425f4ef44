//! What the sandbox holds at most: [`SandboxLimits`], and which names its capsules may have.

use trevm::Limits;

/// The sandbox's settings.
#[derive(Debug, Clone, Copy)]
pub struct SandboxLimits {
    /// Limits of each run (timeout, fuel, memory).
    pub run: Limits,
    /// Most capsules stored at once.
    pub max_capsules: usize,
    /// Longest capsule name.
    pub max_name: usize,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        SandboxLimits {
            run: Limits::new()
                .with_timeout(trevm::Duration::from_secs(2))
                .with_max_memory(256 * 1024),
            max_capsules: 8,
            max_name: 32,
        }
    }
}

/// Sandbox capsule names: 1 to `max` characters of a-z, A-Z, 0-9, - and _.
pub(crate) fn valid_name(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
