//! An [`Announced`] device keeps its RD links current: an upload adds its capsule's link
//! (with version and signer), a delete removes it, and reads change nothing (the watch's
//! generation stays, so the registration driver is not woken).

use std::path::PathBuf;

use trevm::{EngineProfile, Runtime, RuntimeOptions, TrustPolicy};
use trevm_coap::client::{self, Step};
use trevm_coap::message::code;
use trevm_coap::rd::LinksWatch;
use trevm_coap::{Server, ServerLimits};
use trevm_slots::{Announced, Device, Sandbox, SandboxLimits};
// The embassy-time driver that the runtime's timeouts need on the host.
use trevm_native as _;

type Peer = &'static str;

fn request(
    s: &mut Server<Peer, Announced>,
    mid: &mut u16,
    method: u8,
    path: &[&str],
    body: Vec<u8>,
) -> u8 {
    let mut c = client::Client::new(
        u32::from(*mid),
        client::Timing::default(),
        client::Limits::default(),
    );
    c.start(client::Request::new(method, path).with_payload(body), 0)
        .unwrap();
    loop {
        match c.poll(0) {
            Step::Send(d) => {
                *mid = mid.wrapping_add(1);
                let reply = futures_executor::block_on(s.handle(&"peer", d, 0)).expect("a reply");
                c.receive(&reply, 0);
            }
            Step::Progress { .. } => {}
            Step::Done(reply) => return reply.expect("an answer").code,
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn uploads_and_deletes_change_the_links_and_reads_do_not() {
    let key = trevm_sign::SigningKey::generate();
    let trust = TrustPolicy::new().trust(key.trusted("the test key"));
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let opts = trevm_build::BuildOptions {
        quiet: true,
        initial_memory: Some(32 * 1024),
        signing: trevm_build::Signing::Unsigned,
        ..Default::default()
    };
    let unsigned = trevm_build::build(&root.join("payloads/sandbox"), &opts)
        .expect("build")
        .capsule;
    let capsule = trevm_sign::sign(&unsigned, &key, Some(42), None).expect("sign");
    let runtime = Runtime::new(
        EngineProfile::for_this_machine(),
        RuntimeOptions::host().with_grants(Sandbox::GRANTS),
    )
    .expect("runtime");
    let device = Device {
        sandbox: Sandbox::new(runtime, SandboxLimits::default(), trust),
        persistent: None,
        ephemeral: None,
        memory: None,
        logs: None,
    };
    let watch = LinksWatch::new();
    let mut s = Server::new(
        Announced::new(device, watch.clone()),
        ServerLimits::default(),
    );
    let start = watch.generation();
    assert_eq!(
        watch.newer_than(0).unwrap().1,
        "</status>;rt=\"trevm.status\";ct=50",
        "an empty device announces its status only"
    );
    let mut mid = 0;
    assert_eq!(
        request(&mut s, &mut mid, code::PUT, &["sandbox", "hello"], capsule),
        code::CREATED
    );
    let (after_put, links) = watch
        .newer_than(start)
        .expect("the upload changed the links");
    assert!(
        links.starts_with(
            "</sandbox/hello>;rt=\"trevm.capsule\";slot=\"sandbox\";name=\"hello\";version=\"42\";signer=\""
        ),
        "{links}"
    );
    assert_eq!(
        request(&mut s, &mut mid, code::GET, &["sandbox", "hello"], vec![]),
        code::CONTENT
    );
    assert_eq!(
        request(&mut s, &mut mid, code::GET, &["status"], vec![]),
        code::CONTENT
    );
    assert_eq!(watch.generation(), after_put, "reads change nothing");
    assert_eq!(
        request(
            &mut s,
            &mut mid,
            code::DELETE,
            &["sandbox", "nothing"],
            vec![]
        ),
        code::NOT_FOUND
    );
    assert_eq!(
        watch.generation(),
        after_put,
        "a refused delete changes nothing"
    );
    assert_eq!(
        request(
            &mut s,
            &mut mid,
            code::DELETE,
            &["sandbox", "hello"],
            vec![]
        ),
        code::DELETED
    );
    let (_, links) = watch
        .newer_than(after_put)
        .expect("the delete changed the links");
    assert_eq!(links, "</status>;rt=\"trevm.status\";ct=50");
}
