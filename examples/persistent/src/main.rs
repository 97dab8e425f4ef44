//! A CoAP device whose resources come from a capsule: `payloads/coap-persistent` (version 1,
//! built into the firmware) serves `/vm/hello`, `/vm/shout` and `/vm/count`. Replace it while the
//! device runs, without a failed request:
//!
//! ```sh
//! trevm build payloads/coap-persistent --features v2 -o v2.cwasm
//! trevm push v2.cwasm coap://127.0.0.1/vm-control
//! trevm call coap://127.0.0.1/vm/hello        # … version 2
//! trevm call -m put --payload 'make me loud' coap://127.0.0.1/vm/shout
//! trevm push payloads/temperature-server coap://127.0.0.1/vm-control
//! trevm call coap://127.0.0.1/vm/temperature_sensor   # e.g. 23.17
//! ```
//!
//! Its persistent slot grants `log-api`, `sensors-api` and `rng-api` (what the world
//! `example-persistent-with-bindings` imports) and the world `example-coap-server`'s `uppercase`.
//!
//! Listens on 127.0.0.1:5683, or the address given as the first argument. It has the sandbox too.
//! Who may do what is the `peers.yml` given as the second argument (docs/coap-security.md);
//! without one, strangers may only list the device. The third argument is the state directory
//! (the device identity and the capsules uploaded to it, kept across restarts; default
//! `$TREVM_STATE_DIR`, else `~/.local/state/trevm`). `examples/policies/open.yml` lets anyone
//! do anything (the commands above need it, or EDHOC credentials).
#![forbid(unsafe_code)]

use std::net::SocketAddr;

use trevm::{HostFnError, Val};
use trevm_native::NativeBoard;

static CAPSULE: trevm::EmbeddedCapsule =
    trevm::include_capsule!(concat!(env!("OUT_DIR"), "/coap-persistent.cwasm"));

#[embassy_executor::main]
async fn main(_spawner: embassy_executor::Spawner) {
    let board = NativeBoard::new();
    let result = run(&board).await;
    trevm_native::exit(&board, result)
}

async fn run(board: &NativeBoard) -> Result<(), String> {
    let addr: SocketAddr =
        trevm_native::first_arg(([127, 0, 0, 1], 5683).into(), "a listen address")?;
    // Replacements must be signed by the development key (`trevm build` signs with it).
    let trust = trevm_native::trust::development_policy()?;
    let access = trevm_native::access::policy_from_second_arg()?;
    // State (the device identity, uploaded capsules): the third argument, else $TREVM_STATE_DIR,
    // else ~/.local/state/trevm.
    // Its persistent capsules may log, read sensors and draw random numbers (what
    // `example-persistent-with-bindings` imports), besides the world's own `uppercase`.
    let grants = trevm_native::coap::SlotGrants {
        persistent: trevm::Grants {
            log: true,
            sensors: true,
            rng: true,
            ..trevm::Grants::none()
        },
        ..Default::default()
    };
    let config = trevm_native::coap::DeviceConfig {
        persistent: Some(CAPSULE),
        // A Resource Directory to register with: TREVM_RD, TREVM_EP (docs/fleet.md).
        rd: trevm_native::coap::RdConfig::from_env(addr)?,
        state_dir: trevm_native::access::state_dir_from_third_arg(),
        grants,
        ..trevm_native::coap::DeviceConfig::new(addr, trust, access)
    };
    trevm_native::coap::serve_device(board, config, link_uppercase).await
}

/// The example world's own import, `uppercase: func(input: string) -> string`, next to the
/// `ariel:wasm-bindings` interfaces: how an application gives its capsules host functions of its
/// own.
fn link_uppercase(runtime: &mut trevm::Runtime) -> Result<(), trevm::Error> {
    let ty = trevm::FuncType {
        params: vec![("input".into(), trevm::ValType::String)],
        results: vec![trevm::ValType::String],
    };
    // Typed, so plain-wasm capsules (the wasmi provider) can import it too.
    runtime.define_func_typed("", "uppercase", ty, |_host, args| match args {
        [Val::String(input)] => Ok(vec![Val::String(input.to_uppercase())]),
        _ => Err(HostFnError("uppercase takes one string".into())),
    })
}
