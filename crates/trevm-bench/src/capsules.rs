//! Building the example capsules for every profile the benchmark needs.

use std::path::Path;

use trevm::{EngineProfile, Preemption, Target};
use trevm_build::{BuildOptions, Signing, Stage};

/// The key the benchmark signs its capsules with (made once per run, never written anywhere).
pub fn key() -> &'static trevm_sign::SigningKey {
    static KEY: std::sync::OnceLock<trevm_sign::SigningKey> = std::sync::OnceLock::new();
    KEY.get_or_init(trevm_sign::SigningKey::generate)
}

/// A device policy trusting [`key`].
pub fn policy() -> trevm::TrustPolicy {
    trevm::TrustPolicy::new().trust(key().trusted("the benchmark key"))
}

/// The example capsules, as directories under `payloads/`.
pub const EXAMPLES: [&str; 4] = ["async-bindings", "fibonacci", "sandbox", "bench-calls"];

/// Every profile each example is compiled for: both Pulley widths with each preemption (for the
/// size table), and native code (Cranelift, for the host this runs on) without preemption.
pub const PROFILES: [EngineProfile; 7] = [
    EngineProfile::pulley64(Preemption::Fuel),
    EngineProfile::pulley64(Preemption::None),
    EngineProfile::pulley64(Preemption::Epoch),
    EngineProfile::pulley32(Preemption::Fuel),
    EngineProfile::pulley32(Preemption::None),
    EngineProfile::pulley32(Preemption::Epoch),
    EngineProfile {
        target: Target::Host,
        preemption: Preemption::None,
    },
];

/// One example, compiled for every profile in [`PROFILES`].
#[derive(Debug)]
pub struct Example {
    /// Directory name under `payloads/`.
    pub name: &'static str,
    /// Size of the core module cargo produced.
    pub core_module: usize,
    /// Size of the component made from it.
    pub component: usize,
    /// Per profile: the capsule bytes and the size of Wasmtime's precompiled code in it.
    pub compiled: Vec<Compiled>,
    /// Size of the pulley32 fuel `.cwasm` built with `--addrmap` (what every capsule carried
    /// before the address map was left out by default).
    pub pulley32_fuel_addrmap: usize,
}

/// An example compiled for one profile.
#[derive(Debug)]
pub struct Compiled {
    /// The profile.
    pub profile: EngineProfile,
    /// The capsule (header + `.cwasm`).
    pub capsule: Vec<u8>,
    /// Size of the `.cwasm` alone.
    pub cwasm: usize,
}

impl Example {
    /// The capsule for `profile` (which must be one of [`PROFILES`]).
    pub fn capsule(&self, profile: EngineProfile) -> &[u8] {
        &self.compiled(profile).capsule
    }

    /// The compiled form for `profile` (which must be one of [`PROFILES`]).
    pub fn compiled(&self, profile: EngineProfile) -> &Compiled {
        self.compiled
            .iter()
            .find(|c| c.profile == profile)
            .unwrap_or_else(|| panic!("{} was not compiled for {profile}", self.name))
    }
}

fn stage(built: &trevm_build::Built, stage: Stage) -> usize {
    built
        .stages
        .iter()
        .find(|(s, _)| *s == stage)
        .map_or(0, |(_, size)| *size)
}

/// Builds `payloads/<name>` once with `trevm_build::build` (cargo → component → capsule for the
/// first profile), then precompiles the same component for the other profiles.
pub fn build(root: &Path, name: &'static str) -> Result<Example, Box<dyn std::error::Error>> {
    let first = PROFILES[0];
    let opts = BuildOptions {
        profile: first,
        quiet: true,
        signing: Signing::Unsigned,
        ..Default::default()
    };
    let built = trevm_build::build(&root.join("payloads").join(name), &opts)?;
    let mut compiled = vec![Compiled {
        profile: first,
        capsule: trevm_sign::sign(&built.capsule, key(), Some(1), None)?,
        cwasm: stage(&built, Stage::Precompiled),
    }];
    for &profile in &PROFILES[1..] {
        let cwasm = trevm_build::precompile(&built.component, profile)?;
        let bare = trevm::capsule::encode(profile, &built.name, &cwasm)?;
        let capsule = trevm_sign::sign(&bare, key(), Some(1), Some(built.imports.clone()))?;
        compiled.push(Compiled {
            profile,
            capsule,
            cwasm: cwasm.len(),
        });
    }
    let pulley32_fuel_addrmap = trevm_build::precompile_with(
        &built.component,
        EngineProfile::pulley32(Preemption::Fuel),
        true,
    )?
    .len();
    Ok(Example {
        name,
        core_module: stage(&built, Stage::CoreModule),
        component: stage(&built, Stage::Component),
        compiled,
        pulley32_fuel_addrmap,
    })
}

/// Builds `payloads/<name>` for `profile` alone, signed by [`key`].
pub fn build_one(
    root: &Path,
    name: &str,
    profile: EngineProfile,
) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let opts = BuildOptions {
        profile,
        quiet: true,
        signing: Signing::Unsigned,
        ..Default::default()
    };
    let built = trevm_build::build(&root.join("payloads").join(name), &opts)?;
    Ok(trevm_sign::sign(&built.capsule, key(), Some(1), None)?)
}
