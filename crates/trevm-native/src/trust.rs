//! Which capsules a native-board device runs: by default, those signed with the development key
//! of the user running it ([`trevm_sign::dev_key`], made on first use), plus any key given.

use std::path::PathBuf;

use trevm::TrustPolicy;

/// A device's trust settings, as the command line gives them.
#[derive(Debug, Clone, Default)]
pub struct TrustArgs {
    /// Public (or private) key files to trust besides the development key.
    pub trust: Vec<PathBuf>,
    /// Don't trust the development key (only `trust`).
    pub no_dev_key: bool,
    /// Run unsigned capsules too. Insecure: for a device on a developer's desk only.
    pub insecure_allow_unsigned: bool,
}

impl TrustArgs {
    /// The policy these settings describe.
    pub fn policy(&self) -> Result<TrustPolicy, String> {
        let mut policy = TrustPolicy::new();
        if !self.no_dev_key {
            policy = policy.trust(development_key()?);
        }
        for path in &self.trust {
            policy = policy.trust(trevm_sign::trusted_key_file(path).map_err(|e| e.to_string())?);
        }
        if self.insecure_allow_unsigned {
            eprintln!(
                "WARNING: this device runs UNSIGNED capsules: anyone who can reach it can take it \
                 over. Never use --insecure-allow-unsigned outside a development desk."
            );
            // The one `unsafe` of the native board (the crate denies `unsafe_code` elsewhere).
            #[allow(unsafe_code)]
            // SAFETY: the user asked for exactly this with a flag named for what it does; the
            // warning above says what it costs. Signed capsules are still verified.
            let insecure = unsafe { policy.accept_unsigned() };
            policy = insecure;
        }
        if policy.keys().is_empty() && !policy.accepts_unsigned() {
            return Err("this device would trust no key: give --trust KEY.pub.pem".into());
        }
        Ok(policy)
    }
}

fn development_key() -> Result<trevm::TrustedKey, String> {
    trevm_sign::dev_key()
        .map(|k| k.trusted())
        .map_err(|e| format!("the development key: {e}"))
}

/// The default policy of devices on the native board: the development key only.
pub fn development_policy() -> Result<TrustPolicy, String> {
    TrustArgs::default().policy()
}

/// `signed by the development key 3f2a…` — for the device's start-up line.
pub fn describe_policy(policy: &TrustPolicy) -> String {
    let keys: Vec<&str> = policy.keys().iter().map(trevm::TrustedKey::label).collect();
    let signed = match keys.as_slice() {
        [] => "signed by nobody".to_string(),
        keys => format!("signed by {}", keys.join(" or ")),
    };
    if policy.accepts_unsigned() {
        format!("{signed} (or UNSIGNED: insecure)")
    } else {
        signed
    }
}
