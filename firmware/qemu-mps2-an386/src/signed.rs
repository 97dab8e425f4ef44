//! Signed capsules on the device: the key it trusts, and the async-bindings capsule received
//! signed, verified (measured) and a tampered copy refused.

use alloc::format;
use alloc::string::{String, ToString};

use trevm::EmbeddedCapsule;

use crate::console::board;
use crate::figures::{measure_bytes, measure_cycles};
use crate::measure::HEAP;
use crate::time_driver::cycles;

/// The async-bindings capsule as a device receives it: signed, in a flash region the firmware
/// image does not vouch for. (The macro only gives it the alignment an in-place load needs; the
/// bytes are checked as untrusted.)
static ASYNC_BINDINGS_SIGNED: EmbeddedCapsule =
    trevm::include_capsule!(concat!(env!("OUT_DIR"), "/async-bindings.signed.cwasm"));

/// The public key this device trusts: the development key of whoever built the firmware.
pub(crate) static TRUSTED_KEY: [u8; 32] =
    *include_bytes!(concat!(env!("OUT_DIR"), "/trusted-key.bin"));

pub(crate) fn async_bindings_bytes() -> &'static [u8] {
    ASYNC_BINDINGS_SIGNED.bytes()
}

/// Verifies the received capsule with the trusted key (measured), and shows that a copy with one
/// payload byte changed and the CRC recomputed is refused.
pub(crate) fn async_bindings_capsule() -> Result<trevm::VerifiedCapsule<'static>, String> {
    use trevm::capsule::{Capsule, encode_with_trailer};
    use trevm::{TrustPolicy, TrustedKey, VersionLedger};
    let key = TrustedKey::ed25519(TRUSTED_KEY)
        .map_err(|e| e.to_string())?
        .with_label("the development key");
    let policy = TrustPolicy::new().trust(key);
    let ledger = VersionLedger::new();
    let bytes = ASYNC_BINDINGS_SIGNED.bytes();

    // Tampered: a byte in the middle of the Pulley code, CRC recomputed.
    let original = Capsule::from_static(bytes).map_err(|e| e.to_string())?;
    let mut payload = original.payload().to_vec();
    let middle = payload.len() / 2;
    payload[middle] ^= 0x01;
    let tampered = encode_with_trailer(
        original.profile(),
        original.name(),
        &payload,
        original.header().trailer_kind,
        original.trailer(),
    )
    .map_err(|e| e.to_string())?;
    drop(payload);
    let tampered = Capsule::from_vec(tampered).map_err(|e| e.to_string())?;
    match policy.verify(tampered, &ledger) {
        Err(refusal) => board(&format!("tampered capsule refused: {refusal}")),
        Ok(_) => return Err("a tampered capsule passed verification".into()),
    }

    let base = HEAP.used();
    HEAP.reset_peak();
    let start = cycles();
    let verified = Capsule::from_static(bytes)
        .map_err(|e| e.to_string())
        .and_then(|c| policy.verify(c, &ledger).map_err(|e| e.to_string()));
    measure_cycles("cycles.verify", cycles() - start);
    measure_bytes("heap.verify_peak", HEAP.peak() - base);
    let verified = verified?;
    if let Some(signed) = verified.signed() {
        board(&format!(
            "signed capsule `{}` ({} bytes) verified: version {}, signed by {}",
            signed.manifest.name,
            bytes.len(),
            signed.manifest.version,
            signed.signer
        ));
    }
    Ok(verified)
}
