//! The CoAP device in-process, datagram in, datagram out: the sandbox lifecycle, duplicate
//! detection, block-wise transfer, and every kind of bad input answered with the right code
//! while the capsule already stored keeps answering.

use std::path::PathBuf;
use std::sync::OnceLock;

use trevm::{EngineProfile, Runtime, RuntimeOptions, TrustPolicy};
use trevm_coap::message::{code, opt};
use trevm_coap::{BlockOpt, Message, MsgType, Server, ServerLimits};
use trevm_slots::{Device, Sandbox, SandboxLimits};
// The embassy-time driver that the runtime's timeouts need on the host: the native board's clock.
use trevm_native as _;

type Peer = &'static str;

/// The key this test device trusts (made once per test binary).
fn key() -> &'static trevm_sign::SigningKey {
    static KEY: OnceLock<trevm_sign::SigningKey> = OnceLock::new();
    KEY.get_or_init(trevm_sign::SigningKey::generate)
}

fn trusting_key() -> TrustPolicy {
    TrustPolicy::new().trust(key().trusted("the test key"))
}

/// `capsule` signed again by `key` with `version` (grants from its manifest, or `grants`).
fn signed(
    capsule: &[u8],
    key: &trevm_sign::SigningKey,
    version: u64,
    grants: Option<&[&str]>,
) -> Vec<u8> {
    let grants = grants.map(|g| g.iter().map(|s| s.to_string()).collect());
    trevm_sign::sign(capsule, key, Some(version), grants).expect("sign")
}

/// `payloads/coap-persistent` with its `v2` feature, signed as version 2.
fn persistent_v2() -> Vec<u8> {
    signed(
        &capsule_with("coap-persistent", 32 * 1024, &["v2"]),
        key(),
        2,
        None,
    )
}

/// `payloads/<name>` built and signed by the test key, version 1.
fn capsule(name: &str, initial_memory: u32) -> Vec<u8> {
    capsule_with(name, initial_memory, &[])
}

fn capsule_with(name: &str, initial_memory: u32, features: &[&str]) -> Vec<u8> {
    static CACHE: OnceLock<std::sync::Mutex<std::collections::HashMap<String, Vec<u8>>>> =
        OnceLock::new();
    let mut cache = CACHE.get_or_init(Default::default).lock().unwrap();
    cache
        .entry(format!("{name}{features:?}"))
        .or_insert_with(|| {
            let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
            let opts = trevm_build::BuildOptions {
                quiet: true,
                initial_memory: Some(initial_memory),
                features: features.iter().map(|f| f.to_string()).collect(),
                signing: trevm_build::Signing::Unsigned,
                ..Default::default()
            };
            let unsigned = trevm_build::build(&root.join("payloads").join(name), &opts)
                .unwrap_or_else(|e| panic!("building {name}: {e}"))
                .capsule;
            signed(&unsigned, key(), 1, None)
        })
        .clone()
}

fn server(limits: ServerLimits) -> Server<Peer, Device> {
    server_with(limits, false)
}

fn server_with(limits: ServerLimits, persistent: bool) -> Server<Peer, Device> {
    server_trusting(limits, persistent.then_some(LOG), trusting_key())
}

/// The persistent slot's grants in most tests: `log-api`, as upstream's `example-coap-server`.
const LOG: trevm::Grants = trevm::Grants {
    log: true,
    ..trevm::Grants::none()
};

/// A device trusting `trust`, with a persistent slot granting `persistent` if given.
fn server_trusting(
    limits: ServerLimits,
    persistent: Option<trevm::Grants>,
    trust: TrustPolicy,
) -> Server<Peer, Device> {
    let runtime = Runtime::new(
        EngineProfile::for_this_machine(),
        RuntimeOptions::host().with_grants(Sandbox::GRANTS),
    )
    .expect("runtime");
    let sandbox_limits = SandboxLimits {
        run: SandboxLimits::default()
            .run
            .with_timeout(trevm::Duration::from_millis(300)),
        ..Default::default()
    };
    let persistent = persistent.map(|grants| {
        let mut rt = Runtime::new(
            EngineProfile::for_this_machine(),
            RuntimeOptions::host().with_grants(grants),
        )
        .expect("runtime");
        // The example world's own import, linked by the application (as the native board does).
        rt.define_func("", "uppercase", |_host, args| match args {
            [trevm::Val::String(input)] => Ok(vec![trevm::Val::String(input.to_uppercase())]),
            _ => Err(trevm::HostFnError("uppercase takes one string".into())),
        })
        .expect("link uppercase");
        trevm_slots::Persistent::new(
            rt,
            trevm::Limits::new(),
            |name| trevm::HostState::new(name),
            trust.clone(),
        )
        .expect("persistent")
    });
    Server::new(
        Device {
            sandbox: Sandbox::new(runtime, sandbox_limits, trust),
            persistent,
            ephemeral: None,
            memory: None,
            logs: None,
        },
        limits,
    )
}

struct Client {
    mid: u16,
}

impl Client {
    fn request(&mut self, c: u8, path: &str, payload: &[u8], extra: &[(u16, u32)]) -> Message {
        self.mid = self.mid.wrapping_add(1);
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut m = Message::request(c, self.mid, &segments);
        m.payload = payload.to_vec();
        for (n, v) in extra {
            m.add_uint_option(*n, *v);
        }
        m
    }
}

fn send(s: &mut Server<Peer, Device>, peer: Peer, m: &Message) -> Message {
    let reply = futures_executor::block_on(s.handle(&peer, &m.encode(), 0)).expect("a reply");
    let reply = Message::parse(&reply).expect("a well-formed reply");
    assert_eq!(reply.token, m.token, "token echoed");
    assert_eq!(
        (reply.ty, reply.mid),
        (MsgType::Ack, m.mid),
        "piggybacked ACK"
    );
    reply
}

/// PUTs `body` block-wise with blocks of `2^(szx+4)` bytes, as trevm-coap's client does it;
/// returns the last reply.
fn upload(
    s: &mut Server<Peer, Device>,
    c: &mut Client,
    path: &str,
    body: &[u8],
    szx: u8,
) -> Message {
    use trevm_coap::client::{self, Step};
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let put = client::Request::new(code::PUT, &segments)
        .with_payload(body.to_vec())
        .with_block(16 << szx);
    // Its message IDs follow `c`'s, so that the server's duplicate detection sees new ones.
    let timing = client::Timing::default();
    let mut client = client::Client::new(u32::from(c.mid), timing, client::Limits::default());
    client.start(put, 0).expect("start");
    loop {
        match client.poll(0) {
            Step::Send(datagram) => {
                c.mid = c.mid.wrapping_add(1);
                let reply = futures_executor::block_on(s.handle(&"peer", datagram, 0));
                client.receive(&reply.expect("a reply"), 0);
            }
            Step::Progress { .. } => {}
            Step::Done(reply) => {
                let reply = reply.expect("an answer");
                return Message {
                    code: reply.code,
                    payload: reply.payload,
                    ..Default::default()
                };
            }
            Step::Wait { .. } | Step::Idle => panic!("no answer to the upload"),
        }
    }
}

fn get_text(s: &mut Server<Peer, Device>, c: &mut Client, path: &str) -> (u8, String) {
    let r = send(s, "peer", &c.request(code::GET, path, b"", &[]));
    (r.code, String::from_utf8_lossy(&r.payload).into_owned())
}

#[test]
fn sandbox_lifecycle_with_block_wise_upload() {
    let mut s = server(ServerLimits::default());
    let mut c = Client { mid: 0 };
    let big = capsule("sandbox-big", 128 * 1024);
    assert!(big.len() > 40 * 1024);
    let r = upload(&mut s, &mut c, "sandbox/big", &big, 2); // 64-byte blocks: over 900 of them
    assert_eq!(
        r.code,
        code::CREATED,
        "{}",
        String::from_utf8_lossy(&r.payload)
    );
    let r = upload(
        &mut s,
        &mut c,
        "sandbox/hello",
        &capsule("sandbox", 32 * 1024),
        6,
    );
    assert_eq!(r.code, code::CREATED);
    assert_eq!(
        get_text(&mut s, &mut c, "sandbox/hello"),
        (code::CONTENT, "Hello from the sandbox!".into())
    );
    let (code_, text) = get_text(&mut s, &mut c, "sandbox/big");
    assert_eq!(code_, code::CONTENT);
    assert!(text.starts_with("big capsule: 45056 bytes"), "{text}");
    let (_, links) = get_text(&mut s, &mut c, ".well-known/core");
    assert!(
        links.contains("</sandbox/big>") && links.contains("</sandbox/hello>"),
        "{links}"
    );
    // Replace, then delete.
    let r = upload(
        &mut s,
        &mut c,
        "sandbox/hello",
        &capsule("sandbox", 32 * 1024),
        6,
    );
    assert_eq!(r.code, code::CHANGED);
    assert_eq!(
        send(
            &mut s,
            "peer",
            &c.request(code::DELETE, "sandbox/hello", b"", &[])
        )
        .code,
        code::DELETED
    );
    assert_eq!(get_text(&mut s, &mut c, "sandbox/hello").0, code::NOT_FOUND);
    assert_eq!(
        send(
            &mut s,
            "peer",
            &c.request(code::DELETE, "sandbox/hello", b"", &[])
        )
        .code,
        code::NOT_FOUND
    );
}

#[test]
fn a_duplicate_request_is_answered_from_the_cache_without_running_twice() {
    let mut s = server(ServerLimits::default());
    let mut c = Client { mid: 100 };
    upload(
        &mut s,
        &mut c,
        "sandbox/hello",
        &capsule("sandbox", 32 * 1024),
        6,
    );
    let get = c.request(code::GET, "sandbox/hello", b"", &[]).encode();
    let first = futures_executor::block_on(s.handle(&"peer", &get, 1000)).unwrap();
    let again = futures_executor::block_on(s.handle(&"peer", &get, 2000)).unwrap();
    assert_eq!(first, again);
    assert_eq!(s.resources.sandbox.runs(), 1, "the capsule ran once");
    // The same message ID from another peer is another request.
    futures_executor::block_on(s.handle(&"other", &get, 2000)).unwrap();
    assert_eq!(s.resources.sandbox.runs(), 2);
}

#[test]
fn a_capsule_that_never_returns_gets_5_03_and_others_keep_answering() {
    let mut s = server(ServerLimits::default());
    let mut c = Client { mid: 200 };
    upload(
        &mut s,
        &mut c,
        "sandbox/spin",
        &capsule("sandbox-spin", 32 * 1024),
        6,
    );
    upload(
        &mut s,
        &mut c,
        "sandbox/hello",
        &capsule("sandbox", 32 * 1024),
        6,
    );
    let (code_, text) = get_text(&mut s, &mut c, "sandbox/spin");
    assert_eq!(code_, code::SERVICE_UNAVAILABLE, "{text}");
    assert!(text.contains("timed out"), "{text}");
    assert_eq!(get_text(&mut s, &mut c, "sandbox/hello").0, code::CONTENT);
    assert_eq!(get_text(&mut s, &mut c, "sandbox/hello").0, code::CONTENT);

    // /status counts what each did.
    let (got, status) = get_text(&mut s, &mut c, "status");
    assert_eq!(got, code::CONTENT, "{status}");
    let hello = status.find("\"name\":\"hello\"").expect("hello in /status");
    let spin = status.find("\"name\":\"spin\"").expect("spin in /status");
    let (hello, spin) = (&status[hello..], &status[spin..]);
    assert!(
        hello.contains("\"runs\":2,\"ok\":2,\"stopped\":0,\"trapped\":0,\"last_error\":null"),
        "{status}"
    );
    assert!(
        spin.contains("\"runs\":1,\"ok\":0,\"stopped\":1,\"trapped\":0,\"last_error\":\""),
        "{status}"
    );
    assert!(
        status.contains("\"installed\":\"version 1, signed by the test key"),
        "{status}"
    );
}

#[test]
fn bad_input_gets_the_right_code_and_the_stored_capsule_survives() {
    let limits = ServerLimits {
        max_body: 96 * 1024,
        ..Default::default()
    };
    let mut s = server(limits);
    let mut c = Client { mid: 300 };
    let hello = capsule("sandbox", 32 * 1024);
    upload(&mut s, &mut c, "sandbox/hello", &hello, 6);
    let still_there = |s: &mut Server<Peer, Device>, c: &mut Client| {
        assert_eq!(
            get_text(s, c, "sandbox/hello"),
            (code::CONTENT, "Hello from the sandbox!".into())
        );
    };

    // Garbage, a truncated capsule, a corrupted one: 4.00 with the reason; `hello` untouched.
    for (what, body) in [
        ("garbage", b"definitely not a capsule".to_vec()),
        ("truncated", hello[..hello.len() / 2].to_vec()),
        ("corrupted", {
            let mut b = hello.clone();
            let n = b.len();
            b[n - 100] ^= 0xff;
            b
        }),
    ] {
        let r = upload(&mut s, &mut c, "sandbox/hello", &body, 6);
        assert_eq!(r.code, code::BAD_REQUEST, "{what}");
        assert!(!r.payload.is_empty(), "{what}: a diagnostic payload");
        still_there(&mut s, &mut c);
    }

    // Built for another target: the reason names both.
    let opts = trevm_build::BuildOptions {
        quiet: true,
        profile: EngineProfile::pulley32(trevm::Preemption::Fuel),
        signing: trevm_build::Signing::Unsigned,
        ..Default::default()
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let p32 = trevm_build::build(&root.join("payloads/sandbox"), &opts)
        .unwrap()
        .capsule;
    let r = upload(&mut s, &mut c, "sandbox/hello", &p32, 6);
    assert_eq!(r.code, code::BAD_REQUEST);
    let reason = String::from_utf8_lossy(&r.payload);
    assert!(reason.contains("pulley32"), "{reason}");
    still_there(&mut s, &mut c);

    // The wrong world: fibonacci has no `run() -> string`.
    let r = upload(
        &mut s,
        &mut c,
        "sandbox/hello",
        &capsule("fibonacci", 32 * 1024),
        6,
    );
    assert_eq!(r.code, code::BAD_REQUEST);
    assert!(
        String::from_utf8_lossy(&r.payload).contains("run"),
        "{:?}",
        r.payload
    );
    still_there(&mut s, &mut c);

    // Over the size limit, announced with Size1: 4.13 with our limit as Size1.
    let b1 = BlockOpt {
        num: 0,
        more: true,
        szx: 6,
    }
    .to_uint();
    let r = send(
        &mut s,
        "peer",
        &c.request(
            code::PUT,
            "sandbox/x",
            &[0; 1024],
            &[(opt::BLOCK1, b1), (opt::SIZE1, 200_000)],
        ),
    );
    assert_eq!(r.code, code::REQUEST_ENTITY_TOO_LARGE);
    assert_eq!(r.uint_option(opt::SIZE1), Some(96 * 1024));
    // …and not announced: refused once the body grows past it.
    let big = vec![0u8; 100 * 1024];
    let r = upload_expecting_failure(&mut s, &mut c, &big);
    assert_eq!(r.code, code::REQUEST_ENTITY_TOO_LARGE);

    // A gap in the blocks: 4.08.
    let first = BlockOpt {
        num: 0,
        more: true,
        szx: 6,
    }
    .to_uint();
    let third = BlockOpt {
        num: 2,
        more: true,
        szx: 6,
    }
    .to_uint();
    assert_eq!(
        send(
            &mut s,
            "peer",
            &c.request(code::PUT, "sandbox/y", &[0; 1024], &[(opt::BLOCK1, first)])
        )
        .code,
        code::CONTINUE
    );
    assert_eq!(
        send(
            &mut s,
            "peer",
            &c.request(code::PUT, "sandbox/y", &[0; 1024], &[(opt::BLOCK1, third)])
        )
        .code,
        code::REQUEST_ENTITY_INCOMPLETE
    );

    // Unknown path, wrong method, bad name, unknown critical option.
    assert_eq!(get_text(&mut s, &mut c, "nothing/here").0, code::NOT_FOUND);
    assert_eq!(
        send(
            &mut s,
            "peer",
            &c.request(code::POST, "sandbox/hello", b"x", &[])
        )
        .code,
        code::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        send(
            &mut s,
            "peer",
            &c.request(code::PUT, "sandbox/bad name!", b"x", &[])
        )
        .code,
        code::BAD_REQUEST
    );
    assert_eq!(
        send(
            &mut s,
            "peer",
            &c.request(code::GET, "sandbox/hello", b"", &[(2049, 1)])
        )
        .code,
        code::BAD_OPTION
    );

    // Malformed datagrams: a Reset for a confirmable one, silence otherwise; never a panic.
    let rst =
        futures_executor::block_on(s.handle(&"peer", &[0x40, 0x01, 0x12, 0x34, 0xf0], 0)).unwrap();
    let rst = Message::parse(&rst).unwrap();
    assert_eq!(
        (rst.ty, rst.code, rst.mid),
        (MsgType::Rst, code::EMPTY, 0x1234)
    );
    for junk in [
        &[][..],
        &[0xff; 3],
        &[0x50, 0x01, 0, 0, 0xf0],
        &[0x80, 1, 2, 3],
    ] {
        assert_eq!(futures_executor::block_on(s.handle(&"peer", junk, 0)), None);
    }
    still_there(&mut s, &mut c);
}

fn upload_expecting_failure(s: &mut Server<Peer, Device>, c: &mut Client, body: &[u8]) -> Message {
    for (num, chunk) in body.chunks(1024).enumerate() {
        let b1 = BlockOpt {
            num: num as u32,
            more: true,
            szx: 6,
        }
        .to_uint();
        let r = send(
            s,
            "peer",
            &c.request(code::PUT, "sandbox/z", chunk, &[(opt::BLOCK1, b1)]),
        );
        if r.code != code::CONTINUE {
            return r;
        }
    }
    panic!("the upload was never refused");
}

#[test]
fn long_responses_are_served_block_wise() {
    let mut s = server(ServerLimits {
        max_block: 64,
        ..Default::default()
    });
    let mut c = Client { mid: 400 };
    for n in 0..6 {
        upload(
            &mut s,
            &mut c,
            &format!("sandbox/capsule-with-a-long-name-{n}"),
            &capsule("sandbox", 32 * 1024),
            2,
        );
    }
    let mut body = Vec::new();
    let mut num = 0;
    loop {
        let b2 = BlockOpt {
            num,
            more: false,
            szx: 2,
        }
        .to_uint();
        let r = send(
            &mut s,
            "peer",
            &c.request(code::GET, ".well-known/core", b"", &[(opt::BLOCK2, b2)]),
        );
        assert_eq!(r.code, code::CONTENT);
        let got = BlockOpt::from_uint(r.uint_option(opt::BLOCK2).expect("Block2")).unwrap();
        assert_eq!(got.num, num);
        body.extend_from_slice(&r.payload);
        if !got.more {
            break;
        }
        num += 1;
    }
    assert!(num > 2, "several blocks");
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains("</sandbox/capsule-with-a-long-name-5>;ct=0"),
        "{text}"
    );
}

#[test]
fn the_persistent_capsule_serves_its_resources_and_is_replaced_live() {
    let mut s = server_with(ServerLimits::default(), true);
    let mut c = Client { mid: 500 };
    assert_eq!(
        get_text(&mut s, &mut c, "vm/hello").0,
        code::NOT_FOUND,
        "nothing loaded yet"
    );
    let v1 = capsule("coap-persistent", 32 * 1024);
    let r = upload(&mut s, &mut c, "vm-control", &v1, 6);
    assert_eq!(
        r.code,
        code::CHANGED,
        "{}",
        String::from_utf8_lossy(&r.payload)
    );
    assert_eq!(
        get_text(&mut s, &mut c, "vm/hello"),
        (
            code::CONTENT,
            "Hello from the persistent capsule, version 1".into()
        )
    );
    let r = send(
        &mut s,
        "peer",
        &c.request(code::PUT, "vm/shout", b"make me loud", &[]),
    );
    assert_eq!(
        (r.code, r.payload.as_slice()),
        (code::CHANGED, &b"MAKE ME LOUD"[..])
    );
    assert_eq!(r.uint_option(opt::CONTENT_FORMAT), Some(0));
    assert_eq!(
        get_text(&mut s, &mut c, "vm/count"),
        (code::CONTENT, "3".into())
    );
    assert_eq!(get_text(&mut s, &mut c, "vm/nothing").0, code::NOT_FOUND);
    assert_eq!(
        send(
            &mut s,
            "peer",
            &c.request(code::DELETE, "vm/hello", b"", &[])
        )
        .code,
        code::METHOD_NOT_ALLOWED
    );
    let (_, links) = get_text(&mut s, &mut c, ".well-known/core");
    assert!(
        links.contains("</vm/hello>")
            && links.contains("</vm/shout>")
            && links.contains("</vm-control>"),
        "{links}"
    );

    // Bad replacements: 4.00 with the reason, version 1 keeps serving.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let opts = trevm_build::BuildOptions {
        quiet: true,
        profile: EngineProfile::pulley32(trevm::Preemption::Fuel),
        signing: trevm_build::Signing::Unsigned,
        ..Default::default()
    };
    let p32 = trevm_build::build(&root.join("payloads/coap-persistent"), &opts)
        .unwrap()
        .capsule;
    for (what, body, reason) in [
        ("garbage", b"not a capsule at all".to_vec(), "capsule"),
        ("truncated", v1[..v1.len() / 3].to_vec(), "capsule"),
        (
            "wrong world",
            capsule("sandbox", 32 * 1024),
            "coap-server-guest",
        ),
        ("other target", p32, "pulley32"),
    ] {
        let r = upload(&mut s, &mut c, "vm-control", &body, 6);
        assert_eq!(r.code, code::BAD_REQUEST, "{what}");
        let text = String::from_utf8_lossy(&r.payload);
        assert!(text.contains(reason), "{what}: {text}");
        assert_eq!(
            get_text(&mut s, &mut c, "vm/hello"),
            (
                code::CONTENT,
                "Hello from the persistent capsule, version 1".into()
            ),
            "{what}"
        );
    }

    // The real update.
    assert_eq!(
        upload(&mut s, &mut c, "vm-control", &persistent_v2(), 6).code,
        code::CHANGED
    );
    assert_eq!(
        get_text(&mut s, &mut c, "vm/hello"),
        (
            code::CONTENT,
            "Hello from the persistent capsule, version 2".into()
        )
    );
    assert_eq!(
        get_text(&mut s, &mut c, "vm/count"),
        (code::CONTENT, "2".into()),
        "a fresh instance"
    );
}

#[test]
fn a_persistent_capsule_may_import_what_its_slot_and_its_signer_both_grant() {
    let sensing = trevm::Grants {
        sensors: true,
        rng: true,
        ..LOG
    };
    let temperature = capsule("temperature-server", 32 * 1024);
    // The slot grants log only: the capsule's sensors-api import cannot be linked.
    let mut s = server_trusting(ServerLimits::default(), Some(LOG), trusting_key());
    let mut c = Client { mid: 900 };
    let (code, why) = outcome(&upload(&mut s, &mut c, "vm-control", &temperature, 6));
    assert_eq!(code, code::BAD_REQUEST, "{why}");
    assert!(why.contains("sensors-api"), "{why}");
    // The slot grants sensors and rng, but the signer may grant log only: refused before loading.
    let log_only_signer = TrustPolicy::new().trust(
        key()
            .trusted("the test key")
            .only_grants(["ariel:wasm-bindings/log-api@0.0.1"]),
    );
    let mut s = server_trusting(ServerLimits::default(), Some(sensing), log_only_signer);
    let (code, why) = outcome(&upload(&mut s, &mut c, "vm-control", &temperature, 6));
    assert_eq!(code, code::FORBIDDEN, "{why}");
    assert!(why.contains("sensors-api"), "{why}");
    // A capsule importing nothing (world example-persistent-no-bindings) is served by either.
    let counter = capsule("coap-counter", 32 * 1024);
    let (code, why) = outcome(&upload(&mut s, &mut c, "vm-control", &counter, 6));
    assert_eq!((code, why.as_str()), (code::CHANGED, "serving counter"));
    let r = send(
        &mut s,
        "peer",
        &c.request(code::POST, "vm/counter", b"", &[]),
    );
    assert_eq!(outcome(&r), (code::CONTENT, "1".into()));
    assert_eq!(
        get_text(&mut s, &mut c, "vm/counter"),
        (code::CONTENT, "1".into())
    );
}

#[test]
fn non_confirmable_requests_get_non_responses_and_long_tokens_are_echoed() {
    let mut s = server(ServerLimits::default());
    let mut c = Client { mid: 600 };
    upload(
        &mut s,
        &mut c,
        "sandbox/hello",
        &capsule("sandbox", 32 * 1024),
        6,
    );
    let mut m = c.request(code::GET, "sandbox/hello", b"", &[]);
    m.ty = MsgType::Non;
    m.token = vec![1, 2, 3, 4, 5, 6, 7, 8];
    let reply = futures_executor::block_on(s.handle(&"peer", &m.encode(), 0)).expect("a reply");
    let reply = Message::parse(&reply).expect("well-formed");
    assert_eq!(reply.ty, MsgType::Non);
    assert_ne!(reply.mid, m.mid, "a NON response has its own message ID");
    assert_eq!(reply.token, m.token);
    assert_eq!(reply.payload, b"Hello from the sandbox!");
    // A CoAP ping: an empty CON gets a Reset with its message ID.
    let ping = Message {
        ty: MsgType::Con,
        code: code::EMPTY,
        mid: 0x4242,
        ..Default::default()
    };
    let pong = futures_executor::block_on(s.handle(&"peer", &ping.encode(), 0)).expect("a reply");
    let pong = Message::parse(&pong).unwrap();
    assert_eq!((pong.ty, pong.mid), (MsgType::Rst, 0x4242));
}

/// The reply's code and diagnostic text.
fn outcome(r: &Message) -> (u8, String) {
    (r.code, String::from_utf8_lossy(&r.payload).into_owned())
}

/// Header, payload and trailer of a capsule with `payload` changed by `patch` and the CRC
/// recomputed: what an attacker who read the format sends.
fn patched(capsule: &[u8], patch: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let c = trevm::Capsule::from_slice(capsule).unwrap();
    let mut payload = c.payload().to_vec();
    patch(&mut payload);
    trevm::capsule::encode_with_trailer(
        c.profile(),
        c.name(),
        &payload,
        c.header().trailer_kind,
        c.trailer(),
    )
    .unwrap()
}

#[test]
fn untrusted_capsules_get_4_01_or_4_03_with_the_reason_and_the_stored_capsule_survives() {
    let policy = TrustPolicy::new().trust(key().trusted("the test key").only_names([
        "sandbox",
        "fibonacci",
        "coap-persistent",
    ]));
    let mut s = server_trusting(ServerLimits::default(), Some(LOG), policy);
    let mut c = Client { mid: 700 };
    let hello = capsule("sandbox", 32 * 1024);
    assert_eq!(
        upload(&mut s, &mut c, "sandbox/hello", &hello, 6).code,
        code::CREATED
    );
    let v1 = capsule("coap-persistent", 32 * 1024);
    assert_eq!(
        upload(&mut s, &mut c, "vm-control", &v1, 6).code,
        code::CHANGED
    );
    let both_still_answer = |s: &mut Server<Peer, Device>, c: &mut Client, what: &str| {
        assert_eq!(
            get_text(s, c, "sandbox/hello"),
            (code::CONTENT, "Hello from the sandbox!".into()),
            "{what}"
        );
        assert_eq!(
            get_text(s, c, "vm/hello"),
            (
                code::CONTENT,
                "Hello from the persistent capsule, version 1".into()
            ),
            "{what}"
        );
    };

    let unsigned = {
        let opts = trevm_build::BuildOptions {
            quiet: true,
            signing: trevm_build::Signing::Unsigned,
            ..Default::default()
        };
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        trevm_build::build(&root.join("payloads/sandbox"), &opts)
            .unwrap()
            .capsule
    };
    let stranger = trevm_sign::SigningKey::generate();
    // A Pulley instruction patched after signing, CRC recomputed (the attack that used to crash
    // the device): the digest no longer matches.
    let patched_code = patched(&hello, |p| {
        let n = p.len();
        p[n / 2] ^= 0x01;
    });
    // …and the same capsule re-signed with an untrusted key.
    let resigned = signed(&patched_code, &stranger, 99, Some(&[]));
    // A signature byte flipped, CRC recomputed.
    let forged_sig = {
        let c = trevm::Capsule::from_slice(&hello).unwrap();
        let mut t = c.trailer().to_vec();
        let n = t.len();
        t[n - 1] ^= 0x80;
        trevm::capsule::with_trailer(&c, trevm::capsule::TrailerKind::Signed, &t).unwrap()
    };
    let other_name = {
        let c = trevm::Capsule::from_slice(&unsigned).unwrap();
        let renamed = trevm::capsule::encode(c.profile(), "intruder", c.payload()).unwrap();
        signed(&renamed, key(), 1, Some(&[]))
    };

    let cases: Vec<(&str, &str, Vec<u8>, u8, &str)> = vec![
        (
            "unsigned",
            "sandbox/hello",
            unsigned.clone(),
            code::UNAUTHORIZED,
            "capsule is not signed",
        ),
        (
            "unknown signer",
            "sandbox/hello",
            resigned,
            code::UNAUTHORIZED,
            "which this device does not trust",
        ),
        (
            "patched after signing",
            "sandbox/hello",
            patched_code,
            code::UNAUTHORIZED,
            "does not match the SHA-256 digest it was signed with",
        ),
        (
            "bad signature",
            "sandbox/hello",
            forged_sig,
            code::UNAUTHORIZED,
            "signature does not verify with the test key",
        ),
        (
            "name not allowed",
            "sandbox/hello",
            other_name,
            code::FORBIDDEN,
            "the test key is not allowed to sign capsules named `intruder`",
        ),
        (
            "downgrade",
            "sandbox/hello",
            signed(&hello, key(), 0, None),
            code::FORBIDDEN,
            "version 0 of `sandbox` is older than the installed version 1 (anti-rollback)",
        ),
        (
            "same version, other code",
            "vm-control",
            signed(
                &capsule_with("coap-persistent", 32 * 1024, &["v2"]),
                key(),
                1,
                None,
            ),
            code::FORBIDDEN,
            "version 1 of `coap-persistent` is installed already with other contents",
        ),
        (
            "import outside the signed grants",
            "vm-control",
            signed(&v1, key(), 5, Some(&["ariel:wasm-bindings/log-api@0.0.1"])),
            code::FORBIDDEN,
            "capsule imports `uppercase`, which its signed manifest does not grant",
        ),
        (
            "unsigned persistent",
            "vm-control",
            unsigned,
            code::UNAUTHORIZED,
            "capsule is not signed",
        ),
    ];
    for (what, path, body, expected, reason) in cases {
        let (got, text) = outcome(&upload(&mut s, &mut c, path, &body, 6));
        assert_eq!(got, expected, "{what}: {text}");
        assert!(text.contains(reason), "{what}: {text}");
        both_still_answer(&mut s, &mut c, what);
    }

    // A newer signed version is accepted, and then the old one is a downgrade.
    assert_eq!(
        upload(&mut s, &mut c, "vm-control", &persistent_v2(), 6).code,
        code::CHANGED
    );
    let (got, text) = outcome(&upload(&mut s, &mut c, "vm-control", &v1, 6));
    assert_eq!(got, code::FORBIDDEN, "{text}");
    assert!(
        text.contains("older than the installed version 2"),
        "{text}"
    );
    let (got, status) = get_text(&mut s, &mut c, "vm-control");
    assert_eq!(got, code::CONTENT);
    assert!(
        status.contains("version 2, signed by the test key"),
        "{status}"
    );
}

#[test]
fn stored_capsules_and_the_ledger_survive_a_restart_so_no_rollback_either() {
    let store = trevm_slots::storage::shared(trevm_store::MemStore::new());
    let hello = capsule("sandbox", 32 * 1024);
    let v1 = signed(&hello, key(), 1, None);
    let v2 = signed(&hello, key(), 2, None);
    let restart = |store: &trevm_slots::storage::SharedStore| {
        let mut s = server(ServerLimits::default());
        let lines = s.resources.sandbox.restore(store.clone()).expect("restore");
        (s, lines)
    };
    let (mut s, lines) = restart(&store);
    assert!(lines.is_empty(), "{lines:?}");
    let mut c = Client { mid: 0 };
    assert_eq!(
        upload(&mut s, &mut c, "sandbox/hello", &v2, 6).code,
        code::CREATED
    );
    // The same capsule under a second name (the ledger is by the capsule's own name).
    assert_eq!(
        upload(&mut s, &mut c, "sandbox/gone", &v2, 6).code,
        code::CREATED
    );
    let deleted = send(
        &mut s,
        "peer",
        &c.request(code::DELETE, "sandbox/gone", b"", &[]),
    );
    assert_eq!(deleted.code, code::DELETED);
    drop(s);

    let (mut s, lines) = restart(&store);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("restored sandbox capsule `hello` (version 2"),
        "{lines:?}"
    );
    assert_eq!(
        get_text(&mut s, &mut c, "sandbox/hello"),
        (code::CONTENT, "Hello from the sandbox!".into())
    );
    assert_eq!(get_text(&mut s, &mut c, "sandbox/gone").0, code::NOT_FOUND);
    // The ledger came back too: version 1 is a rollback, under any name.
    let old = upload(&mut s, &mut c, "sandbox/hello", &v1, 6);
    assert_eq!(
        old.code,
        code::FORBIDDEN,
        "{}",
        String::from_utf8_lossy(&old.payload)
    );
    let old = upload(&mut s, &mut c, "sandbox/other", &v1, 6);
    assert_eq!(
        old.code,
        code::FORBIDDEN,
        "{}",
        String::from_utf8_lossy(&old.payload)
    );

    // A stored capsule the device no longer trusts is not restored, and says why.
    let mut s = server_trusting(ServerLimits::default(), None, TrustPolicy::new());
    let lines = s.resources.sandbox.restore(store.clone()).expect("restore");
    assert!(
        lines.len() == 1 && lines[0].starts_with("stored sandbox capsule `hello` not restored:"),
        "{lines:?}"
    );
    assert_eq!(get_text(&mut s, &mut c, "sandbox/hello").0, code::NOT_FOUND);

    // An unreadable ledger stops the device rather than forgetting what it installed.
    store
        .borrow_mut()
        .put("ledger/sandbox", b"garbage")
        .unwrap();
    let mut s = server(ServerLimits::default());
    let refused = s.resources.sandbox.restore(store.clone()).unwrap_err();
    assert!(refused.contains("ledger"), "{refused}");
}
