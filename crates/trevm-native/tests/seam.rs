//! trevm's VM-neutral API as an application sees it: typed calls, signatures, the
//! `coap-server-guest` world, and host functions of the application's own, each with the error a
//! wrong use gets (never a panic).

mod common;

use common::*;
use trevm::{
    COAP_SERVER_GUEST, CoapGuestError, EngineProfile, Error, Grants, HostFnError, HostState,
    Limits, Runtime, RuntimeOptions, Val, ValType,
};
use trevm_coap::message::{code, encode_options_payload, opt, parse_options_payload};

#[test]
fn typed_calls_and_signatures_speak_wit() {
    let rt = runtime();
    let loaded = rt.load(&capsule("fibonacci")).unwrap();
    let exported: Vec<String> = loaded
        .exported_funcs(&rt)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        exported.contains(&"fibonacci(n: u32) -> u32".to_string()),
        "{exported:?}"
    );
    block_on(async {
        let mut inst = rt
            .instantiate(&loaded, HostState::new("fibonacci"), Limits::new())
            .await
            .unwrap();
        let sig = inst.signature("fibonacci").unwrap();
        assert!(sig.is(&[ValType::U32], &[ValType::U32]), "{sig}");
        assert_eq!(
            inst.call_typed::<(u32,), (u32,)>("fibonacci", (20,)).await,
            Ok((6765,))
        );
        // Other Rust types than the export's: refused before the call, saying what it takes.
        match inst
            .call_typed::<(String,), (u32,)>("fibonacci", ("x".into(),))
            .await
        {
            Err(Error::MissingExport { name, reason }) => {
                assert_eq!(name, "fibonacci");
                assert!(reason.contains("func(n: u32) -> u32"), "{reason}");
            }
            other => panic!("expected MissingExport, got {other:?}"),
        }
        // The instance is still usable, dynamically too.
        assert_eq!(
            inst.call("fibonacci", &[Val::U32(10)]).await,
            Ok(vec![Val::U32(55)])
        );
        // And a capsule without the CoAP world says so by the interface's name.
        match inst.coap_initialize_handler().await {
            Err(Error::MissingExport { name, .. }) => assert_eq!(name, COAP_SERVER_GUEST),
            other => panic!("expected MissingExport, got {other:?}"),
        }
    });
}

/// A runtime granting `log-api`, with the example world's `uppercase` defined by `f`.
fn coap_runtime(
    f: impl Fn(&mut HostState, &[Val]) -> Result<Vec<Val>, HostFnError> + Send + Sync + 'static,
) -> Runtime {
    let grants = Grants {
        log: true,
        ..Grants::none()
    };
    let mut rt = Runtime::new(
        EngineProfile::for_this_machine(),
        RuntimeOptions::host().with_grants(grants),
    )
    .unwrap();
    rt.define_func("", "uppercase", f).unwrap();
    rt
}

/// `PUT /shout` with `body` through `coap-run`.
async fn shout(
    inst: &mut trevm::Instance,
    body: &[u8],
) -> Result<Result<(u8, Vec<u8>), CoapGuestError>, Error> {
    let mut message = encode_options_payload(&[(opt::URI_PATH, b"shout".to_vec())], body);
    let observed = message.len() as u32;
    message.resize(1152, 0);
    inst.coap_run(code::PUT, observed, &message).await
}

#[test]
fn the_coap_world_is_called_typed() {
    let rt = coap_runtime(|_, args| match args {
        [Val::String(s)] => Ok(vec![Val::String(s.to_uppercase())]),
        _ => Err(HostFnError("uppercase takes one string".into())),
    });
    let loaded = rt.load(&capsule("coap-persistent")).unwrap();
    block_on(async {
        let mut inst = rt
            .instantiate(&loaded, HostState::new("coap-persistent"), Limits::new())
            .await
            .unwrap();
        assert_eq!(inst.coap_initialize_handler().await, Ok(Ok(())));
        assert_eq!(
            inst.coap_report().await,
            Ok(Ok(vec!["hello".into(), "shout".into(), "count".into()]))
        );
        let (c, bytes) = shout(&mut inst, b"make me loud").await.unwrap().unwrap();
        assert_eq!(c, code::CHANGED);
        let (_, payload) = parse_options_payload(&bytes).unwrap();
        assert_eq!(payload, b"MAKE ME LOUD");
        // A path the capsule does not serve is its `not-found`.
        let mut message = encode_options_payload(&[(opt::URI_PATH, b"nope".to_vec())], b"");
        let observed = message.len() as u32;
        message.resize(1152, 0);
        assert_eq!(
            inst.coap_run(code::GET, observed, &message).await,
            Ok(Err(CoapGuestError::NotFound))
        );
    });
}

#[test]
fn a_host_function_refusing_or_answering_wrongly_traps_the_capsule_not_the_host() {
    for (rt, expected) in [
        (
            coap_runtime(|_, _| Err(HostFnError("no shouting today".into()))),
            "no shouting today",
        ),
        (
            // The import returns `string`; answering a number is caught before the capsule sees it.
            coap_runtime(|_, _| Ok(vec![Val::U32(7)])),
            "returned a wrong result",
        ),
        (
            coap_runtime(|_, _| Ok(vec![])),
            "returned 0 value(s) for 1 result(s)",
        ),
    ] {
        let loaded = rt.load(&capsule("coap-persistent")).unwrap();
        block_on(async {
            let mut inst = rt
                .instantiate(&loaded, HostState::new("coap-persistent"), Limits::new())
                .await
                .unwrap();
            assert_eq!(inst.coap_initialize_handler().await, Ok(Ok(())));
            match shout(&mut inst, b"hi").await {
                Err(Error::HostRefused(m)) => assert!(m.contains(expected), "{m}"),
                other => panic!("expected HostRefused({expected}), got {other:?}"),
            }
            assert_eq!(shout(&mut inst, b"hi").await, Err(Error::Stopped));
        });
    }
}
