//! Admitting an uploaded capsule: check its bytes, verify its signature against the device's
//! trust policy, then (and only then) let Wasmtime load it.
//!
//! Refusals map to CoAP codes by RFC 7252 semantics (§5.9.2): a capsule that does not
//! *authenticate* (unsigned, unknown signer, bad signature, payload or header altered after
//! signing) gets **4.01 Unauthorized** — signing it with a trusted key would help; an authentic
//! capsule the policy *forbids* (a name or grant not allowed for its signer, a version older than
//! the installed one, an import outside its signed grants) gets **4.03 Forbidden**; bytes that are
//! not a capsule for this device get **4.00 Bad Request**. The message says exactly why.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use trevm::{
    Capsule, Error, HostView, LoadedCapsule, Runtime, TrustPolicy, VerifiedCapsule, VersionLedger,
};

use trevm_coap::message::code;

/// A refused upload: the response code and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// 4.00, 4.01 or 4.03 (see the [module docs](self)); 5.00 when the device could not store
    /// what it admitted.
    pub code: u8,
    /// Why, for the diagnostic payload.
    pub message: String,
}

impl Refusal {
    /// A 4.00 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Refusal {
            code: code::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// A 5.00 Internal Server Error (the device could not store something).
    pub fn internal(message: impl Into<String>) -> Self {
        Refusal {
            code: code::INTERNAL_SERVER_ERROR,
            message: message.into(),
        }
    }
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        let code = match &e {
            Error::Refused(t) if t.is_authentication_failure() => code::UNAUTHORIZED,
            Error::Refused(_) => code::FORBIDDEN,
            // The device's RAM, not the capsule: try again once other capsules are gone.
            Error::DeviceOutOfMemory(_) => code::SERVICE_UNAVAILABLE,
            _ => code::BAD_REQUEST,
        };
        Refusal {
            code,
            message: e.to_string(),
        }
    }
}

/// A capsule that passed the trust policy and was loaded.
#[derive(Debug)]
pub struct Admitted {
    /// The loaded code.
    pub loaded: LoadedCapsule,
    /// What was verified (signer, manifest), for the ledger and for status.
    pub verified: VerifiedCapsule<'static>,
}

/// Checks, verifies and loads uploaded bytes; nothing installed is touched. The first half of
/// the slots' pipeline (see `gate.rs`). Copies `bytes` once (the copy becomes the capsule's code
/// memory); [`admit_owned`] takes a buffer without a copy.
pub fn admit<T: HostView>(
    runtime: &Runtime<T>,
    policy: &TrustPolicy,
    ledger: &VersionLedger,
    bytes: &[u8],
) -> Result<Admitted, Refusal> {
    let body = trevm_coap::server::Body::copy_of(bytes);
    let (buf, start) = body.into_parts();
    admit_owned(runtime, policy, ledger, buf, start)
}

/// Like [`admit`], for the capsule `buf[start..]` in a buffer given up to it (an upload's
/// reassembled body, a capsule read from the store): no copy. When the capsule starts at an
/// address aligned to [`trevm::capsule::CODE_ALIGN`] (as trevm-coap's
/// [`Body`](trevm_coap::server::Body) places it), the buffer becomes the capsule's code memory
/// and lives as long as the capsule is installed; otherwise Wasmtime copies the code once.
pub fn admit_owned<T: HostView>(
    runtime: &Runtime<T>,
    policy: &TrustPolicy,
    ledger: &VersionLedger,
    buf: Vec<u8>,
    start: usize,
) -> Result<Admitted, Refusal> {
    let capsule = Capsule::from_vec_at(buf, start).map_err(Error::from)?;
    runtime.check_capsule(&capsule).map_err(Error::from)?;
    let verified = policy.verify(capsule, ledger).map_err(Error::from)?;
    let loaded = runtime.load(&verified)?;
    Ok(Admitted { loaded, verified })
}

/// One line saying who signed a capsule and which version it is, e.g.
/// `version 20261130061502, signed by the development key 3f2a…`.
pub fn describe(verified: &VerifiedCapsule<'_>) -> Installed {
    match verified.signed() {
        Some(s) => Installed {
            text: alloc::format!("version {}, signed by {}", s.manifest.version, s.signer),
            version: Some(s.manifest.version),
            signer: Some(alloc::format!("{}", s.kid)),
        },
        None => Installed {
            text: match verified.provenance() {
                trevm::trust::Provenance::Embedded => "built into the firmware".to_string(),
                _ => "UNSIGNED (accepted by an insecure development policy)".to_string(),
            },
            version: None,
            signer: None,
        },
    }
}

/// What is installed, as `/status` says it: in words, and the signed version and signer's key
/// id for tools.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Installed {
    /// "version …, signed by …", or where an unsigned capsule came from.
    pub text: String,
    /// The signed anti-rollback version.
    pub version: Option<u64>,
    /// The signer's key id, hex.
    pub signer: Option<String>,
}

impl core::fmt::Display for Installed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.text)
    }
}

// An upload's body (trevm-coap) is placed so that a capsule in it is used in place (trevm).
const _: () = assert!(trevm_coap::server::BODY_ALIGN.is_multiple_of(trevm::capsule::CODE_ALIGN));
