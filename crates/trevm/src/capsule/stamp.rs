//! The engine profile a capsule is stamped with, and how two stamps differ.

use core::fmt;

use crate::profile::{
    EngineProfile, PROFILE_REVISION, Target, WASMI_PROFILE_REVISION, WASMTIME_MAJOR,
};

/// A profile as stamped into a capsule: the [`EngineProfile`] plus the versions that must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StampedProfile {
    /// Target and preemption.
    pub profile: EngineProfile,
    /// Wasmtime major version (`0` for plain wasm: [`Target::Wasm`]).
    pub wasmtime_major: u16,
    /// [`PROFILE_REVISION`] of the fixed settings ([`WASMI_PROFILE_REVISION`] for plain wasm).
    pub revision: u16,
}

impl StampedProfile {
    /// The stamp this build of the runtime writes and accepts for `profile`.
    pub const fn current(profile: EngineProfile) -> Self {
        match profile.target {
            Target::Wasm => StampedProfile {
                profile,
                wasmtime_major: 0,
                revision: WASMI_PROFILE_REVISION,
            },
            _ => StampedProfile {
                profile,
                wasmtime_major: WASMTIME_MAJOR,
                revision: PROFILE_REVISION,
            },
        }
    }

    pub(super) fn describe_differences(
        &self,
        other: &Self,
        f: &mut fmt::Formatter<'_>,
    ) -> fmt::Result {
        let mut first = true;
        let mut item = |f: &mut fmt::Formatter<'_>, args: fmt::Arguments<'_>| {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            f.write_fmt(args)
        };
        if self.profile.target != other.profile.target {
            item(
                f,
                format_args!("target {} ≠ {}", self.profile.target, other.profile.target),
            )?;
        }
        if self.profile.preemption != other.profile.preemption {
            item(
                f,
                format_args!(
                    "preemption {} ≠ {}",
                    self.profile.preemption, other.profile.preemption
                ),
            )?;
        }
        if self.wasmtime_major != other.wasmtime_major {
            item(
                f,
                format_args!(
                    "Wasmtime {} ≠ {}",
                    self.wasmtime_major, other.wasmtime_major
                ),
            )?;
        }
        if self.revision != other.revision {
            item(
                f,
                format_args!("profile revision {} ≠ {}", self.revision, other.revision),
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for StampedProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.profile.target == Target::Wasm {
            return write!(f, "{} (wasmi profile rev {})", self.profile, self.revision);
        }
        write!(
            f,
            "{} (Wasmtime {}, profile rev {})",
            self.profile, self.wasmtime_major, self.revision
        )
    }
}
