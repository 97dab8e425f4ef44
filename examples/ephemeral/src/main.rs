//! A CoAP device that starts capsules once, in the background (fire and forget): upstream's
//! "ephemeral" examples. PUT a capsule to `/ephemeral`, and the device answers at once and runs
//! it; `DELETE /ephemeral` stops it; `GET /ephemeral` says how it went.
//!
//! ```sh
//! trevm build payloads/temperature-noise -o noise.cwasm     # signed with your development key
//! trevm push noise.cwasm coap://127.0.0.1/ephemeral          # logs a noisy temperature reading
//! trevm push payloads/fibonacci coap://127.0.0.1/ephemeral   # starts fibonacci(35)
//! trevm call coap://127.0.0.1/ephemeral                      # … returned 9227465
//! trevm call -m delete coap://127.0.0.1/ephemeral            # stops what still runs
//! ```
//!
//! What it starts: `fibonacci(35)` in a capsule exporting `fibonacci` (world
//! `example-ephemeral-no-bindings`), else the capsule's one function without parameters, e.g.
//! `mess-with-temperature` (world `example-ephemeral-with-bindings`). Its capsules may use the
//! log, the sensors and the random number generator.
//!
//! Listens on 127.0.0.1:5683, or the address given as the first argument. Who may do what is the
//! `peers.yml` given as the second argument (docs/coap-security.md); without one, strangers may
//! only list the device. The third argument is the state directory (the device identity and the
//! anti-rollback ledgers; default `$TREVM_STATE_DIR`, else `~/.local/state/trevm`).
//! `examples/policies/open.yml` lets anyone do anything (the commands above need it, or EDHOC
//! credentials).
#![forbid(unsafe_code)]

use std::net::SocketAddr;

use trevm::{Grants, Val};
use trevm_native::NativeBoard;
use trevm_native::coap::{DeviceConfig, SlotGrants};

/// `fibonacci(N)` is what the device starts in a fibonacci capsule.
const N: u32 = 35;

#[embassy_executor::main]
async fn main(_spawner: embassy_executor::Spawner) {
    let board = NativeBoard::new();
    let result = run(&board).await;
    trevm_native::exit(&board, result)
}

async fn run(board: &NativeBoard) -> Result<(), String> {
    let addr: SocketAddr =
        trevm_native::first_arg(([127, 0, 0, 1], 5683).into(), "a listen address")?;
    // Capsules must be signed by the development key (`trevm build` signs with it).
    let trust = trevm_native::trust::development_policy()?;
    let access = trevm_native::access::policy_from_second_arg()?;
    let sensing = Grants {
        log: true,
        sensors: true,
        rng: true,
        ..Grants::none()
    };
    let config = DeviceConfig {
        // A Resource Directory to register with: TREVM_RD, TREVM_EP (docs/fleet.md).
        rd: trevm_native::coap::RdConfig::from_env(addr)?,
        state_dir: trevm_native::access::state_dir_from_third_arg(),
        grants: SlotGrants {
            ephemeral: sensing,
            ..SlotGrants::default()
        },
        ephemeral_starts: vec![("fibonacci".into(), vec![Val::U32(N)])],
        ..DeviceConfig::new(addr, trust, access)
    };
    trevm_native::coap::serve_device(board, config, |_| Ok(())).await
}
