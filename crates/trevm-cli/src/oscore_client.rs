//! EDHOC and OSCORE for the CLI's CoAP client (`--credentials`), against a device running Ariel
//! OS's `coapcore` (`trevm serve --policy peers.yml`): trevm-coap's client does the handshake and
//! the protection (`trevm_coap::client::edhoc`, `trevm_coap::client::oscore`); this file gives it
//! fresh randomness and turns its refusals into one clear message that names the device and the
//! credentials entry.

use anyhow::{Result, anyhow};
use trevm_coap::client::OscoreError;
use trevm_coap::message::code;

use crate::credentials::EdhocCredentials;

/// 32 bytes from the OS for one handshake (its ephemeral key and connection identifier).
pub fn seed() -> Result<[u8; 32]> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow!("no randomness from the OS: {e}"))?;
    Ok(seed)
}

/// `e` as one message about the device at `authority` (and the credentials entry, if known).
pub fn explain(
    e: &OscoreError,
    authority: &str,
    creds: Option<&EdhocCredentials>,
) -> anyhow::Error {
    match e {
        OscoreError::Edhoc(what) => anyhow!("EDHOC with {authority} failed: {what}"),
        OscoreError::Message1Refused { code, payload } => {
            let mut answer = named(*code);
            if !payload.is_empty() && payload.is_ascii() {
                answer = format!("{answer}: {}", String::from_utf8_lossy(payload));
            }
            anyhow!(
                "EDHOC with {authority} failed: the device answered message 1 with {answer} \
                 (does it run with --policy?)"
            )
        }
        OscoreError::UnexpectedCredential {
            by_value,
            reference,
        } => anyhow!(
            "the server's identity did not match: {authority} presented {}, but peer_cred of \
             \"{}\" pins another credential (is it the device you meant, or was it reset?)",
            presented(by_value.as_deref(), reference),
            creds.map_or("the credentials", |c| c.pattern.as_str())
        ),
        OscoreError::Message3Refused { code } => anyhow!(
            "EDHOC failed: the device refused message 3 with {} (does its peers.yml know \
             own_cred? \"by-key-id\" needs that; with \"by-value\" an unknown client gets the \
             unauthenticated scope)",
            named(*code)
        ),
        OscoreError::CredentialByReference(_) => anyhow!("EDHOC with {authority} failed: {e}"),
        e => anyhow!("{e}"),
    }
}

/// `4.01 Unauthorized`.
fn named(c: u8) -> String {
    let name = code::name(c);
    if name.is_empty() {
        code::dotted(c)
    } else {
        format!("{} {name}", code::dotted(c))
    }
}

/// The device's credential as it sent it, for messages: diagnostic notation if by value.
fn presented(by_value: Option<&[u8]>, reference: &[u8]) -> String {
    match by_value {
        Some(cred) => cbor_edn::StandaloneItem::from_cbor(cred)
            .map(|item| item.serialize())
            .unwrap_or_else(|_| hex(cred)),
        None => format!("a credential by reference ({})", hex(reference)),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
