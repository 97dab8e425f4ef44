//! Plain-wasm capsules (the wasmi provider) in the three slots of a device whose runtimes were
//! made for Pulley: each slot installs and runs one with the same observable result as its Pulley
//! build, refuses a malformed, a resource-hungry and a start-function module with 4.00 while the
//! capsule installed before keeps answering, and takes both kinds one after another.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use trevm::{EngineProfile, Preemption, Runtime, RuntimeOptions, TrustPolicy};
use trevm_coap::message::code;
use trevm_coap::{Message, MsgType, Server, ServerLimits};
use trevm_slots::{Device, Ephemeral, Persistent, Sandbox, SandboxLimits};
// The embassy-time driver that the runtime's timeouts need on the host: the native board's clock.
use trevm_native as _;

type Peer = &'static str;

fn key() -> &'static trevm_sign::SigningKey {
    static KEY: OnceLock<trevm_sign::SigningKey> = OnceLock::new();
    KEY.get_or_init(trevm_sign::SigningKey::generate)
}

fn trusting_key() -> TrustPolicy {
    TrustPolicy::new().trust(key().trusted("the test key"))
}

fn wasmi() -> EngineProfile {
    EngineProfile::wasmi(Preemption::Fuel)
}

/// `payloads/<name>` built for `profile` (with `features`), signed by the test key as `version`.
fn capsule(name: &str, profile: EngineProfile, features: &[&str], version: u64) -> Vec<u8> {
    type Cache = Mutex<std::collections::HashMap<String, Vec<u8>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let mut cache = CACHE.get_or_init(Default::default).lock().unwrap();
    let unsigned = cache
        .entry(format!("{name}{features:?}{profile}"))
        .or_insert_with(|| {
            let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
            let opts = trevm_build::BuildOptions {
                quiet: true,
                profile,
                initial_memory: Some(32 * 1024),
                features: features.iter().map(|f| f.to_string()).collect(),
                signing: trevm_build::Signing::Unsigned,
                ..Default::default()
            };
            trevm_build::build(&root.join("payloads").join(name), &opts)
                .unwrap_or_else(|e| panic!("building {name}: {e}"))
                .capsule
        })
        .clone();
    trevm_sign::sign(&unsigned, key(), Some(version), None).expect("sign")
}

/// A wasm capsule named `name` around the core module `wasm`, signed as version 100 with no
/// imports granted and no exports stated: valid as a container and as a signature, so that only
/// what the device makes of the module decides.
fn hostile(name: &str, wasm: &[u8]) -> Vec<u8> {
    let unsigned = trevm::capsule::encode(wasmi(), name, wasm).unwrap();
    let claims = trevm_sign::Claims {
        version: Some(100),
        grants: Some(Vec::new()),
        exports: Some(Vec::new()),
    };
    trevm_sign::sign_with(&unsigned, key(), claims).expect("sign")
}

fn leb(mut n: u32, out: &mut Vec<u8>) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A core module of the given sections (`(id, content)`).
fn module(sections: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut out = b"\0asm\x01\0\0\0".to_vec();
    for (id, content) in sections {
        out.push(*id);
        leb(content.len() as u32, &mut out);
        out.extend_from_slice(content);
    }
    out
}

/// `n` functions `() -> ()` doing nothing; `start` makes the first the start function.
fn functions(n: u32, start: bool) -> Vec<u8> {
    let mut funcs = Vec::new();
    leb(n, &mut funcs);
    funcs.resize(funcs.len() + n as usize, 0);
    let mut code = Vec::new();
    leb(n, &mut code);
    for _ in 0..n {
        code.extend_from_slice(&[2, 0, 0x0b]);
    }
    let mut sections = vec![(1, vec![1, 0x60, 0, 0]), (3, funcs)];
    if start {
        sections.push((8, vec![0]));
    }
    sections.push((10, code));
    module(&sections)
}

/// The modules every slot refuses with 4.00, and what the reason says.
fn refused_modules() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    vec![
        (
            "malformed",
            hostile(
                "hello",
                b"\0asm\x01\0\0\0\x01\xff\xffthis is no type section",
            ),
            "",
        ),
        // Beyond wasmi's strict limits (10,000 functions): refused before it is translated.
        (
            "10,001 functions",
            hostile("hello", &functions(10_001, false)),
            "",
        ),
        (
            "start function",
            hostile("hello", &functions(1, true)),
            "start",
        ),
    ]
}

/// 1,024 pages (64 MiB) of initial memory, far beyond the slots' limits.
fn huge_memory() -> Vec<u8> {
    let mut memory = vec![1, 0];
    leb(1_024, &mut memory);
    hostile("hello", &module(&[(5, memory)]))
}

/// The persistent slot's grants: `log-api`, and the example world's `uppercase`.
fn persistent_runtime() -> Runtime {
    let grants = trevm::Grants {
        log: true,
        ..trevm::Grants::none()
    };
    let mut rt = Runtime::new(
        EngineProfile::for_this_machine(),
        RuntimeOptions::host().with_grants(grants),
    )
    .expect("runtime");
    let ty = trevm::FuncType {
        params: vec![("input".into(), trevm::ValType::String)],
        results: vec![trevm::ValType::String],
    };
    rt.define_func_typed("", "uppercase", ty, |_host, args| match args {
        [trevm::Val::String(input)] => Ok(vec![trevm::Val::String(input.to_uppercase())]),
        _ => Err(trevm::HostFnError("uppercase takes one string".into())),
    })
    .expect("link uppercase");
    rt
}

/// A device of Pulley runtimes with a sandbox, a persistent slot, and `ephemeral` if given.
fn server(ephemeral: Option<Ephemeral>) -> Server<Peer, Device> {
    let sandbox_rt = Runtime::new(
        EngineProfile::for_this_machine(),
        RuntimeOptions::host().with_grants(Sandbox::GRANTS),
    )
    .expect("runtime");
    let limits = SandboxLimits {
        run: SandboxLimits::default()
            .run
            .with_timeout(trevm::Duration::from_secs(5)),
        ..Default::default()
    };
    let persistent = Persistent::new(
        persistent_runtime(),
        trevm::Limits::new(),
        |name| trevm::HostState::new(name),
        trusting_key(),
    )
    .expect("persistent");
    Server::new(
        Device {
            sandbox: Sandbox::new(sandbox_rt, limits, trusting_key()),
            persistent: Some(persistent),
            ephemeral,
            memory: None,
            logs: None,
        },
        ServerLimits {
            max_body: 128 * 1024,
            ..Default::default()
        },
    )
}

struct Client {
    mid: u16,
}

impl Client {
    fn request(&mut self, c: u8, path: &str, payload: &[u8]) -> Message {
        self.mid = self.mid.wrapping_add(1);
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut m = Message::request(c, self.mid, &segments);
        m.payload = payload.to_vec();
        m
    }

    fn send(&mut self, s: &mut Server<Peer, Device>, c: u8, path: &str, body: &[u8]) -> Reply {
        let m = self.request(c, path, body);
        let reply = futures_executor::block_on(s.handle(&"peer", &m.encode(), 0)).expect("a reply");
        let reply = Message::parse(&reply).expect("a well-formed reply");
        assert_eq!(
            (reply.ty, reply.mid),
            (MsgType::Ack, m.mid),
            "piggybacked ACK"
        );
        Reply(
            reply.code,
            String::from_utf8_lossy(&reply.payload).into_owned(),
        )
    }

    fn get(&mut self, s: &mut Server<Peer, Device>, path: &str) -> Reply {
        self.send(s, code::GET, path, b"")
    }

    /// PUTs `body` block-wise (1 KiB blocks) as trevm-coap's client does; the last reply.
    fn upload(&mut self, s: &mut Server<Peer, Device>, path: &str, body: &[u8]) -> Reply {
        use trevm_coap::client::{self, Step};
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let put = client::Request::new(code::PUT, &segments)
            .with_payload(body.to_vec())
            .with_block(1024);
        let timing = client::Timing::default();
        let mut client =
            client::Client::new(u32::from(self.mid), timing, client::Limits::default());
        client.start(put, 0).expect("start");
        loop {
            match client.poll(0) {
                Step::Send(datagram) => {
                    self.mid = self.mid.wrapping_add(1);
                    let reply = futures_executor::block_on(s.handle(&"peer", datagram, 0));
                    client.receive(&reply.expect("a reply"), 0);
                }
                Step::Progress { .. } => {}
                Step::Done(reply) => {
                    let reply = reply.expect("an answer");
                    return Reply(reply.code, String::from_utf8_lossy(&reply.payload).into());
                }
                Step::Wait { .. } | Step::Idle => panic!("no answer to the upload"),
            }
        }
    }
}

/// A response's code and text.
#[derive(Debug, PartialEq, Eq)]
struct Reply(u8, String);

fn content(text: &str) -> Reply {
    Reply(code::CONTENT, text.into())
}

#[test]
fn the_sandbox_runs_a_wasm_capsule_as_its_pulley_build_and_refuses_hostile_modules() {
    let mut s = server(None);
    let mut c = Client { mid: 0 };
    let hello = content("Hello from the sandbox!");
    // The Pulley build first, then the wasm build in its place: one slot, both kinds.
    let pulley = capsule("sandbox", EngineProfile::for_this_machine(), &[], 1);
    assert_eq!(c.upload(&mut s, "sandbox/hello", &pulley).0, code::CREATED);
    assert_eq!(c.get(&mut s, "sandbox/hello"), hello);
    let wasm = capsule("sandbox", wasmi(), &[], 2);
    let r = c.upload(&mut s, "sandbox/hello", &wasm);
    assert_eq!(r.0, code::CHANGED, "{}", r.1);
    assert_eq!(c.get(&mut s, "sandbox/hello"), hello);

    for (what, body, reason) in refused_modules() {
        let Reply(got, why) = c.upload(&mut s, "sandbox/hello", &body);
        assert_eq!(got, code::BAD_REQUEST, "{what}: {why}");
        assert!(why.contains(reason) && !why.is_empty(), "{what}: {why}");
        assert_eq!(c.get(&mut s, "sandbox/hello"), hello, "after {what}");
    }
    // The sandbox checks a capsule by type at upload (no second instance beside those running):
    // memory beyond the run limit is what its first run answers, and the capsule before it is
    // gone only because it was replaced.
    let Reply(got, why) = c.upload(&mut s, "sandbox/hungry", &huge_memory());
    assert_eq!(got, code::BAD_REQUEST, "{why}");
    assert!(why.contains("run"), "no `run` export: {why}");

    // And back to Pulley.
    let pulley = capsule("sandbox", EngineProfile::for_this_machine(), &[], 3);
    assert_eq!(c.upload(&mut s, "sandbox/hello", &pulley).0, code::CHANGED);
    assert_eq!(c.get(&mut s, "sandbox/hello"), hello);
}

#[test]
fn the_persistent_slot_serves_a_wasm_capsule_and_refuses_hostile_modules() {
    // coap-counter first (the CoAP world without imports); coap-persistent, which imports the
    // application's `uppercase`, comes last.
    let mut s = server(None);
    let mut c = Client { mid: 1000 };
    let v1 = capsule("coap-counter", wasmi(), &[], 1);
    let r = c.upload(&mut s, "vm-control", &v1);
    assert_eq!(r, Reply(code::CHANGED, "serving counter".into()));
    assert_eq!(c.send(&mut s, code::POST, "vm/counter", b""), content("1"));
    assert_eq!(c.get(&mut s, "vm/counter"), content("1"));

    let mut refused = refused_modules();
    refused.push(("huge initial memory", huge_memory(), "memory"));
    for (what, body, reason) in refused {
        let Reply(got, why) = c.upload(&mut s, "vm-control", &body);
        assert_eq!(got, code::BAD_REQUEST, "{what}: {why}");
        assert!(why.contains(reason) && !why.is_empty(), "{what}: {why}");
        // The same instance keeps serving: its count goes on.
        assert_eq!(c.get(&mut s, "vm/counter"), content("1"), "after {what}");
    }
    assert_eq!(c.send(&mut s, code::POST, "vm/counter", b""), content("2"));

    // Version 2 as Pulley code on the same slot: a fresh instance.
    let v2 = capsule("coap-counter", EngineProfile::for_this_machine(), &[], 2);
    assert_eq!(
        c.upload(&mut s, "vm-control", &v2),
        Reply(code::CHANGED, "serving counter".into())
    );
    assert_eq!(c.send(&mut s, code::POST, "vm/counter", b""), content("1"));

    // Upstream's persistent capsule as plain wasm: its import of the application's own
    // `uppercase` (`Runtime::define_func_typed`) is lifted and lowered by the canonical ABI.
    let v3 = capsule("coap-persistent", wasmi(), &[], 3);
    let Reply(got, why) = c.upload(&mut s, "vm-control", &v3);
    assert_eq!(got, code::CHANGED, "{why}");
    assert_eq!(
        c.send(&mut s, code::PUT, "vm/shout", b"make me loud"),
        Reply(code::CHANGED, "MAKE ME LOUD".into())
    );
}

/// Log lines, kept.
#[derive(Default)]
struct Lines(Mutex<Vec<String>>);

impl trevm::LogSink for Lines {
    fn log(&self, _capsule: &str, line: &str) {
        self.0.lock().unwrap().push(line.to_string());
    }
}

#[test]
fn the_ephemeral_slot_starts_a_wasm_capsule_and_refuses_hostile_modules() {
    use futures_executor::LocalPool;
    use futures_util::task::LocalSpawnExt;

    let lines = Arc::new(Lines::default());
    let runtime =
        Runtime::new(EngineProfile::for_this_machine(), RuntimeOptions::host()).expect("runtime");
    let ephemeral = Ephemeral::new(
        runtime,
        trevm::Limits::new(),
        |name| trevm::HostState::new(name),
        trusting_key(),
    )
    .with_start("fibonacci", vec![trevm::Val::U32(20)])
    .with_log(lines.clone());
    let mut pool = LocalPool::new();
    pool.spawner()
        .spawn_local(ephemeral.driver())
        .expect("spawn the driver");
    let mut s = server(Some(ephemeral));
    let mut c = Client { mid: 2000 };
    let returned = "fibonacci(20) returned 6765";

    // Wasm, then Pulley, then wasm again: each started, run by the driver, logged the same.
    for (n, profile) in [wasmi(), EngineProfile::for_this_machine(), wasmi()]
        .into_iter()
        .enumerate()
    {
        let version = n as u64 + 1;
        let r = c.upload(
            &mut s,
            "ephemeral",
            &capsule("fibonacci", profile, &[], version),
        );
        assert_eq!(
            r,
            Reply(code::CHANGED, "started fibonacci: fibonacci(20)".into()),
            "{profile}"
        );
        pool.run_until_stalled();
        let Reply(got, text) = c.get(&mut s, "ephemeral");
        assert_eq!(got, code::CONTENT);
        assert!(text.contains(returned), "{profile}: {text}");
        let logged = lines.0.lock().unwrap();
        assert_eq!(logged.len(), n + 1, "{logged:?}");
        assert!(logged[n].contains(returned), "{logged:?}");
    }

    let mut refused = refused_modules();
    refused.push(("huge initial memory", huge_memory(), "memory"));
    for (what, body, reason) in refused {
        let Reply(got, why) = c.upload(&mut s, "ephemeral", &body);
        assert_eq!(got, code::BAD_REQUEST, "{what}: {why}");
        assert!(why.contains(reason) && !why.is_empty(), "{what}: {why}");
        pool.run_until_stalled();
        // Nothing else was started: the last run is still what /ephemeral describes.
        let Reply(_, text) = c.get(&mut s, "ephemeral");
        assert!(text.contains(returned), "after {what}: {text}");
        assert_eq!(lines.0.lock().unwrap().len(), 3, "after {what}");
    }
}
