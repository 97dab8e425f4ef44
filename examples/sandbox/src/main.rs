//! A CoAP device with an empty sandbox, on the native board. Upload a capsule exporting
//! `run: func() -> string`, run it, delete it — with any CoAP client:
//!
//! ```sh
//! trevm build payloads/sandbox -o hello.cwasm   # signed with your development key
//! coap-client-notls -m put -b 1024 -f hello.cwasm -U coap://127.0.0.1:5683/sandbox/hello
//! coap-client-notls -m get coap://127.0.0.1:5683/sandbox/hello
//! coap-client-notls -m delete coap://127.0.0.1:5683/sandbox/hello
//! ```
//!
//! Listens on 127.0.0.1:5683, or the address given as the first argument (e.g. `[::1]:5683`).
//! Who may do what is the `peers.yml` given as the second argument (docs/coap-security.md);
//! without one, strangers may only list the device. The third argument is the state directory
//! (the device identity and the capsules uploaded to it, kept across restarts; default
//! `$TREVM_STATE_DIR`, else `~/.local/state/trevm`). `examples/policies/open.yml` lets anyone
//! do anything (the commands above need it, or EDHOC credentials). With `TREVM_RD=coap://…` and
//! `TREVM_EP=NAME` in the environment it registers with that Resource Directory, as
//! `trevm serve --rd … --ep …` does (docs/fleet.md).
#![forbid(unsafe_code)]

use std::net::SocketAddr;

use trevm_native::NativeBoard;

#[embassy_executor::main]
async fn main(_spawner: embassy_executor::Spawner) {
    let board = NativeBoard::new();
    let result = run(&board).await;
    trevm_native::exit(&board, result)
}

async fn run(board: &NativeBoard) -> Result<(), String> {
    let addr: SocketAddr =
        trevm_native::first_arg(([127, 0, 0, 1], 5683).into(), "a listen address")?;
    // The device: trevm_coap's message layer (dedup, block-wise transfer, .well-known/core) in
    // front of a Sandbox, on a UDP socket (crates/trevm-native/src/coap.rs).
    // Uploads must be signed by the development key (`trevm build` signs with it by default).
    let trust = trevm_native::trust::development_policy()?;
    let access = trevm_native::access::policy_from_second_arg()?;
    // State (the device identity, uploaded capsules): the third argument, else $TREVM_STATE_DIR,
    // else ~/.local/state/trevm.
    let config = trevm_native::coap::DeviceConfig {
        // A Resource Directory to register with: TREVM_RD, TREVM_EP (docs/fleet.md).
        rd: trevm_native::coap::RdConfig::from_env(addr)?,
        state_dir: trevm_native::access::state_dir_from_third_arg(),
        ..trevm_native::coap::DeviceConfig::new(addr, trust, access)
    };
    trevm_native::coap::serve_device(board, config, |_| Ok(())).await
}
