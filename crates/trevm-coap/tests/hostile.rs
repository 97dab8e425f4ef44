//! Structure-aware fuzzing of the security layer, in process: *well-formed* EDHOC messages and
//! OSCORE requests with hostile fields, and whole handshakes (driven by lakers as initiator and
//! liboscore, as real clients are) with a random deviation at each step. Garbage fails CBOR
//! decoding long before it reaches the key exchange; these get as far as the libraries go.
//!
//! Each case runs against one long-lived device that an authenticated client (the "admin") also
//! talks to. After every case: nothing panicked, the admin's next protected request is answered,
//! and the heap has not grown beyond what the device's bounded caches hold. Honest handshakes must
//! succeed (so the screening in front of the libraries refuses nothing a real client sends).
//!
//! Cases: `TREVM_FUZZ_CASES` (default 300; `docs/coap-security.md` records what CI runs).
//! Every datagram a case sends can be written out (`TREVM_FUZZ_RECORD=FILE`, hex, one a line),
//! and `tests/corpus/security.txt` is replayed first: inputs that once crashed the device stay
//! regression cases, here and against `trevm serve` over UDP (the CLI's tests).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::RefCell;
use std::io::Write as _;
use std::sync::atomic::Ordering;

use lakers::CryptoTrait as _;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rand_chacha::rand_core::SeedableRng as _;
use trevm_coap::client::oscore::{OPT_EDHOC, OPT_OSCORE, Session};
use trevm_coap::message::code;
use trevm_coap::secure::{Identity, Peer, Policy, Rule, Scope, methods};
use trevm_coap::server::{Handled, Received, Request, Resources, Response, Run};
use trevm_coap::{Message, MsgType, Security, Server, ServerLimits};

/// Counts the bytes live on the heap, to see that hostile input leaves no state behind. Per
/// thread: the tests of this file run side by side, and the device lives in one thread.
struct Counting;

thread_local! {
    static LIVE: std::cell::Cell<isize> = const { std::cell::Cell::new(0) };
}

fn count(delta: isize) {
    // `try_with`: nothing to count while the thread's locals are torn down.
    let _ = LIVE.try_with(|live| live.set(live.get() + delta));
}

// SAFETY: every call is forwarded to the system allocator with the same arguments; the counter
// only adds and subtracts the sizes (in a thread-local `Cell` that needs no allocation), it
// never touches the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        // SAFETY: `ptr` came from `System.alloc` with this `layout` (above).
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// How far the cases got: message 2 received, message 3 sent, message 3's request answered "hi".
static REACHED: [std::sync::atomic::AtomicU32; 3] =
    [const { std::sync::atomic::AtomicU32::new(0) }; 3];

fn reached(step: usize) {
    REACHED[step].fetch_add(1, Ordering::Relaxed);
}

/// The resources behind the security layer: `GET /hello` answers "hi"; `GET /slow` answers
/// after a run (which a test awaits when it chooses).
struct Hi;

impl Resources for Hi {
    fn handle(&mut self, request: Request<'_>) -> Handled {
        if request.path == ["hello"] {
            Response::text(code::CONTENT, "hi").into()
        } else if request.path == ["slow"] {
            Handled::Later(Run::new(async {
                Response::text(code::CONTENT, "for the admin only")
            }))
        } else {
            Response::text(code::NOT_FOUND, "no").into()
        }
    }
    fn links(&self) -> Vec<String> {
        vec!["</hello>".into()]
    }
    /// `/feed` is observable: its state is the thread's [`FEED`] counter.
    fn observe(&mut self, request: &Request<'_>) -> Option<(Response, u64)> {
        let n = FEED.with(|f| *f.borrow());
        (request.path == ["feed"]).then(|| (Response::text(code::CONTENT, n.to_string()), n))
    }
    fn notification(&mut self, _: &[String], cursor: u64) -> Option<(Response, u64)> {
        let n = FEED.with(|f| *f.borrow());
        (n > cursor).then(|| (Response::text(code::CONTENT, n.to_string()), n))
    }
}

thread_local! {
    /// The state of [`Hi`]'s observable `/feed`.
    static FEED: RefCell<u64> = const { RefCell::new(0) };
}

/// The device's RNG (rand_core 0.9) from a seed.
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

fn crypto(seed: u64) -> lakers_crypto_rustcrypto::Crypto<rand_chacha::ChaCha20Rng> {
    lakers_crypto_rustcrypto::Crypto::new(rand_chacha::ChaCha20Rng::seed_from_u64(seed))
}

/// A CCS `{2: "<sub>", 8: {1: {1: 2, 2: h'<kid>', -1: 1, -2: h'<x>'}}}` (sub only if not empty).
fn ccs(kid: &[u8], x: &[u8; 32], sub: usize) -> Vec<u8> {
    let mut c = vec![if sub > 0 { 0xa2 } else { 0xa1 }];
    if sub > 0 {
        c.push(0x02);
        c.extend(cbor_head(3, sub as u64));
        c.extend(std::iter::repeat_n(b's', sub));
    }
    c.extend([0x08, 0xa1, 0x01, 0xa4, 0x01, 0x02, 0x02]);
    c.extend(cbor_head(2, kid.len() as u64));
    c.extend_from_slice(kid);
    c.extend([0x20, 0x01, 0x21, 0x58, 0x20]);
    c.extend_from_slice(x);
    c
}

/// A CBOR head in its shortest form: major type and argument.
fn cbor_head(major: u8, n: u64) -> Vec<u8> {
    let m = major << 5;
    match n {
        0..=23 => vec![m | n as u8],
        24..=0xff => vec![m | 24, n as u8],
        0x100..=0xffff => [vec![m | 25], (n as u16).to_be_bytes().to_vec()].concat(),
        _ => [vec![m | 26], (n as u32).to_be_bytes().to_vec()].concat(),
    }
}

fn cbor_int(i: i64) -> Vec<u8> {
    if i >= 0 {
        cbor_head(0, i as u64)
    } else {
        cbor_head(1, (-1 - i) as u64)
    }
}

fn cbor_bytes(b: &[u8]) -> Vec<u8> {
    [cbor_head(2, b.len() as u64), b.to_vec()].concat()
}

/// A client's credentials: private key and CCS.
#[derive(Clone)]
struct Creds {
    private_key: [u8; 32],
    ccs: Vec<u8>,
}

fn creds(seed: u64, kid: &[u8], sub: usize) -> Creds {
    let (private_key, x) = crypto(seed).p256_generate_key_pair();
    Creds {
        private_key,
        ccs: ccs(kid, &x, sub),
    }
}

/// The device under test, the admin's credentials and the device's CCS.
struct Rig {
    server: Server<u32, Hi, Security<u32>>,
    device_ccs: Vec<u8>,
    admin: Creds,
    now_ms: u64,
    mid: u16,
    record: Option<std::fs::File>,
}

impl Rig {
    fn new() -> Rig {
        let admin = creds(1, &[0x2b], 0);
        let policy = Policy {
            // Strangers that send their credential by value may list the device.
            unauthenticated: Some(Scope::Rules(vec![Rule {
                path: "/.well-known/core".into(),
                methods: methods::GET,
            }])),
            peers: vec![Peer {
                ccs: admin.ccs.clone(),
                scope: Scope::AllowAll,
            }],
        };
        let identity = Identity::generate(&mut Rng(rand_chacha::ChaCha20Rng::seed_from_u64(2)));
        let device_ccs = identity.ccs();
        let security = Security::new(
            identity,
            &policy,
            Box::new(Rng(rand_chacha::ChaCha20Rng::seed_from_u64(3))),
        )
        .expect("security");
        let record = std::env::var_os("TREVM_FUZZ_RECORD")
            .map(|path| std::fs::File::create(path).expect("TREVM_FUZZ_RECORD"));
        Rig {
            server: Server::new(Hi, ServerLimits::default()).with_security(security),
            device_ccs,
            admin,
            now_ms: 0,
            mid: 0,
            record,
        }
    }

    /// Sends one datagram from `peer`; the reply, if any.
    fn datagram(&mut self, peer: u32, bytes: &[u8]) -> Option<Message> {
        if let Some(f) = self.record.as_mut() {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            writeln!(f, "{hex}").expect("record");
        }
        let reply = futures_executor::block_on(self.server.handle(&peer, bytes, self.now_ms))?;
        Some(Message::parse(&reply).expect("a well-formed reply"))
    }

    /// Sends `m` as a new confirmable request from `peer`; its reply.
    fn send(&mut self, peer: u32, m: &Message) -> Message {
        self.mid = self.mid.wrapping_add(1);
        let mut m = m.clone();
        m.ty = MsgType::Con;
        m.mid = self.mid;
        m.token = self.mid.to_be_bytes().to_vec();
        self.datagram(peer, &m.encode())
            .expect("a reply to a request")
    }
}

fn post_edhoc(payload: Vec<u8>) -> Message {
    let mut m = Message::request(code::POST, 0, &[".well-known", "edhoc"]);
    m.payload = payload;
    m
}

fn get_hello() -> Message {
    Message::request(code::GET, 0, &["hello"])
}

/// How a handshake deviates from an honest one (`Honest` everywhere: it must succeed).
#[derive(Debug, Clone)]
enum Who {
    /// The admin (known by kid), sending its credential by reference or by value.
    Admin { by_value: bool },
    /// A stranger with a valid key and a CCS with a `sub` claim of this length, by value.
    Stranger { sub: usize },
    /// A stranger whose CCS has an x-coordinate that is not on P-256.
    OffCurve { x: [u8; 32] },
    /// A credential by reference to a kid nobody knows.
    UnknownKid { kid: Vec<u8> },
}

#[derive(Debug, Clone)]
enum M3 {
    Honest,
    /// One byte of message 3 flipped (head included).
    Flip {
        at: usize,
        bits: u8,
    },
    /// Cut to this length.
    Truncate(usize),
    /// Replaced by a byte string of random bytes of this length (its shortest head).
    Random(Vec<u8>),
    /// Its head in a longer encoding than needed (`0x59 0x00 n`).
    LongHead,
}

#[derive(Debug, Clone)]
enum Osc {
    Honest,
    /// The OSCORE option replaced by a well-formed layout with random fields.
    Option {
        flags: u8,
        piv: Vec<u8>,
        kid_context: Option<Vec<u8>>,
        kid: Vec<u8>,
    },
    /// The ciphertext replaced.
    Ciphertext(Vec<u8>),
}

#[derive(Debug, Clone)]
struct Handshake {
    seed: u64,
    who: Who,
    c_i: Vec<u8>,
    ead_1: Option<(u16, bool, Vec<u8>)>,
    ead_3: Option<(u16, bool, Vec<u8>)>,
    m3: M3,
    osc: Osc,
    /// A second protected request after the first, with its own deviation.
    then: Osc,
}

impl Handshake {
    /// A handshake by `who` with no deviation, its ephemeral key from `seed`.
    fn plain(seed: u64, who: Who, c_i: u8) -> Handshake {
        Handshake {
            seed,
            who,
            c_i: vec![c_i],
            ead_1: None,
            ead_3: None,
            m3: M3::Honest,
            osc: Osc::Honest,
            then: Osc::Honest,
        }
    }

    fn honest(&self) -> bool {
        matches!(self.who, Who::Admin { .. } | Who::Stranger { sub: 0..=40 })
            && self.c_i.len() <= 7
            && self.ead_1.is_none()
            && self.ead_3.is_none()
            && matches!(self.m3, M3::Honest)
            && matches!(self.osc, Osc::Honest)
    }
}

fn ead(label: u16, critical: bool, value: &[u8]) -> Option<lakers::EADItem> {
    Some(lakers::EADItem {
        label,
        is_critical: critical,
        value: (!value.is_empty())
            .then(|| lakers::EdhocMessageBuffer::new_from_slice(value).ok())
            .flatten(),
    })
}

fn deviate_option(m: &mut Message, osc: &Osc) {
    match osc {
        Osc::Honest => {}
        Osc::Option {
            flags,
            piv,
            kid_context,
            kid,
        } => {
            let mut v = vec![(flags & 0xe0) | (piv.len() as u8 & 7) | 0x08];
            v.extend_from_slice(piv);
            if let Some(c) = kid_context {
                v[0] |= 0x10;
                v.push(c.len() as u8);
                v.extend_from_slice(c);
            }
            v.extend_from_slice(kid);
            m.options.retain(|(n, _)| *n != OPT_OSCORE);
            m.options.push((OPT_OSCORE, v));
            m.options.sort_by_key(|(n, _)| *n);
        }
        Osc::Ciphertext(c) => m.payload = c.clone(),
    }
}

thread_local! {
    static IN_INITIATOR: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` (the test's own lakers initiator), `None` if it panicked; its panic message is not
/// printed (the device's panics still are, and fail the test).
fn initiator_may_panic<R>(f: impl FnOnce() -> R) -> Option<R> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_INITIATOR.with(|i| i.get()) {
                default(info);
            }
        }));
    });
    IN_INITIATOR.with(|i| i.set(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).ok();
    IN_INITIATOR.with(|i| i.set(false));
    r
}

/// Runs one handshake as `h` says, then a protected request; `peer` sends it all. Returns
/// whether the request was answered "hi" (protected), or `None` if the device was busy (5.03:
/// every security context belongs to an active known client).
fn handshake(rig: &mut Rig, peer: u32, h: &Handshake) -> Option<bool> {
    run_handshake(rig, peer, h).0
}

/// [`handshake`], also returning the client's session if one was made.
fn run_handshake(rig: &mut Rig, peer: u32, h: &Handshake) -> (Option<bool>, Option<Session>) {
    let (own, by_value) = match &h.who {
        Who::Admin { by_value } => (rig.admin.clone(), *by_value),
        Who::Stranger { sub } => (creds(h.seed, &[0x07], *sub), true),
        Who::OffCurve { x } => (
            Creds {
                private_key: creds(h.seed, &[], 0).private_key,
                ccs: ccs(&[0x07], x, 0),
            },
            true,
        ),
        Who::UnknownKid { kid } => (creds(h.seed, kid, 0), false),
    };
    let Ok(cred) = lakers::Credential::parse_ccs(&own.ccs) else {
        return (Some(false), None);
    };
    let mut initiator = lakers::EdhocInitiator::new(
        crypto(h.seed),
        lakers::EDHOCMethod::StatStat,
        lakers::EDHOCSuite::CipherSuite2,
    );
    initiator.set_identity(own.private_key, cred);
    let Some(c_i) = lakers::ConnId::from_slice(&h.c_i) else {
        return (Some(false), None);
    };
    let ead_1 = h.ead_1.as_ref().and_then(|(l, c, v)| ead(*l, *c, v));
    let Ok((wait_2, message_1)) = initiator.prepare_message_1(Some(c_i), &ead_1) else {
        return (Some(false), None);
    };
    let reply = rig.send(peer, &post_edhoc([&[0xf5], message_1.as_slice()].concat()));
    if reply.code == code::SERVICE_UNAVAILABLE {
        return (None, None);
    }
    if reply.code != code::CHANGED {
        return (Some(false), None);
    }
    reached(0);
    let Ok(message_2) = lakers::EdhocMessageBuffer::new_from_slice(&reply.payload) else {
        return (Some(false), None);
    };
    let (processing, c_r, id_cred_r, _) = wait_2.parse_message_2(&message_2).expect("message 2");
    let device = lakers::Credential::parse_ccs(&rig.device_ccs).expect("device CCS");
    let cred_r = lakers::credential_check_or_fetch(Some(device), id_cred_r).expect("device cred");
    let processed = processing
        .verify_message_2(cred_r)
        .expect("message 2 verifies");
    let transfer = if by_value {
        lakers::CredentialTransfer::ByValue
    } else {
        lakers::CredentialTransfer::ByReference
    };
    let ead_3 = h.ead_3.as_ref().and_then(|(l, c, v)| ead(*l, *c, v));
    // lakers as initiator panics on the same oversized MAC_3 context it panics on as responder:
    // such a message 3 cannot be made this way (the device's side is what is under test).
    let Some(Ok((wait_4, message_3, _))) =
        initiator_may_panic(|| processed.prepare_message_3(transfer, &ead_3))
    else {
        return (Some(false), None);
    };
    let mut done = wait_4.completed_without_message_4().expect("done");
    let secret = done.edhoc_exporter(0, &[], 16);
    let salt = done.edhoc_exporter(1, &[], 8);
    let immutables = liboscore::PrimitiveImmutables::derive(
        liboscore::HkdfAlg::from_number(5).unwrap(),
        &secret[..16],
        &salt[..8],
        None,
        liboscore::AeadAlg::from_number(10).unwrap(),
        c_r.as_slice(),
        c_i.as_slice(),
    )
    .expect("OSCORE context");
    // The client's own OSCORE; message 3 is added below, as the case deviates it.
    let mut session = Session::new(
        liboscore::PrimitiveContext::new_from_fresh_material(immutables),
        None,
    );
    let mut m3 = message_3.as_slice().to_vec();
    match &h.m3 {
        M3::Honest => {}
        M3::Flip { at, bits } => {
            let at = at % m3.len();
            m3[at] ^= bits | 1;
        }
        M3::Truncate(n) => m3.truncate(*n % m3.len()),
        M3::Random(bytes) => m3 = cbor_bytes(bytes),
        M3::LongHead => {
            let body = minicbor::Decoder::new(&m3).bytes().expect("bstr").to_vec();
            m3 = [vec![0x59], (body.len() as u16).to_be_bytes().to_vec(), body].concat();
        }
    }
    let (mut outer, mut correlation) = session.protect(&get_hello()).expect("protect");
    outer.payload = [m3, outer.payload].concat();
    outer.options.push((OPT_EDHOC, Vec::new()));
    outer.options.sort_by_key(|(n, _)| *n);
    deviate_option(&mut outer, &h.osc);
    reached(1);
    let reply = rig.send(peer, &outer);
    let first = session
        .unprotect(reply, &mut correlation)
        .is_ok_and(|inner| inner.code == code::CONTENT && inner.payload == b"hi");
    if first {
        reached(2);
    }
    let (mut second, _) = session.protect(&get_hello()).expect("protect");
    deviate_option(&mut second, &h.then);
    rig.send(peer, &second);
    (Some(first), Some(session))
}

/// The admin's session, made once: each case ends with its protected `GET /hello`.
fn admin_session(rig: &mut Rig) -> Session {
    admin_session_from(rig, 11)
}

/// An admin session made with the ephemeral key from `seed`.
fn admin_session_from(rig: &mut Rig, seed: u64) -> Session {
    let h = Handshake::plain(seed, Who::Admin { by_value: false }, 0x05);
    // Each from a peer of its own: the handshake limits count per peer.
    let (answered, session) = run_handshake(rig, 10_000 + seed as u32, &h);
    assert_eq!(answered, Some(true), "the admin's handshake");
    session.expect("a session")
}

/// The admin's protected `GET /hello` is answered "hi".
fn admin_says_hi(rig: &mut Rig, admin: &mut Session) -> Result<(), TestCaseError> {
    let (outer, mut correlation) = admin.protect(&get_hello()).expect("protect");
    let reply = rig.send(0, &outer);
    let inner = admin.unprotect(reply.clone(), &mut correlation);
    prop_assert!(
        inner.as_ref().is_ok_and(|m| m.payload == b"hi"),
        "the admin's request was answered {:#x} {:?}",
        reply.code,
        String::from_utf8_lossy(&reply.payload)
    );
    Ok(())
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..=max)
}

fn ead_item() -> impl Strategy<Value = Option<(u16, bool, Vec<u8>)>> {
    proptest::option::weighted(0.3, (0u16..30, any::<bool>(), bytes(150)))
}

fn osc() -> impl Strategy<Value = Osc> {
    prop_oneof![
        3 => Just(Osc::Honest),
        2 => (any::<u8>(), bytes(7), proptest::option::of(bytes(20)), bytes(10)).prop_map(
            |(flags, piv, kid_context, kid)| Osc::Option { flags, piv, kid_context, kid }
        ),
        1 => bytes(60).prop_map(Osc::Ciphertext),
    ]
}

fn handshake_case() -> impl Strategy<Value = Handshake> {
    let who = prop_oneof![
        3 => any::<bool>().prop_map(|by_value| Who::Admin { by_value }),
        2 => (0usize..160).prop_map(|sub| Who::Stranger { sub }),
        1 => any::<[u8; 32]>().prop_map(|x| Who::OffCurve { x }),
        1 => bytes(4).prop_map(|kid| Who::UnknownKid { kid }),
    ];
    let m3 = prop_oneof![
        4 => Just(M3::Honest),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(at, bits)| M3::Flip { at, bits }),
        1 => any::<usize>().prop_map(M3::Truncate),
        1 => bytes(200).prop_map(M3::Random),
        1 => Just(M3::LongHead),
    ];
    let c_i = prop_oneof![
        4 => (0u8..24).prop_map(|b| vec![b]),
        1 => bytes(8),
    ];
    (
        any::<u64>(),
        who,
        c_i,
        ead_item(),
        ead_item(),
        m3,
        osc(),
        osc(),
    )
        .prop_map(|(seed, who, c_i, ead_1, ead_3, m3, osc, then)| Handshake {
            seed,
            who,
            c_i,
            ead_1,
            ead_3,
            m3,
            osc,
            then,
        })
}

/// A hand-made message 1 (after `true`): well-formed CBOR, hostile fields.
fn message_1() -> impl Strategy<Value = Vec<u8>> {
    let method = prop_oneof![4 => Just(3i64), 1 => -30i64..30];
    let suites = prop_oneof![
        3 => Just(cbor_int(2)),
        1 => (0i64..30).prop_map(cbor_int),
        2 => proptest::collection::vec(0i64..30, 0..10).prop_map(|s| {
            let mut a = cbor_head(4, s.len() as u64 + 1);
            for x in s { a.extend(cbor_int(x)); }
            a.extend(cbor_int(2));
            a
        }),
        // An array with a longer head than needed, as lakers misreads it.
        1 => (0u8..3).prop_map(|n| [vec![0x98, n], vec![0x02; n as usize]].concat()),
    ];
    let g_x = prop_oneof![
        2 => any::<u64>().prop_map(|s| crypto(s).p256_generate_key_pair().1.to_vec()),
        2 => any::<[u8; 32]>().prop_map(|x| x.to_vec()),
        1 => Just(vec![0u8; 32]),
        1 => Just(vec![0xffu8; 32]),
        1 => bytes(40),
    ];
    let c_i = prop_oneof![
        2 => (-24i64..24).prop_map(cbor_int),
        1 => (-1000i64..1000).prop_map(cbor_int),
        2 => bytes(24).prop_map(|b| cbor_bytes(&b)),
    ];
    let eads = proptest::collection::vec((-300i64..300, proptest::option::of(bytes(100))), 0..3);
    (method, suites, g_x, c_i, eads, any::<bool>()).prop_map(
        |(method, suites, g_x, c_i, eads, long_g_x)| {
            let mut m = cbor_int(method);
            m.extend(suites);
            if long_g_x {
                m.extend([0x59, 0x00, g_x.len() as u8]);
                m.extend(&g_x);
            } else {
                m.extend(cbor_bytes(&g_x));
            }
            m.extend(c_i);
            for (label, value) in eads {
                m.extend(cbor_int(label));
                if let Some(v) = value {
                    m.extend(cbor_bytes(&v));
                }
            }
            m
        },
    )
}

#[derive(Debug, Clone)]
enum Case {
    /// A hand-made message 1, answered by the device or refused.
    Message1(Vec<u8>),
    /// A handshake with deviations.
    Handshake(Box<Handshake>),
    /// A request with a well-formed OSCORE option with random fields, maybe the EDHOC option,
    /// and a random payload (possibly starting like message 3).
    Oscore {
        option: Osc,
        edhoc: bool,
        payload: Vec<u8>,
    },
}

fn case() -> impl Strategy<Value = Case> {
    prop_oneof![
        2 => message_1().prop_map(Case::Message1),
        4 => handshake_case().prop_map(|h| Case::Handshake(Box::new(h))),
        1 => (osc(), any::<bool>(), bytes(80))
            .prop_map(|(option, edhoc, payload)| Case::Oscore { option, edhoc, payload }),
    ]
}

fn cases() -> u32 {
    std::env::var("TREVM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

#[test]
fn hostile_handshakes_and_requests_leave_the_device_answering_with_bounded_state() {
    let rig = RefCell::new(Rig::new());
    let admin = RefCell::new(admin_session(&mut rig.borrow_mut()));
    // The regression corpus first, from a peer of its own.
    let corpus = trevm_testkit::hex_lines(include_str!("corpus/security.txt"));
    for (i, datagram) in corpus.iter().enumerate() {
        let mut r = rig.borrow_mut();
        // Each from a peer of its own, seconds apart: none is refused for the handshake limits.
        r.now_ms += 5_000;
        r.datagram(1_000 + i as u32, datagram);
        admin_says_hi(&mut r, &mut admin.borrow_mut()).expect("after a corpus datagram");
    }
    let total = cases();
    let done = std::cell::Cell::new(0u32);
    let warm = std::cell::Cell::new(0isize);
    let honest = std::cell::Cell::new((0u32, 0u32));
    let mut runner = TestRunner::new(Config {
        cases: total,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&case(), |case| {
        let mut r = rig.borrow_mut();
        // Ten seconds between cases: the handshake limits refill (they are tested elsewhere).
        r.now_ms += 10_000;
        let peer = 100 + done.get() % 20;
        match &case {
            Case::Message1(m1) => {
                let reply = r.send(peer, &post_edhoc([&[0xf5], &m1[..]].concat()));
                prop_assert!(
                    reply.code == code::CHANGED || reply.code >= 0x80,
                    "{:#x}",
                    reply.code
                );
            }
            Case::Handshake(h) => {
                let ok = handshake(&mut r, peer, h);
                if let Some(ok) = ok
                    && h.honest()
                {
                    let (n, good) = honest.get();
                    let expect_hi = matches!(h.who, Who::Admin { .. });
                    prop_assert_eq!(ok, expect_hi, "an honest handshake: {:?}", h);
                    honest.set((n + 1, good + u32::from(ok)));
                }
            }
            Case::Oscore {
                option,
                edhoc,
                payload,
            } => {
                let mut m = get_hello();
                m.options.push((OPT_OSCORE, vec![0x09, 0x00, 0x05]));
                if *edhoc {
                    m.options.push((OPT_EDHOC, Vec::new()));
                }
                m.payload = payload.clone();
                deviate_option(&mut m, option);
                let reply = r.send(peer, &m);
                prop_assert!(reply.code >= 0x80, "{:#x}", reply.code);
            }
        }
        admin_says_hi(&mut r, &mut admin.borrow_mut())?;
        done.set(done.get() + 1);
        // After the device's caches have filled (duplicates, kept responses: bounded by
        // ServerLimits), the heap stays where it was.
        let live = LIVE.with(std::cell::Cell::get);
        if done.get() == 100.min(total / 2) {
            warm.set(live);
        }
        if done.get() > 100.min(total / 2) {
            prop_assert!(
                live <= warm.get() + 96 * 1024,
                "the heap grew from {} to {live} bytes",
                warm.get()
            );
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (n, good) = honest.get();
    let [m2, m3, hi] = REACHED.each_ref().map(|r| r.load(Ordering::Relaxed));
    eprintln!(
        "{} cases; handshakes reaching message 2: {m2}, sending message 3: {m3}, answered: {hi}; \
         {n} honest, {good} of them by the admin; heap after warm-up {} B",
        done.get(),
        warm.get()
    );
}

/// A valid message 1 (after `true`) from a stranger: G_X a point on the curve.
fn stranger_message_1(seed: u64) -> Vec<u8> {
    let x = crypto(seed).p256_generate_key_pair().1;
    [vec![0xf5, 0x03, 0x02, 0x58, 0x20], x.to_vec(), vec![0x0e]].concat()
}

/// One source sends 1,000 message 1 within a second: it gets its burst of handshakes (2), the
/// rest 5.03 before any cryptography; the admin is answered throughout, and another client can
/// still run a handshake.
#[test]
fn a_flood_of_message_1_gets_its_share_and_costs_nobody_else() {
    let mut rig = Rig::new();
    let mut admin = admin_session(&mut rig);
    let m1 = post_edhoc(stranger_message_1(99));
    let mut started = 0;
    for i in 0..1_000 {
        rig.now_ms += 1;
        let reply = rig.send(666, &m1);
        match reply.code {
            code::CHANGED => started += 1,
            code::SERVICE_UNAVAILABLE => {}
            other => panic!("message 1 answered {other:#x}"),
        }
        if i % 100 == 0 {
            admin_says_hi(&mut rig, &mut admin).expect("the admin during the flood");
        }
    }
    assert_eq!(started, 2, "handshakes the flood started");
    // Another client (a known one, from another address) still gets through.
    let h = Handshake::plain(5, Who::Admin { by_value: false }, 0x09);
    assert_eq!(handshake(&mut rig, 777, &h), Some(true));
    admin_says_hi(&mut rig, &mut admin).expect("the admin after the flood");
}

/// Known clients hold at most three of coapcore's four security contexts: a fourth known client's
/// handshake retires the least recently used known context, and strangers' handshakes, however
/// many, evict none of the three.
#[test]
fn strangers_cannot_evict_the_contexts_of_known_clients() {
    let mut rig = Rig::new();
    let mut sessions: Vec<Session> = (0..4)
        .map(|i| {
            rig.now_ms += 10_000;
            admin_session_from(&mut rig, 20 + i)
        })
        .collect();
    // The fourth retired the first (the least recently used); the other three answer.
    assert!(
        admin_says_hi(&mut rig, &mut sessions[0]).is_err(),
        "the least recently used known context was retired"
    );
    for round in 0..6u32 {
        rig.now_ms += 10_000;
        let reply = rig.send(500 + round, &post_edhoc(stranger_message_1(round.into())));
        assert_eq!(reply.code, code::CHANGED, "round {round}");
        for s in &mut sessions[1..] {
            admin_says_hi(&mut rig, s).expect("a known client after a stranger's handshake");
        }
    }
    // A stranger that completes its handshake does not evict them either.
    let h = Handshake::plain(70, Who::Stranger { sub: 0 }, 0x12);
    assert_eq!(
        handshake(&mut rig, 600, &h),
        Some(false),
        "strangers may only list"
    );
    for s in &mut sessions[1..] {
        admin_says_hi(&mut rig, s).expect("a known client after a stranger's session");
    }
}

/// A response whose security context changed hands while its run was in flight (evicted, its
/// kid handed to a stranger's new handshake) is answered 5.03, never protected with the
/// stranger's keys.
#[test]
fn a_response_is_not_protected_with_the_keys_of_whoever_took_its_kid_meanwhile() {
    let mut rig = Rig::new();
    let mut first = admin_session_from(&mut rig, 30);
    // The first known client's request starts a run.
    let (mut slow, _) = first
        .protect(&Message::request(code::GET, 0, &["slow"]))
        .expect("protect");
    rig.mid += 1;
    slow.ty = MsgType::Con;
    slow.mid = rig.mid;
    slow.token = vec![0x51];
    let Received::Started(id, run) = rig.server.receive(&0, &slow.encode(), rig.now_ms) else {
        panic!("GET /slow did not start a run");
    };
    // Three more known clients: the third retires the first one's context (the least recently
    // used) while its run goes on.
    let mut others: Vec<Session> = (0..3)
        .map(|i| admin_session_from(&mut rig, 31 + i))
        .collect();
    for _ in 0..7 {
        rig.now_ms += 10_000;
        for s in &mut others {
            admin_says_hi(&mut rig, s).expect("a known client");
        }
    }
    // Strangers' handshakes: one of them gets the freed kid.
    for (peer, seed) in [(900, 40), (901, 41)] {
        let h = Handshake::plain(seed, Who::Stranger { sub: 0 }, 0x11);
        assert_eq!(
            handshake(&mut rig, peer, &h),
            Some(false),
            "strangers may only list"
        );
    }
    let response = futures_executor::block_on(run);
    let (_, reply) = rig
        .server
        .complete(id, response, rig.now_ms)
        .expect("the run was in flight");
    let reply = Message::parse(&reply).expect("a reply");
    assert_eq!(reply.code, code::SERVICE_UNAVAILABLE);
    assert!(
        reply.option(OPT_OSCORE).is_none(),
        "protected with someone's keys"
    );
    assert!(!String::from_utf8_lossy(&reply.payload).contains("admin only"));
}

/// The admin observes `/feed` through OSCORE: every notification is a response to its
/// registration that it decrypts, each with the device's own Partial IV (RFC 8613 §8.3), and
/// Observe outside as well (outer code 2.05). A stranger whose scope lacks `/feed` gets 4.01
/// and no observer. A new handshake of the admin (its kid given to a new context) ends the
/// observation rather than protecting notifications with another context's keys.
#[test]
fn the_admin_observes_through_oscore_and_a_stranger_cannot() {
    let mut rig = Rig::new();
    let mut admin = admin_session(&mut rig);
    let mut register = Message::request(code::GET, 0, &["feed"]);
    register.add_uint_option(trevm_coap::message::opt::OBSERVE, 0);
    let (outer, mut correlation) = admin.protect(&register).expect("protect");
    let reply = rig.send(0, &outer);
    let token = reply.token.clone();
    let inner = admin
        .unprotect(reply, &mut correlation)
        .expect("the registration's answer");
    assert_eq!(
        (inner.code, inner.payload.as_slice()),
        (code::CONTENT, &b"0"[..])
    );
    assert_eq!(rig.server.observers(), 1);

    let mut pivs = Vec::new();
    for n in 1..=3u64 {
        FEED.with(|f| *f.borrow_mut() = n);
        let sent = rig.server.notifications(rig.now_ms);
        assert_eq!(sent.len(), 1);
        let (peer, datagram) = &sent[0];
        assert_eq!(*peer, 0);
        let note = Message::parse(datagram).expect("a notification");
        assert_eq!((note.ty, note.code), (MsgType::Con, code::CONTENT));
        assert_eq!(note.token, token);
        assert!(
            note.option(trevm_coap::message::opt::OBSERVE).is_some(),
            "Observe outside"
        );
        let option = note.option(OPT_OSCORE).expect("protected").to_vec();
        pivs.push(option);
        let ack = Message {
            ty: MsgType::Ack,
            mid: note.mid,
            ..Default::default()
        };
        assert!(rig.datagram(0, &ack.encode()).is_none());
        let inner = admin.unprotect(note, &mut correlation).expect("decrypted");
        assert_eq!(inner.payload, n.to_string().as_bytes());
    }
    pivs.dedup();
    assert_eq!(
        pivs.len(),
        3,
        "a Partial IV of its own for each notification"
    );

    // A stranger (its scope: /.well-known/core only) cannot observe, in the clear.
    let mut plain = Message::request(code::GET, 0, &["feed"]);
    plain.add_uint_option(trevm_coap::message::opt::OBSERVE, 0);
    let reply = rig.send(7, &plain);
    assert_eq!(reply.code, code::UNAUTHORIZED);
    assert_eq!(rig.server.observers(), 1);

    // New handshakes of the admin fill coapcore's pool until the observed context is evicted
    // (its kid handed to a newer one): until then notifications still decrypt with the old
    // session, after that the observation ends instead of using another context's keys.
    for seed in 12..24 {
        let _newer = admin_session_from(&mut rig, seed);
        FEED.with(|f| *f.borrow_mut() = seed);
        for (_, datagram) in rig.server.notifications(rig.now_ms) {
            let note = Message::parse(&datagram).expect("a notification");
            let mid = note.mid;
            let inner = admin.unprotect(note, &mut correlation);
            assert_eq!(
                inner.expect("still the observed context").payload,
                seed.to_string().as_bytes()
            );
            let ack = Message {
                ty: MsgType::Ack,
                mid,
                ..Default::default()
            };
            rig.datagram(0, &ack.encode());
        }
        if rig.server.observers() == 0 {
            return;
        }
    }
    panic!("the observed context was never evicted");
}
