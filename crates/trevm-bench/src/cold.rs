//! Cold start of a capsule, step by step: check, verify, load (copied and in place),
//! instantiate.

use std::time::Instant;

use futures_executor::block_on;
use trevm::{Capsule, Limits, Runtime, VerifiedCapsule, VersionLedger};
use trevm_native::NativeBoard;

use crate::capsules::{self, Example};
use crate::report::Samples;
use crate::util::{Result, nanos};

/// What each step of a cold start took.
pub(crate) struct ColdStart {
    /// `Capsule::from_slice`: header and CRC-32 check.
    pub(crate) check: Samples,
    /// `TrustPolicy::verify`: COSE_Sign1 parse, Ed25519 signature, SHA-256 of the payload.
    pub(crate) verify: Samples,
    /// `Runtime::load` of a borrowed capsule: Wasmtime copies the code into its own buffer. (An
    /// owned one, e.g. an upload, now becomes the code memory itself: `Capsule::from_vec_at`.)
    pub(crate) load_copy: Samples,
    /// `Runtime::load` of an aligned `'static` capsule (as from flash), or why it cannot be done.
    pub(crate) load_in_place: std::result::Result<Samples, String>,
    /// `Runtime::instantiate` of a loaded capsule.
    pub(crate) instantiate: Samples,
}

pub(crate) fn cold_start(
    rt: &Runtime,
    board: &NativeBoard,
    example: &Example,
    runs: usize,
) -> Result<ColdStart> {
    let bytes = example.capsule(rt.profile());
    let mut check = Samples::default();
    let mut verify = Samples::default();
    let mut load_copy = Samples::default();
    let policy = capsules::policy();
    for _ in 0..runs {
        let t = Instant::now();
        let capsule = Capsule::from_slice(bytes)?;
        check.push(nanos(t.elapsed()));
        let t = Instant::now();
        let capsule = policy.verify(capsule, &VersionLedger::new())?;
        verify.push(nanos(t.elapsed()));
        let t = Instant::now();
        let loaded = rt.load(&capsule)?;
        load_copy.push(nanos(t.elapsed()));
        drop(loaded);
    }

    // The runtime remembers in-place loads by address (Wasmtime refuses to register the same code
    // twice), so loading the same bytes again is a cache hit. Time first loads: a fresh
    // `'static` copy per run (leaked; a few MiB for the whole benchmark).
    let probe = rt
        .load(&verified(Capsule::from_static(leak_aligned(bytes))?)?)
        .map(drop);
    let load_in_place = match probe {
        Ok(()) => {
            let mut s = Samples::default();
            for _ in 0..runs {
                let flash = verified(Capsule::from_static(leak_aligned(bytes))?)?;
                let t = Instant::now();
                let loaded = rt.load(&flash)?;
                s.push(nanos(t.elapsed()));
                drop(loaded);
            }
            Ok(s)
        }
        Err(e) => Err(e.to_string()),
    };

    let loaded = rt.load(&verified(Capsule::from_vec(bytes.to_vec())?)?)?;
    let mut instantiate = Samples::default();
    for _ in 0..runs {
        let host = board.host_state(example.name);
        let t = Instant::now();
        let instance = block_on(rt.instantiate(&loaded, host, Limits::new()))?;
        instantiate.push(nanos(t.elapsed()));
        drop(instance);
    }
    Ok(ColdStart {
        check,
        verify,
        load_copy,
        load_in_place,
        instantiate,
    })
}

/// `capsule`, verified against the benchmark's key.
pub(crate) fn verified(capsule: Capsule<'static>) -> Result<VerifiedCapsule<'static>> {
    Ok(capsules::policy().verify(capsule, &VersionLedger::new())?)
}

/// A copy of `bytes` that lives for the rest of the process, 16-byte aligned like a capsule
/// embedded with `trevm::include_capsule!`, so that the runtime can use it in place.
pub(crate) fn leak_aligned(bytes: &[u8]) -> &'static [u8] {
    let buf: &'static mut [u8] = Box::leak(vec![0u8; bytes.len() + 15].into_boxed_slice());
    let skip = buf.as_ptr().align_offset(16);
    let slot = &mut buf[skip..skip + bytes.len()];
    slot.copy_from_slice(bytes);
    slot
}
