//! `trevm keygen --coap NAME`: a client credential for talking to secured devices (EDHOC +
//! OSCORE), in the formats Ariel OS users already have:
//! - `NAME.cosekey`: the private key, a COSE_Key in CBOR (`{1: 2, -1: 1, -4: h'<d>'}`, what
//!   `aiocoap-keygen` writes), mode 0600;
//! - `NAME.diag`: the client's credentials file for `aiocoap-client --credentials` (and
//!   `trevm push/call/ls --credentials`): EDHOC method 3, cipher suite 2, this key by key id,
//!   and the device's identity pinned if given;
//! - `NAME.peers.yml`: the entry to add to the device's `peers.yml` (`scope: allow-all`; narrow
//!   it to what this client needs).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::outln;

/// What `trevm keygen --coap` was asked for.
pub struct CoapKeyRequest<'a> {
    /// Base name of the files, and the credential's subject.
    pub name: &'a Path,
    /// Key id in hex (1–8 bytes); random if not given.
    pub kid: Option<&'a str>,
    /// The device URL the credentials are for.
    pub device: &'a str,
    /// The device's identity as it prints it (`{8: {1: {…}}}`), to pin it.
    pub device_identity: Option<&'a str>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.is_empty() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// `trevm keygen --coap`.
pub fn keygen(req: &CoapKeyRequest<'_>) -> Result<ExitCode> {
    let base = req.name.to_string_lossy().into_owned();
    let subject = Path::new(&base)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| base.clone());
    if subject.contains(['"', '\\']) {
        bail!("the name `{subject}` cannot be a credential subject (no quotes or backslashes)");
    }
    let (key_path, diag_path, peers_path) = (
        PathBuf::from(format!("{base}.cosekey")),
        PathBuf::from(format!("{base}.diag")),
        PathBuf::from(format!("{base}.peers.yml")),
    );
    for p in [&key_path, &diag_path, &peers_path] {
        if p.exists() {
            bail!(
                "{} exists already: not overwriting a credential",
                p.display()
            );
        }
    }
    let kid = match req.kid {
        Some(k) => unhex(k)
            .filter(|k| k.len() <= 8)
            .with_context(|| format!("--kid {k}: give 1 to 8 bytes in hex, e.g. 2b"))?,
        None => {
            let mut k = [0u8; 1];
            rand_core06::RngCore::fill_bytes(&mut rand_core06::OsRng, &mut k);
            k.to_vec()
        }
    };
    let base_url = req.device.trim_end_matches('/');
    if !base_url.starts_with("coap://") {
        bail!(
            "--device {}: a coap:// URL, e.g. coap://192.0.2.1",
            req.device
        );
    }
    let secret = p256::SecretKey::random(&mut rand_core06::OsRng);
    let point =
        p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&secret.public_key(), false);
    let (Some(x), Some(y)) = (point.x(), point.y()) else {
        bail!("the new key has no affine coordinates");
    };
    let d = secret.to_bytes();

    // {1: 2, -1: 1, -4: h'<d>'}
    let mut cosekey = vec![0xa3, 0x01, 0x02, 0x20, 0x01, 0x23, 0x58, 0x20];
    cosekey.extend_from_slice(&d);
    write_private(&key_path, &cosekey)?;

    let ccs = format!(
        "{{2: \"{subject}\", 8: {{1: {{1: 2, 2: h'{}', -1: 1, -2: h'{}', -3: h'{}'}}}}}}",
        hex(&kid),
        hex(x),
        hex(y)
    );
    let peer = match req.device_identity {
        Some(id) => {
            let id = id.trim();
            if !(id.starts_with('{') && id.ends_with('}')) {
                bail!(
                    "--device-identity: paste what the device printed after \
                     `CoAP server identity:`, e.g. {{8: {{1: {{…}}}}}}"
                );
            }
            format!("{{14: {id}}}")
        }
        None => "{\"unauthenticated\": true}".to_string(),
    };
    let key_file = key_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let diag = format!(
        "{{\"{base_url}/*\": {{\"edhoc-oscore\": {{\n  \"suite\": 2, \"method\": 3,\n  \
         \"own_cred_style\": \"by-key-id\",\n  \"own_cred\": {{14: {ccs}}},\n  \
         \"private_key_file\": \"{key_file}\",\n  \"peer_cred\": {peer}\n}}}}}}\n"
    );
    crate::write_file(&diag_path, diag.as_bytes())?;
    let entry = format!("- kccs: |\n    {ccs}\n  scope: allow-all\n");
    crate::write_file(&peers_path, entry.as_bytes())?;

    outln!("kid          h'{}'", hex(&kid));
    outln!(
        "private key  {}  (COSE_Key, mode 0600: keep it secret)",
        key_path.display()
    );
    outln!(
        "credentials  {}  (aiocoap-client / trevm push|call|ls --credentials)",
        diag_path.display()
    );
    outln!(
        "policy entry {}  (add it to the device's peers.yml; narrow its scope)",
        peers_path.display()
    );
    if req.device_identity.is_none() {
        outln!(
            "note: the device's identity is not pinned (peer_cred unauthenticated): pass \
             --device-identity with what the device prints, so a stranger cannot pose as it"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes a new file only its owner can read.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))
}
