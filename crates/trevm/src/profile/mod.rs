//! The engine settings that must agree between the precompiler and the runtime.
//!
//! A capsule is Pulley bytecode (or native code) produced by Wasmtime for one particular
//! configuration. [`EngineProfile`] is the single place those settings are chosen
//! (`wasmtime_settings.rs`): `trevm-build` precompiles with `EngineProfile::precompile` (feature
//! `compiler`), the device runtime deserializes with an engine configured by the very same
//! function, and the profile is stamped into the capsule header so a mismatch is refused with a
//! message naming the difference (see [`crate::capsule`]).

#[cfg(feature = "wasmtime")]
mod engine;
#[cfg(feature = "wasmtime")]
mod wasmtime_settings;

use core::fmt;

/// The code format a capsule is compiled to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Target {
    /// Pulley bytecode for 32-bit devices (Cortex-M, RISC-V MCUs).
    Pulley32 = 1,
    /// Pulley bytecode for 64-bit hosts (the native board on x86_64/aarch64 Linux).
    Pulley64 = 2,
    /// Native machine code for the host running the precompiler (Cranelift). Only loadable by a
    /// runtime built with the `std` feature on the same host architecture; used for comparisons.
    Host = 3,
    /// A plain WebAssembly core module, validated and translated on the device by the wasmi
    /// provider (feature `wasmi`). Not tied to a Wasmtime version nor to a pointer width.
    Wasm = 4,
}

impl Target {
    /// The Pulley target whose pointer width matches the machine this code runs on.
    pub const fn pulley_for_this_machine() -> Self {
        if cfg!(target_pointer_width = "64") {
            Target::Pulley64
        } else {
            Target::Pulley32
        }
    }

    /// The short name used on the command line and in messages (`pulley32`, `pulley64`, `host`,
    /// `wasm`).
    pub const fn name(self) -> &'static str {
        match self {
            Target::Pulley32 => "pulley32",
            Target::Pulley64 => "pulley64",
            Target::Host => "host",
            Target::Wasm => "wasm",
        }
    }

    /// The VM provider that runs this code: `wasmi` for [`Target::Wasm`], else `wasmtime`
    /// (the cargo feature of this crate that brings it).
    pub const fn provider(self) -> &'static str {
        match self {
            Target::Wasm => "wasmi",
            _ => "wasmtime",
        }
    }

    /// Parses a name as printed by [`Target::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "pulley32" => Some(Target::Pulley32),
            "pulley64" => Some(Target::Pulley64),
            "host" | "native" => Some(Target::Host),
            "wasm" | "wasmi" => Some(Target::Wasm),
            _ => None,
        }
    }

    pub(crate) fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(Target::Pulley32),
            2 => Some(Target::Pulley64),
            3 => Some(Target::Host),
            4 => Some(Target::Wasm),
            _ => None,
        }
    }

    /// The target triple handed to Wasmtime, or `None` for the host's own (and for plain wasm,
    /// which Wasmtime never compiles).
    #[cfg(feature = "wasmtime")]
    fn triple(self) -> Option<&'static str> {
        match self {
            // Little-endian Pulley, as on every MCU and host we target.
            Target::Pulley32 => Some("pulley32"),
            Target::Pulley64 => Some("pulley64"),
            Target::Host | Target::Wasm => None,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a running capsule is made to give the executor back control.
///
/// Both are compiled into the capsule's code, so they are part of the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Preemption {
    /// No instrumentation: a capsule only yields in async host calls (e.g. `sleep`). A loop without
    /// host calls cannot be stopped. Smallest and fastest code; only for trusted capsules.
    None = 0,
    /// Fuel metering: every instruction costs fuel; the runtime yields every
    /// [`Limits::yield_interval`](crate::Limits::yield_interval) units and can cap the total.
    /// Deterministic, roughly doubles interpreted cost.
    Fuel = 1,
    /// Epoch interruption: the code checks a counter that a timer task advances
    /// ([`Runtime::tick_epochs`](crate::Runtime::tick_epochs)). Not deterministic, no instruction
    /// budget, and on Pulley no cheaper than fuel (see `docs/bench.md`); only on targets with
    /// 64-bit atomics (not Cortex-M).
    Epoch = 2,
}

impl Preemption {
    /// The short name used on the command line and in messages.
    pub const fn name(self) -> &'static str {
        match self {
            Preemption::None => "none",
            Preemption::Fuel => "fuel",
            Preemption::Epoch => "epoch",
        }
    }

    /// Parses a name as printed by [`Preemption::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "none" => Some(Preemption::None),
            "fuel" => Some(Preemption::Fuel),
            "epoch" => Some(Preemption::Epoch),
            _ => None,
        }
    }

    pub(crate) fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Preemption::None),
            1 => Some(Preemption::Fuel),
            2 => Some(Preemption::Epoch),
            _ => None,
        }
    }
}

impl fmt::Display for Preemption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything about the Wasmtime engine that must be identical when a capsule is precompiled and
/// when it is loaded.
///
/// The fixed part of the profile (not a field, because nothing should vary it) is chosen for
/// microcontrollers: custom page sizes enabled (capsules link with `--page-size=1`), no virtual
/// memory tricks (`memory_reservation(0)`, no guard pages, no copy-on-write images), eager table
/// initialisation. [`PROFILE_REVISION`] is bumped whenever that fixed part changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EngineProfile {
    /// Code format.
    pub target: Target,
    /// Preemption instrumentation compiled into the code.
    pub preemption: Preemption,
}

/// Revision of the fixed settings in `wasmtime_settings.rs`; stamped into capsules.
pub const PROFILE_REVISION: u16 = 1;

/// The Wasmtime major version this runtime is built with; stamped into capsules, because Wasmtime
/// only loads code produced by its own version.
pub const WASMTIME_MAJOR: u16 = 48;

/// Revision of what the wasmi provider accepts in a plain-wasm capsule ([`Target::Wasm`]): the
/// WebAssembly features it enables (custom page sizes) and refuses (start functions, tail calls,
/// SIMD) and the canonical ABI it lowers. Stamped where Pulley capsules have
/// [`PROFILE_REVISION`]; plain-wasm capsules stamp `0` as their Wasmtime major: no Wasmtime
/// version ties them.
pub const WASMI_PROFILE_REVISION: u16 = 1;

impl EngineProfile {
    /// The default profile for this machine: Pulley of the machine's pointer width, fuel preemption.
    pub const fn for_this_machine() -> Self {
        EngineProfile {
            target: Target::pulley_for_this_machine(),
            preemption: Preemption::Fuel,
        }
    }

    /// The profile for a 32-bit microcontroller with the given preemption.
    pub const fn pulley32(preemption: Preemption) -> Self {
        EngineProfile {
            target: Target::Pulley32,
            preemption,
        }
    }

    /// The profile for a 64-bit host with the given preemption.
    pub const fn pulley64(preemption: Preemption) -> Self {
        EngineProfile {
            target: Target::Pulley64,
            preemption,
        }
    }

    /// The profile of a plain-wasm capsule for the wasmi provider. Only `Fuel` and `None`
    /// preemption exist there (wasmi has no epochs).
    pub const fn wasmi(preemption: Preemption) -> Self {
        EngineProfile {
            target: Target::Wasm,
            preemption,
        }
    }

    /// Can code for this profile run on the machine this crate was compiled for, with the
    /// providers it was built with?
    pub fn runs_here(&self) -> bool {
        match self.target {
            Target::Host => {
                cfg!(feature = "wasmtime") && cfg!(feature = "std") && !cfg!(target_os = "none")
            }
            Target::Wasm => cfg!(feature = "wasmi") && self.preemption != Preemption::Epoch,
            t => cfg!(feature = "wasmtime") && t == Target::pulley_for_this_machine(),
        }
    }
}

impl Default for EngineProfile {
    fn default() -> Self {
        Self::for_this_machine()
    }
}

impl fmt::Display for EngineProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} with {} preemption", self.target, self.preemption)
    }
}

#[cfg(test)]
mod tests {
    use super::WASMTIME_MAJOR;
    use alloc::string::ToString;

    /// The stamp must follow the Wasmtime that is actually compiled in: read it from the
    /// lockfiles of the workspace and of the firmware.
    #[test]
    fn wasmtime_major_matches_the_locked_dependency() {
        for (which, lock) in [
            ("Cargo.lock", include_str!("../../../../Cargo.lock")),
            (
                "firmware/qemu-mps2-an386/Cargo.lock",
                include_str!("../../../../firmware/qemu-mps2-an386/Cargo.lock"),
            ),
        ] {
            let version = lock
                .split("[[package]]")
                .find_map(|p| {
                    p.contains("\nname = \"wasmtime\"\n")
                        .then(|| p.split("\nversion = \"").nth(1))
                        .flatten()
                })
                .and_then(|v| v.split('.').next())
                .unwrap_or_else(|| panic!("{which} locks no wasmtime"));
            assert_eq!(
                version,
                WASMTIME_MAJOR.to_string(),
                "{which} locks wasmtime {version}.x but WASMTIME_MAJOR is {WASMTIME_MAJOR}"
            );
        }
    }
}
