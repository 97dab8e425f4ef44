//! EDHOC and OSCORE for the CLI's CoAP client (`--credentials`), against a device running Ariel
//! OS's `coapcore` (`trevm serve --policy peers.yml`).
//!
//! - [`handshake`]: EDHOC as initiator (`lakers`, method 3, cipher suite 2): message 1 is POSTed to
//!   `/.well-known/edhoc` asking the device to send its credential by value (EAD 15), which is
//!   then checked against `peer_cred`; message 3 is kept for the first OSCORE request.
//! - [`Session::protect`] / [`Session::unprotect`]: OSCORE (`liboscore`, the context EDHOC's
//!   exporter yields, RFC 9528 appendix A.1). The client builds plain requests (code, Uri-Path,
//!   Block1/Block2, payload) as before; they become the *inner* message, and the outer one carries
//!   only the OSCORE option (and an outer POST/FETCH code). Block-wise transfer is therefore inside
//!   OSCORE (class E options): each block is its own protected request with its own sequence
//!   number, as aiocoap does it.
//! - The first protected request is the EDHOC + OSCORE combined request (RFC 9668): it carries
//!   the empty EDHOC option and `message_3 ‖ ciphertext` as its payload; coapcore does not take
//!   message 3 on `/.well-known/edhoc`.
//!
//! Retransmissions resend the same protected bytes, so they reuse the sequence number, as RFC 8613
//! wants.

use anyhow::{Result, anyhow, bail};
use coap_message::MinimalWritableMessage as _;
use coap_message_implementations::inmemory_write;
use trevm_coap::Message;
use trevm_coap::message::{code, encode_options_payload, opt, parse_options_payload};

use crate::credentials::{EdhocCredentials, PeerCred};

/// The OSCORE option (RFC 8613).
const OPT_OSCORE: u16 = 9;
/// The EDHOC option (RFC 9668): marks the combined EDHOC + OSCORE request.
const OPT_EDHOC: u16 = 21;
/// Room for one protected request: the largest inner message (a 1024-byte block and its options)
/// plus OSCORE's option and tag.
const PROTECTED_BUF: usize = 2048;
/// EDHOC's identifier for "please send your credential by value" (EAD item, RFC 9528 / lakers).
const EAD_CRED_BY_VALUE: u16 = 15;
/// OSCORE algorithms of EDHOC cipher suite 2: HKDF-SHA-256 (5) and AES-CCM-16-64-128 (10).
const HKDF_SHA256: i32 = 5;
const AES_CCM_16_64_128: i32 = 10;

/// An OSCORE security context with the device, made by EDHOC.
pub struct Session {
    ctx: liboscore::PrimitiveContext,
    /// EDHOC message 3 (already a CBOR byte string), for the first protected request.
    message_3: Option<Vec<u8>>,
}

/// What a protected request needs to unprotect its response.
pub struct Correlation {
    id: liboscore::raw::oscore_requestid_t,
    /// Whether the request carried EDHOC message 3.
    combined: bool,
}

/// Runs EDHOC with the device: `exchange` sends one plain request and returns its response.
/// `authority` names the device in messages.
pub fn handshake(
    creds: &EdhocCredentials,
    authority: &str,
    exchange: impl FnOnce(Message) -> Result<Message>,
) -> Result<Session> {
    let failed = |what: String| anyhow!("EDHOC with {authority} failed: {what}");
    let crypto = lakers_crypto_rustcrypto::Crypto::new(os_rng()?);
    let mut initiator = lakers::EdhocInitiator::new(
        crypto,
        lakers::EDHOCMethod::StatStat,
        lakers::EDHOCSuite::CipherSuite2,
    );
    let own = lakers::Credential::parse_ccs(&creds.own_cred)
        .map_err(|e| failed(format!("own_cred: {e:?}")))?;
    initiator.set_identity(creds.private_key, own);
    // A one-byte connection identifier (a CBOR integer 0..=23); it is our OSCORE recipient ID.
    let mut byte = [0u8; 1];
    getrandom::fill(&mut byte).map_err(|e| anyhow!("no randomness from the OS: {e}"))?;
    let c_i = lakers::ConnId::from_slice(&[byte[0] % 24])
        .ok_or_else(|| failed("no connection identifier".into()))?;
    let ead_1 = Some(lakers::EADItem {
        label: EAD_CRED_BY_VALUE,
        is_critical: false,
        value: None,
    });
    let (wait_2, message_1) = initiator
        .prepare_message_1(Some(c_i), &ead_1)
        .map_err(|e| failed(format!("preparing message 1: {e:?}")))?;

    // RFC 9528 appendix A.2: `true` stands for "no C_R yet", then message 1.
    let mut payload = vec![0xf5];
    payload.extend_from_slice(message_1.as_slice());
    let request = Message {
        code: code::POST,
        options: vec![
            (opt::URI_PATH, b".well-known".to_vec()),
            (opt::URI_PATH, b"edhoc".to_vec()),
        ],
        payload,
        ..Default::default()
    };
    let reply = exchange(request)?;
    if reply.code != code::CHANGED {
        let mut answer = code::dotted(reply.code);
        let name = code::name(reply.code);
        if !name.is_empty() {
            answer = format!("{answer} {name}");
        }
        if !reply.payload.is_empty() && reply.payload.is_ascii() {
            answer = format!("{answer}: {}", String::from_utf8_lossy(&reply.payload));
        }
        return Err(failed(format!(
            "the device answered message 1 with {answer} (does it run with --policy?)"
        )));
    }
    let message_2 = lakers::EdhocMessageBuffer::new_from_slice(&reply.payload).map_err(|_| {
        failed(format!(
            "message 2 is too long ({} bytes)",
            reply.payload.len()
        ))
    })?;
    let (processing, c_r, id_cred_r, _ead_2) = wait_2
        .parse_message_2(&message_2)
        .map_err(|e| failed(format!("message 2 does not parse: {e:?}")))?;

    let expected = match &creds.peer {
        PeerCred::Pinned(ccs) => Some(
            lakers::Credential::parse_ccs(ccs).map_err(|e| failed(format!("peer_cred: {e:?}")))?,
        ),
        PeerCred::Unauthenticated => None,
    };
    let cred_r = lakers::credential_check_or_fetch(expected, id_cred_r).map_err(|e| match e {
        lakers::EDHOCError::UnexpectedCredential => anyhow!(
            "the server's identity did not match: {authority} presented {}, but peer_cred of \
             \"{}\" pins another credential (is it the device you meant, or was it reset?)",
            presented(&id_cred_r),
            creds.pattern
        ),
        e if id_cred_r.reference_only() => failed(format!(
            "the device sent only a reference to its credential ({e:?}); \
             {{\"unauthenticated\": true}} needs it by value"
        )),
        e => failed(format!("its credential is not usable: {e:?}")),
    })?;
    let processed = processing.verify_message_2(cred_r).map_err(|e| {
        failed(format!(
            "message 2 does not verify with the device's credential ({e:?})"
        ))
    })?;
    let transfer = if creds.own_by_value {
        lakers::CredentialTransfer::ByValue
    } else {
        lakers::CredentialTransfer::ByReference
    };
    let (wait_4, message_3, _prk_out) = processed
        .prepare_message_3(transfer, &None)
        .map_err(|e| failed(format!("preparing message 3: {e:?}")))?;
    let mut done = wait_4
        .completed_without_message_4()
        .map_err(|e| failed(format!("{e:?}")))?;

    // RFC 9528 appendix A.1: the OSCORE master secret and salt; our sender ID is the device's C_R.
    let secret = done.edhoc_exporter(0, &[], 16);
    let salt = done.edhoc_exporter(1, &[], 8);
    let algorithm = |e| failed(format!("OSCORE algorithm: {e:?}"));
    let immutables = liboscore::PrimitiveImmutables::derive(
        liboscore::HkdfAlg::from_number(HKDF_SHA256).map_err(algorithm)?,
        &secret[..16],
        &salt[..8],
        None,
        liboscore::AeadAlg::from_number(AES_CCM_16_64_128).map_err(algorithm)?,
        c_r.as_slice(),
        c_i.as_slice(),
    )
    .map_err(|e| failed(format!("deriving the OSCORE context: {e:?}")))?;
    Ok(Session {
        ctx: liboscore::PrimitiveContext::new_from_fresh_material(immutables),
        message_3: Some(message_3.as_slice().to_vec()),
    })
}

/// The device's credential as it sent it, for messages: diagnostic notation if by value.
fn presented(id_cred: &lakers::IdCred) -> String {
    match id_cred.get_ccs() {
        Some(cred) => cbor_edn::StandaloneItem::from_cbor(cred.bytes.as_slice())
            .map(|item| item.serialize())
            .unwrap_or_else(|_| hex(cred.bytes.as_slice())),
        None => format!(
            "a credential by reference ({})",
            hex(id_cred.as_full_value())
        ),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// lakers' RustCrypto provider wants a rand_core 0.6 RNG: ChaCha20 seeded by the OS.
fn os_rng() -> Result<rand_chacha::ChaCha20Rng> {
    use rand_chacha::rand_core::SeedableRng as _;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow!("no randomness from the OS: {e}"))?;
    Ok(rand_chacha::ChaCha20Rng::from_seed(seed))
}

impl Session {
    /// Protects `inner` (its code, options and payload; type, id and token are the outer
    /// message's business). The first call makes the combined EDHOC + OSCORE request.
    pub fn protect(&mut self, inner: &Message) -> Result<(Message, Correlation)> {
        // liboscore wants options in ascending order.
        let mut options = inner.options.clone();
        options.sort_by_key(|(n, _)| *n);
        let mut buf = vec![0u8; PROTECTED_BUF];
        let mut outer_code = 0u8;
        let mut msg = inmemory_write::Message::new(&mut outer_code, &mut buf);
        let (correlation, written) = liboscore::protect_request(&mut msg, &mut self.ctx, |m| {
            m.set_code(inner.code);
            for (number, value) in &options {
                m.add_option(*number, value)
                    .map_err(|e| format!("option {number}: {e:?}"))?;
            }
            if !inner.payload.is_empty() {
                m.set_payload(&inner.payload)
                    .map_err(|e| format!("payload: {e:?}"))?;
            }
            Ok::<(), String>(())
        })
        .map_err(|e| anyhow!("cannot protect the request with OSCORE: {e:?}"))?;
        written.map_err(|e| anyhow!("the request does not fit an OSCORE message: {e}"))?;
        let len = msg.finish();
        let (mut options, mut payload) = parse_options_payload(&buf[..len])
            .map_err(|e| anyhow!("liboscore wrote a malformed message: {e}"))?;
        let combined = self.message_3.is_some();
        if let Some(message_3) = self.message_3.take() {
            options.push((OPT_EDHOC, Vec::new()));
            payload = [message_3, payload].concat();
        }
        let outer = Message {
            code: outer_code,
            options,
            payload,
            ..Default::default()
        };
        let correlation = Correlation {
            id: correlation,
            combined,
        };
        Ok((outer, correlation))
    }

    /// Unprotects the response to a request [`Session::protect`]ed with `correlation`. An
    /// unprotected error (4.xx, 5.xx: the device could not or would not use the context, e.g. an
    /// unknown client) is passed on as it is, without options; an unprotected success is refused,
    /// and so is any unprotected answer to EDHOC message 3 (the handshake failed).
    pub fn unprotect(&mut self, outer: Message, correlation: &mut Correlation) -> Result<Message> {
        let Some(option) = outer.option(OPT_OSCORE).map(<[u8]>::to_vec) else {
            if correlation.combined {
                let mut answer = code::dotted(outer.code);
                let name = code::name(outer.code);
                if !name.is_empty() {
                    answer = format!("{answer} {name}");
                }
                bail!(
                    "EDHOC failed: the device refused message 3 with {answer} (does its peers.yml \
                     know own_cred? \"by-key-id\" needs that; with \"by-value\" an unknown \
                     client gets the unauthenticated scope)"
                );
            }
            if outer.code >> 5 >= 4 {
                return Ok(Message {
                    code: outer.code,
                    payload: outer.payload,
                    ..Default::default()
                });
            }
            bail!(
                "the device answered {} without OSCORE protection; refusing it",
                code::dotted(outer.code)
            );
        };
        let option = liboscore::OscoreOption::parse(&option)
            .map_err(|_| anyhow!("the response's OSCORE option is not understood"))?;
        let mut outer_code = outer.code;
        let mut tail = encode_options_payload(&outer.options, &outer.payload);
        let mut msg = inmemory_write::Message::new_from_existing(&mut outer_code, &mut tail);
        let inner = liboscore::unprotect_response(
            &mut msg,
            &mut self.ctx,
            option,
            &mut correlation.id,
            trevm_coap::secure::copy_message,
        )
        .map_err(|e| anyhow!("the device's response does not decrypt ({e:?})"))?;
        if inner.options.iter().any(|(n, _)| *n == u16::MAX) {
            bail!("the device's response has malformed options inside OSCORE");
        }
        Ok(inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both ends of one OSCORE context: the client's [`Session`] and the device's context.
    fn pair() -> (Session, liboscore::PrimitiveContext) {
        let derive = |sender: &[u8], recipient: &[u8]| {
            liboscore::PrimitiveImmutables::derive(
                liboscore::HkdfAlg::from_number(HKDF_SHA256).unwrap(),
                &[7; 16],
                &[9; 8],
                None,
                liboscore::AeadAlg::from_number(AES_CCM_16_64_128).unwrap(),
                sender,
                recipient,
            )
            .unwrap()
        };
        let client = Session {
            ctx: liboscore::PrimitiveContext::new_from_fresh_material(derive(b"\x01", b"\x0a")),
            // A stand-in message 3, a CBOR byte string as lakers makes it.
            message_3: Some(b"\x43m_3".to_vec()),
        };
        let device = liboscore::PrimitiveContext::new_from_fresh_material(derive(b"\x0a", b"\x01"));
        (client, device)
    }

    /// What the device does with one protected request: returns the inner request it decrypted
    /// and the protected response carrying `response` (code, options, payload).
    fn device_answers(
        device: &mut liboscore::PrimitiveContext,
        outer: &Message,
        response: &Message,
    ) -> (Message, Message) {
        let option = outer.option(OPT_OSCORE).expect("an OSCORE option").to_vec();
        let option = liboscore::OscoreOption::parse(&option).unwrap();
        let mut code = outer.code;
        let mut tail = encode_options_payload(&outer.options, &outer.payload);
        let mut msg = inmemory_write::Message::new_from_existing(&mut code, &mut tail);
        let (mut correlation, inner) =
            liboscore::unprotect_request(&mut msg, option, device, |m| {
                trevm_coap::secure::copy_message(m)
            })
            .expect("the device decrypts the request");
        let mut buf = vec![0u8; PROTECTED_BUF];
        let mut code = 0u8;
        let mut msg = inmemory_write::Message::new(&mut code, &mut buf);
        liboscore::protect_response(&mut msg, device, &mut correlation, |m| {
            m.set_code(response.code);
            for (n, v) in &response.options {
                m.add_option(*n, v).unwrap();
            }
            m.set_payload(&response.payload).unwrap();
        })
        .expect("protect the response");
        let len = msg.finish();
        let (options, payload) = parse_options_payload(&buf[..len]).unwrap();
        let reply = Message {
            code,
            options,
            payload,
            ..Default::default()
        };
        (inner, reply)
    }

    #[test]
    fn block_options_travel_inside_oscore_and_message_3_rides_on_the_first_request() {
        let (mut client, mut device) = pair();
        let mut request = Message {
            code: code::GET,
            ..Default::default()
        };
        request.add_uint_option(opt::BLOCK2, 0x06);
        request
            .options
            .insert(0, (opt::URI_PATH, b"sandbox".to_vec()));
        let (mut outer, mut correlation) = client.protect(&request).unwrap();
        // Outside: only OSCORE and EDHOC; an outer FETCH/POST, never the real GET.
        let numbers: Vec<u16> = outer.options.iter().map(|(n, _)| *n).collect();
        assert_eq!(numbers, [OPT_OSCORE, OPT_EDHOC]);
        assert_ne!(outer.code, code::GET);
        assert!(outer.payload.starts_with(b"\x43m_3"));
        // The device takes message 3 off, as coapcore does, and answers one block of many.
        outer.payload.drain(..4);
        outer.options.retain(|(n, _)| *n != OPT_EDHOC);
        let mut response = Message {
            code: code::CONTENT,
            payload: vec![0x5a; 1024],
            ..Default::default()
        };
        response.add_uint_option(opt::BLOCK2, 0x0e);
        let (inner, reply) = device_answers(&mut device, &outer, &response);
        assert_eq!(inner.code, code::GET);
        assert_eq!(inner.path(), Some(vec!["sandbox"]));
        assert_eq!(inner.uint_option(opt::BLOCK2), Some(0x06));
        assert!(reply.option(opt::BLOCK2).is_none(), "Block2 is inner only");
        let got = client.unprotect(reply, &mut correlation).unwrap();
        assert_eq!(got.code, code::CONTENT);
        assert_eq!(got.uint_option(opt::BLOCK2), Some(0x0e));
        assert_eq!(got.payload, response.payload);

        // The next request is plain OSCORE, with a new sequence number.
        let (second, _) = client.protect(&request).unwrap();
        assert!(second.option(OPT_EDHOC).is_none());
        assert_ne!(second.option(OPT_OSCORE), outer.option(OPT_OSCORE));
    }

    #[test]
    fn unprotected_answers_are_errors_or_refused() {
        let (mut client, _device) = pair();
        let request = Message {
            code: code::GET,
            ..Default::default()
        };
        let plain = |code| Message {
            code,
            payload: b"no".to_vec(),
            ..Default::default()
        };
        // To message 3: the handshake failed.
        let (_, mut c) = client.protect(&request).unwrap();
        let e = client
            .unprotect(plain(code::BAD_REQUEST), &mut c)
            .unwrap_err();
        assert!(e.to_string().contains("refused message 3"), "{e}");
        // Later: an error passes, a success does not.
        let (_, mut c) = client.protect(&request).unwrap();
        let m = client.unprotect(plain(code::UNAUTHORIZED), &mut c).unwrap();
        assert_eq!(m.code, code::UNAUTHORIZED);
        let (_, mut c) = client.protect(&request).unwrap();
        let e = client.unprotect(plain(code::CONTENT), &mut c).unwrap_err();
        assert!(e.to_string().contains("without OSCORE protection"), "{e}");
    }
}

/// Against the device's real security layer (trevm-coap's `Security`, coapcore), in process: a
/// replayed protected request is refused, not executed again.
#[cfg(test)]
mod against_the_device {
    use super::*;
    use trevm_coap::secure::{Identity, Peer, Policy, Scope};
    use trevm_coap::server::{Handled, Request, Resources, Response};
    use trevm_coap::{MsgType, Security, Server, ServerLimits};

    /// Counts the requests that reach it; answers "hi".
    struct Counter(u32);

    impl Resources for Counter {
        fn handle(&mut self, _request: Request<'_>) -> Handled {
            self.0 += 1;
            Response::text(code::CONTENT, "hi").into()
        }
        fn links(&self) -> Vec<String> {
            Vec::new()
        }
    }

    struct Rng(rand_chacha::ChaCha20Rng);
    impl rand_core::RngCore for Rng {
        fn next_u32(&mut self) -> u32 {
            rand_chacha::rand_core::RngCore::next_u32(&mut self.0)
        }
        fn next_u64(&mut self) -> u64 {
            rand_chacha::rand_core::RngCore::next_u64(&mut self.0)
        }
        fn fill_bytes(&mut self, dst: &mut [u8]) {
            rand_chacha::rand_core::RngCore::fill_bytes(&mut self.0, dst)
        }
    }
    impl rand_core::CryptoRng for Rng {}

    /// A client key pair and its CCS (`{8: {1: {1: 2, 2: h'2b', -1: 1, -2: x}}}`).
    fn client_key() -> ([u8; 32], Vec<u8>) {
        let secret = p256::SecretKey::random(&mut rand_core06::OsRng);
        let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
            &secret.public_key(),
            false,
        );
        let mut ccs = vec![
            0xa1, 0x08, 0xa1, 0x01, 0xa4, 0x01, 0x02, 0x02, 0x41, 0x2b, 0x20, 0x01, 0x21, 0x58,
            0x20,
        ];
        ccs.extend_from_slice(point.x().expect("x"));
        (secret.to_bytes().into(), ccs)
    }

    #[test]
    fn a_replayed_protected_request_is_refused_and_not_run_again() {
        let (private_key, ccs) = client_key();
        let policy = Policy {
            unauthenticated: None,
            peers: vec![Peer {
                ccs: ccs.clone(),
                scope: Scope::AllowAll,
            }],
        };
        let identity = Identity::generate(&mut Rng(os_rng().unwrap()));
        let security =
            Security::new(identity, &policy, Box::new(Rng(os_rng().unwrap()))).expect("security");
        let mut device = Server::new(Counter(0), ServerLimits::default()).with_security(security);
        let mut mid = 0u16;
        let mut send = |device: &mut Server<&'static str, Counter, Security<&'static str>>,
                        m: &Message|
         -> Message {
            mid += 1;
            let mut m = m.clone();
            m.ty = MsgType::Con;
            m.mid = mid;
            m.token = mid.to_be_bytes().to_vec();
            let reply = futures_executor::block_on(device.handle(&"client", &m.encode(), 0))
                .expect("a reply");
            Message::parse(&reply).expect("a well-formed reply")
        };
        let creds = EdhocCredentials {
            pattern: "coap://device/*".into(),
            own_cred: ccs,
            own_by_value: false,
            private_key,
            peer: PeerCred::Unauthenticated,
        };
        let mut session =
            handshake(&creds, "device", |m| Ok(send(&mut device, &m))).expect("EDHOC");
        let get = Message {
            code: code::GET,
            options: vec![(opt::URI_PATH, b"x".to_vec())],
            ..Default::default()
        };
        let (outer, mut correlation) = session.protect(&get).unwrap();
        let reply = send(&mut device, &outer);
        let inner = session
            .unprotect(reply, &mut correlation)
            .expect("protected answer");
        assert_eq!(
            (inner.code, inner.payload.as_slice()),
            (code::CONTENT, &b"hi"[..])
        );
        assert_eq!(device.resources.0, 1);
        // The same protected request again, under a new message ID (so it is not a mere
        // retransmission): OSCORE's replay window refuses it, the resource does not run again.
        let replay = send(&mut device, &outer);
        assert!(replay.code >= 0x80, "replay answered {:#x}", replay.code);
        assert_eq!(
            device.resources.0, 1,
            "the replayed request reached the resources"
        );
        // A fresh request still works.
        let (outer, mut correlation) = session.protect(&get).unwrap();
        let reply = send(&mut device, &outer);
        let inner = session
            .unprotect(reply, &mut correlation)
            .expect("protected answer");
        assert_eq!(inner.code, code::CONTENT);
        assert_eq!(device.resources.0, 2);
    }
}
