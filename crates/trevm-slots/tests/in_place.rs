//! An uploaded capsule's buffer becomes its code memory: trevm loads a capsule from bytes it
//! owns without Wasmtime copying them when they are aligned (as trevm-coap's reassembled `Body`
//! places them), copies once otherwise, never hands the same buffer to Wasmtime twice, and keeps
//! the buffer alive for the instances made from it.

use std::path::PathBuf;

use trevm::capsule::{CODE_ALIGN, Capsule};
use trevm::{
    EngineProfile, HostState, Limits, Runtime, RuntimeOptions, TrustPolicy, VersionLedger,
};
use trevm_coap::server::Body;
// The embassy-time driver that the runtime's timeouts need on the host.
use trevm_native as _;

/// `payloads/sandbox`, signed by `key`.
fn sandbox(key: &trevm_sign::SigningKey) -> Vec<u8> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let opts = trevm_build::BuildOptions {
        quiet: true,
        initial_memory: Some(32 * 1024),
        signing: trevm_build::Signing::Unsigned,
        ..Default::default()
    };
    let unsigned = trevm_build::build(&root.join("payloads/sandbox"), &opts)
        .expect("building payloads/sandbox")
        .capsule;
    trevm_sign::sign(&unsigned, key, Some(1), None).expect("sign")
}

fn run(runtime: &Runtime, loaded: &trevm::LoadedCapsule) -> trevm::Instance {
    futures_executor::block_on(runtime.instantiate(
        loaded,
        HostState::new("sandbox"),
        Limits::default(),
    ))
    .expect("instantiate")
}

fn call(instance: &mut trevm::Instance) -> String {
    futures_executor::block_on(instance.call_typed::<(), (String,)>("run", ()))
        .expect("run")
        .0
}

#[test]
fn an_owned_aligned_capsule_is_its_own_code_memory_and_a_misaligned_one_is_copied() {
    let key = trevm_sign::SigningKey::generate();
    let policy = TrustPolicy::new().trust(key.trusted("the test key"));
    let signed = sandbox(&key);
    let runtime = Runtime::new(
        EngineProfile::for_this_machine(),
        RuntimeOptions::host().with_grants(trevm::Grants::none()),
    )
    .expect("runtime");

    // Aligned, as an upload's body is: used in place.
    let (buf, start) = Body::copy_of(&signed).into_parts();
    assert_eq!(buf[start..].as_ptr() as usize % CODE_ALIGN, 0);
    let capsule = Capsule::from_vec_at(buf, start).expect("a capsule");
    let verified = policy
        .verify(capsule, &VersionLedger::new())
        .expect("verified");
    let loaded = runtime.load(&verified).expect("loaded");
    assert!(loaded.runs_in_place());
    // The same buffer again: Wasmtime registers code by address once, so this one is a copy.
    let again = runtime.load(&verified).expect("loaded again");
    assert!(!again.runs_in_place());

    // The instance keeps the code memory alive after the capsule and its loads are gone.
    let mut instance = run(&runtime, &loaded);
    drop((verified, loaded, again));
    assert_eq!(call(&mut instance), "Hello from the sandbox!");
    // A fresh instance after the first's drop still runs from an earlier clone's buffer.
    drop(instance);

    // One byte off: copied once at load, and runs the same.
    let mut shifted = vec![0u8];
    shifted.extend_from_slice(&signed);
    let (buf, start) = Body::copy_of(&shifted).into_parts();
    let capsule = Capsule::from_vec_at(buf, start + 1).expect("a capsule");
    let verified = policy
        .verify(capsule, &VersionLedger::new())
        .expect("verified");
    let loaded = runtime.load(&verified).expect("loaded");
    assert!(!loaded.runs_in_place());
    drop(verified);
    assert_eq!(call(&mut run(&runtime, &loaded)), "Hello from the sandbox!");

    // A borrowed capsule is copied by Wasmtime, as before.
    let borrowed = policy
        .verify(
            Capsule::from_slice(&signed).expect("a capsule"),
            &VersionLedger::new(),
        )
        .expect("verified");
    assert!(!runtime.load(&borrowed).expect("loaded").runs_in_place());
}
