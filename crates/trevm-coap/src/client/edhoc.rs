//! EDHOC as initiator (`lakers`, method 3, cipher suite 2), against a server running Ariel OS's
//! `coapcore` (such as [`Security`](crate::Security)): message 1 is POSTed to `/.well-known/edhoc`
//! asking the server to send its credential by value (EAD 15), which is then checked against the
//! pinned credential; message 3 is kept for the first OSCORE request (the combined request,
//! [`super::oscore`]). The OSCORE context is the one EDHOC's exporter yields (RFC 9528
//! appendix A.1).

use alloc::format;
use alloc::vec::Vec;

use rand_chacha::rand_core::SeedableRng as _;

use super::error::OscoreError;
use super::oscore::Session;
use crate::message::{Message, code, opt};

/// EDHOC's identifier for "please send your credential by value" (EAD item, RFC 9528 / lakers).
const EAD_CRED_BY_VALUE: u16 = 15;
/// OSCORE algorithms of EDHOC cipher suite 2: HKDF-SHA-256 (5) and AES-CCM-16-64-128 (10).
pub(crate) const HKDF_SHA256: i32 = 5;
pub(crate) const AES_CCM_16_64_128: i32 = 10;

/// Which server credential the client accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerCred {
    /// Exactly this CCS.
    Pinned(Vec<u8>),
    /// Any (the server must send it by value); the server is not authenticated.
    Unauthenticated,
}

/// The client's EDHOC credentials.
#[derive(Clone)]
pub struct Credentials {
    /// The client's CCS (a `{8: {1: COSE_Key}}` map).
    pub own_cred: Vec<u8>,
    /// Whether message 3 carries the CCS by value (else by its key ID).
    pub own_by_value: bool,
    /// The P-256 private key belonging to `own_cred`.
    pub private_key: [u8; 32],
    /// Which server credential is accepted.
    pub peer: PeerCred,
}

impl core::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Credentials")
            .field("own_cred", &self.own_cred)
            .field("own_by_value", &self.own_by_value)
            .field("private_key", &"(secret)")
            .field("peer", &self.peer)
            .finish()
    }
}

type Crypto = lakers_crypto_rustcrypto::Crypto<rand_chacha::ChaCha20Rng>;

/// A handshake between message 1 and message 2.
pub(crate) struct Initiator {
    wait_2: lakers::EdhocInitiatorWaitM2<Crypto>,
    c_i: lakers::ConnId,
    own_by_value: bool,
    peer: PeerCred,
}

fn failed(what: impl core::fmt::Debug, context: &str) -> OscoreError {
    OscoreError::Edhoc(format!("{context}: {what:?}"))
}

impl Initiator {
    /// Starts a handshake with `creds`, its randomness from `seed`: the state and the request
    /// carrying message 1.
    pub(crate) fn start(
        creds: &Credentials,
        seed: [u8; 32],
    ) -> Result<(Initiator, Message), OscoreError> {
        let mut rng = rand_chacha::ChaCha20Rng::from_seed(seed);
        // A one-byte connection identifier (a CBOR integer 0..=23); it is our OSCORE recipient ID.
        let c_i_byte = (rand_chacha::rand_core::RngCore::next_u32(&mut rng) % 24) as u8;
        let crypto = lakers_crypto_rustcrypto::Crypto::new(rng);
        let mut initiator = lakers::EdhocInitiator::new(
            crypto,
            lakers::EDHOCMethod::StatStat,
            lakers::EDHOCSuite::CipherSuite2,
        );
        let own =
            lakers::Credential::parse_ccs(&creds.own_cred).map_err(|e| failed(e, "own_cred"))?;
        initiator.set_identity(creds.private_key, own);
        let c_i = lakers::ConnId::from_slice(&[c_i_byte])
            .ok_or_else(|| OscoreError::Edhoc("no connection identifier".into()))?;
        let ead_1 = Some(lakers::EADItem {
            label: EAD_CRED_BY_VALUE,
            is_critical: false,
            value: None,
        });
        let (wait_2, message_1) = initiator
            .prepare_message_1(Some(c_i), &ead_1)
            .map_err(|e| failed(e, "preparing message 1"))?;
        // RFC 9528 appendix A.2: `true` stands for "no C_R yet", then message 1.
        let mut payload = alloc::vec![0xf5];
        payload.extend_from_slice(message_1.as_slice());
        let request = Message {
            code: code::POST,
            options: alloc::vec![
                (opt::URI_PATH, b".well-known".to_vec()),
                (opt::URI_PATH, b"edhoc".to_vec()),
            ],
            payload,
            ..Default::default()
        };
        let state = Initiator {
            wait_2,
            c_i,
            own_by_value: creds.own_by_value,
            peer: creds.peer.clone(),
        };
        Ok((state, request))
    }

    /// Message 2 in `reply`: checks the server's credential, makes message 3 and the OSCORE
    /// context.
    pub(crate) fn finish(self, reply: &Message) -> Result<Session, OscoreError> {
        if reply.code != code::CHANGED {
            return Err(OscoreError::Message1Refused {
                code: reply.code,
                payload: reply.payload.clone(),
            });
        }
        let message_2 =
            lakers::EdhocMessageBuffer::new_from_slice(&reply.payload).map_err(|_| {
                OscoreError::Edhoc(format!(
                    "message 2 is too long ({} bytes)",
                    reply.payload.len()
                ))
            })?;
        let (processing, c_r, id_cred_r, _ead_2) = self
            .wait_2
            .parse_message_2(&message_2)
            .map_err(|e| failed(e, "message 2 does not parse"))?;
        let expected = match &self.peer {
            PeerCred::Pinned(ccs) => {
                Some(lakers::Credential::parse_ccs(ccs).map_err(|e| failed(e, "peer_cred"))?)
            }
            PeerCred::Unauthenticated => None,
        };
        let cred_r =
            lakers::credential_check_or_fetch(expected, id_cred_r).map_err(|e| match e {
                lakers::EDHOCError::UnexpectedCredential => OscoreError::UnexpectedCredential {
                    by_value: id_cred_r.get_ccs().map(|c| c.bytes.as_slice().to_vec()),
                    reference: id_cred_r.as_full_value().to_vec(),
                },
                e if id_cred_r.reference_only() => {
                    OscoreError::CredentialByReference(format!("{e:?}"))
                }
                e => failed(e, "its credential is not usable"),
            })?;
        let processed = processing
            .verify_message_2(cred_r)
            .map_err(|e| failed(e, "message 2 does not verify with the device's credential"))?;
        let transfer = if self.own_by_value {
            lakers::CredentialTransfer::ByValue
        } else {
            lakers::CredentialTransfer::ByReference
        };
        let (wait_4, message_3, _prk_out) = processed
            .prepare_message_3(transfer, &None)
            .map_err(|e| failed(e, "preparing message 3"))?;
        let mut done = wait_4
            .completed_without_message_4()
            .map_err(|e| failed(e, "completing"))?;
        // RFC 9528 appendix A.1: the OSCORE master secret and salt; our sender ID is the
        // server's C_R.
        let secret = done.edhoc_exporter(0, &[], 16);
        let salt = done.edhoc_exporter(1, &[], 8);
        let immutables = liboscore::PrimitiveImmutables::derive(
            liboscore::HkdfAlg::from_number(HKDF_SHA256).map_err(|e| failed(e, "OSCORE HKDF"))?,
            &secret[..16],
            &salt[..8],
            None,
            liboscore::AeadAlg::from_number(AES_CCM_16_64_128)
                .map_err(|e| failed(e, "OSCORE AEAD"))?,
            c_r.as_slice(),
            self.c_i.as_slice(),
        )
        .map_err(|e| failed(e, "deriving the OSCORE context"))?;
        Ok(Session::new(
            liboscore::PrimitiveContext::new_from_fresh_material(immutables),
            Some(message_3.as_slice().to_vec()),
        ))
    }
}
