//! Builds the repository's payloads into capsules once per test binary.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use trevm::{
    Capsule, EngineProfile, HostState, Runtime, RuntimeOptions, TrustPolicy, VerifiedCapsule,
    VersionLedger,
};
use trevm_native::ConsoleLog;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The capsule bytes of `payloads/<name>` built for `profile` (cached per test binary).
pub fn capsule_bytes(name: &str, profile: EngineProfile) -> Vec<u8> {
    capsule_bytes_with(name, profile, &[])
}

/// [`capsule_bytes`] with the payload's cargo `features`.
pub fn capsule_bytes_with(name: &str, profile: EngineProfile, features: &[&str]) -> Vec<u8> {
    type Cache = Mutex<HashMap<(String, EngineProfile), Vec<u8>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    // Hold the lock while building: cargo would serialise the builds anyway.
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry((format!("{name}{features:?}"), profile))
        .or_insert_with(|| {
            let opts = trevm_build::BuildOptions {
                profile,
                quiet: true,
                features: features.iter().map(|f| f.to_string()).collect(),
                ..Default::default()
            };
            match trevm_build::build(&repo_root().join("payloads").join(name), &opts) {
                Ok(built) => built.capsule,
                Err(e) => panic!("building payload {name}: {e}"),
            }
        })
        .clone()
}

/// A VM provider the behaviour tests run against: each test body that takes a `Vm` runs once per
/// provider ([`each_vm!`](crate::each_vm)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vm {
    /// Wasmtime with this machine's Pulley profile, fuel preemption.
    Wasmtime,
    /// wasmi, plain wasm, fuel preemption.
    Wasmi,
}

impl Vm {
    /// The profile capsules are built with for this provider.
    pub fn profile(self) -> EngineProfile {
        match self {
            Vm::Wasmtime => EngineProfile::for_this_machine(),
            Vm::Wasmi => EngineProfile::wasmi(trevm::Preemption::Fuel),
        }
    }

    /// A runtime for this provider's profile.
    pub fn runtime(self) -> Runtime {
        self.runtime_with(RuntimeOptions::host())
    }

    /// A runtime for this provider's profile with `options`.
    pub fn runtime_with(self, options: RuntimeOptions) -> Runtime {
        Runtime::new(self.profile(), options).expect("runtime")
    }

    /// `payloads/<name>` built for this provider, checked and verified.
    pub fn capsule(self, name: &str) -> VerifiedCapsule<'static> {
        verified(capsule_bytes(name, self.profile()))
    }
}

/// One test per VM provider from one body: `each_vm! { fn name(vm) { … } }` makes
/// `name::wasmtime` and `name::wasmi`.
#[macro_export]
macro_rules! each_vm {
    ($(#[doc = $doc:literal])* fn $name:ident($vm:ident) $body:block) => {
        $(#[doc = $doc])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn body($vm: Vm) $body

            #[test]
            fn wasmtime() {
                body(Vm::Wasmtime)
            }

            #[test]
            fn wasmi() {
                body(Vm::Wasmi)
            }
        }
    };
}

/// A runtime for this machine's default profile (pulley, fuel).
pub fn runtime() -> Runtime {
    Runtime::new(EngineProfile::for_this_machine(), RuntimeOptions::host()).expect("runtime")
}

/// The policy of a device on this machine: the development key `trevm_build` signs with.
pub fn policy() -> TrustPolicy {
    trevm_native::trust::development_policy().expect("development key")
}

/// Capsule bytes checked and verified as a device does.
pub fn verified(bytes: Vec<u8>) -> VerifiedCapsule<'static> {
    let capsule = Capsule::from_vec(bytes).expect("capsule");
    policy()
        .verify(capsule, &VersionLedger::new())
        .expect("signed by the development key")
}

/// `capsule_bytes` for this machine's default profile, checked and verified.
pub fn capsule(name: &str) -> VerifiedCapsule<'static> {
    verified(capsule_bytes(name, EngineProfile::for_this_machine()))
}

/// A host state whose log lines are kept, and the log.
pub fn host(name: &str) -> (HostState, Arc<ConsoleLog>) {
    let log = Arc::new(ConsoleLog::silent());
    (HostState::new(name).with_log(log.clone()), log)
}

/// A predictable generator: 7, 14, 21, … so tests know what a capsule drew.
#[derive(Debug, Default)]
pub struct CountingRng(pub u64);

impl rand_core::RngCore for CountingRng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 += 7;
        self.0
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for b in dst {
            *b = self.next_u32() as u8;
        }
    }
}

/// Runs a future to completion on this thread, on the wall clock (the board's clock fires timers
/// for any executor). For futures that wait on the outside world (sockets, threads) or must be
/// stopped in a busy loop by a timeout.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures_executor::block_on(f)
}

/// Runs a future to completion on this thread on a virtual clock: sleeps, timeouts and timers
/// take no wall time, and the same scenario always sees the same times.
pub fn run_virtual<F: std::future::Future>(f: F) -> F::Output {
    trevm_native::clock::run_virtual(f)
}

/// `capsule`, verified (borrowed bytes).
pub fn verify<'a>(capsule: Capsule<'a>) -> VerifiedCapsule<'a> {
    policy()
        .verify(capsule, &VersionLedger::new())
        .expect("signed by the development key")
}
