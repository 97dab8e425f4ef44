//! The security layer in front of a device, in process: what strangers and hostile bytes get, and
//! that none of it touches an installed capsule. Property-based: garbage datagrams, garbage EDHOC
//! messages and garbage OSCORE requests (bounded in count: `TREVM_FUZZ_CASES`, default 300).

use std::path::PathBuf;
use std::sync::OnceLock;

use proptest::prelude::*;
use trevm::{EngineProfile, Runtime, RuntimeOptions, TrustPolicy};
use trevm_coap::message::code;
use trevm_coap::secure::{Identity, Policy, Scope};
use trevm_coap::{Message, Security, Server, ServerLimits};
use trevm_slots::{Device, Sandbox, SandboxLimits};
// The embassy-time driver that the runtime's timeouts need on the host: the native board's clock.
use trevm_native as _;

type Peer = &'static str;

fn key() -> &'static trevm_sign::SigningKey {
    static KEY: OnceLock<trevm_sign::SigningKey> = OnceLock::new();
    KEY.get_or_init(trevm_sign::SigningKey::generate)
}

fn hello() -> &'static [u8] {
    static CAPSULE: OnceLock<Vec<u8>> = OnceLock::new();
    CAPSULE.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let opts = trevm_build::BuildOptions {
            quiet: true,
            signing: trevm_build::Signing::Unsigned,
            ..Default::default()
        };
        let unsigned = trevm_build::build(&root.join("payloads/sandbox"), &opts)
            .expect("build")
            .capsule;
        trevm_sign::sign(&unsigned, key(), Some(1), None).expect("sign")
    })
}

struct Rng(u64);
impl rand_core::RngCore for Rng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        // xorshift: deterministic, good enough for a test device's key.
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for b in dst {
            *b = self.next_u64() as u8;
        }
    }
}
impl rand_core::CryptoRng for Rng {}

/// A device behind the security layer with `policy`.
fn device(policy: &Policy) -> Server<Peer, Device, Security<Peer>> {
    let runtime = Runtime::new(
        EngineProfile::for_this_machine(),
        RuntimeOptions::host().with_grants(Sandbox::GRANTS),
    )
    .expect("runtime");
    let trust = TrustPolicy::new().trust(key().trusted("the test key"));
    let device = Device {
        sandbox: Sandbox::new(runtime, SandboxLimits::default(), trust),
        persistent: None,
        ephemeral: None,
        memory: None,
        logs: None,
    };
    let identity = Identity::generate(&mut Rng(0x9e37_79b9_7f4a_7c15));
    let security = Security::new(identity, policy, Box::new(Rng(42))).expect("security");
    Server::new(device, ServerLimits::default()).with_security(security)
}

fn request(mid: u16, c: u8, path: &str, payload: &[u8]) -> Message {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut m = Message::request(c, mid, &segments);
    m.payload = payload.to_vec();
    m
}

fn send(s: &mut Server<Peer, Device, Security<Peer>>, m: &Message) -> Message {
    let reply = futures_executor::block_on(s.handle(&"peer", &m.encode(), 0)).expect("a reply");
    Message::parse(&reply).expect("a well-formed reply")
}

#[test]
fn by_default_strangers_may_only_list() {
    let mut s = device(&Policy::default());
    let r = send(&mut s, &request(1, code::GET, "/.well-known/core", b""));
    assert_eq!(r.code, code::CONTENT);
    for (c, path) in [
        (code::PUT, "/sandbox/x"),
        (code::GET, "/sandbox/x"),
        (code::DELETE, "/sandbox/x"),
        (code::PUT, "/vm-control"),
        (code::GET, "/sandbox"),
    ] {
        let r = send(&mut s, &request(2, c, path, b"bytes"));
        assert_eq!(r.code, code::UNAUTHORIZED, "{path}");
    }
}

fn cases() -> u32 {
    std::env::var("TREVM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(|n: u32| n / 30)
        .unwrap_or(300)
        .max(1)
}

/// An open device (plain CoAP allowed) with `hello` installed; the security layer still parses
/// every EDHOC and OSCORE request.
fn open_device_with_hello() -> Server<Peer, Device, Security<Peer>> {
    let mut s = device(&Policy {
        unauthenticated: Some(Scope::AllowAll),
        peers: Vec::new(),
    });
    let r = send(&mut s, &request(1, code::PUT, "/sandbox/hello", hello()));
    assert_eq!(
        r.code,
        code::CREATED,
        "{}",
        String::from_utf8_lossy(&r.payload)
    );
    s
}

fn still_says_hello(s: &mut Server<Peer, Device, Security<Peer>>) {
    let r = send(s, &request(9, code::GET, "/sandbox/hello", b""));
    assert_eq!(r.payload, b"Hello from the sandbox!");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn garbage_edhoc_and_oscore_get_errors_and_touch_nothing(
        edhoc in proptest::collection::vec(any::<u8>(), 0..200),
        oscore_opt in proptest::collection::vec(any::<u8>(), 0..12),
        oscore_body in proptest::collection::vec(any::<u8>(), 0..200),
        with_edhoc_option in any::<bool>(),
        raw in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut s = open_device_with_hello();
        // An EDHOC message 1 that is not one: an EDHOC error (4.00), never a crash.
        let r = send(&mut s, &request(2, code::POST, "/.well-known/edhoc", &edhoc));
        prop_assert!(r.code >= 0x80, "code {:#x}", r.code);
        // An OSCORE request with a garbage option and ciphertext (optionally claiming to carry
        // EDHOC message 3): refused.
        let mut m = request(3, code::POST, "", &oscore_body);
        m.options.push((9, oscore_opt.clone()));
        if with_edhoc_option {
            m.options.push((21, Vec::new()));
        }
        m.options.sort_by_key(|(n, _)| *n);
        let r = send(&mut s, &m);
        prop_assert!(r.code >= 0x80, "code {:#x}", r.code);
        // Raw bytes after a CON header: whatever they are, an answer or silence.
        let mut dgram = vec![0x40, code::POST, 0x12, 0x34];
        dgram.extend_from_slice(&raw);
        let _ = futures_executor::block_on(s.handle(&"peer", &dgram, 0));
        still_says_hello(&mut s);
    }
}

#[test]
fn a_refused_upload_leaves_the_installed_capsule_alone() {
    let mut s = open_device_with_hello();
    // A replacement attempt protected with an OSCORE context the device never made: refused, and
    // the installed capsule still answers.
    let mut m = request(4, code::PUT, "", b"\x00forged ciphertext");
    m.options.push((9, vec![0x09, 0x01, 0x2b]));
    let r = send(&mut s, &m);
    assert!(r.code >= 0x80, "{:#x}", r.code);
    still_says_hello(&mut s);
}
