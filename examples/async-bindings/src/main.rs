//! The upstream trevm async scenario on the native board.
//!
//! The capsule logs, prints ten random numbers, sleeps 3 s (an async host call: the executor keeps
//! running other tasks), then loops forever sleeping. The host stops it with a 9 s timeout and
//! reports how long it ran, while a heartbeat task shows the executor was never blocked.
#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use embassy_executor::Spawner;
use embassy_time::{Duration, Instant, Timer};
use trevm::{EngineProfile, Error, Limits, Runtime, RuntimeOptions};
use trevm_native::NativeBoard;

static CAPSULE: trevm::EmbeddedCapsule =
    trevm::include_capsule!(concat!(env!("OUT_DIR"), "/async-bindings.cwasm"));
static HEARTBEATS: AtomicU32 = AtomicU32::new(0);
const TIMEOUT: Duration = Duration::from_secs(9);

#[embassy_executor::task]
async fn heartbeat(board: NativeBoard) {
    loop {
        Timer::after_secs(1).await;
        let n = HEARTBEATS.fetch_add(1, Ordering::Relaxed) + 1;
        board.log().board(&format!(
            "heartbeat {n} (another task on the same executor)"
        ));
    }
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let board = NativeBoard::new();
    let code = match run(&board, spawner).await {
        Ok(()) => 0,
        Err(e) => {
            board.log().board(&format!("error: {e}"));
            1
        }
    };
    std::process::exit(code);
}

async fn run(board: &NativeBoard, spawner: Spawner) -> Result<(), Error> {
    spawner
        .spawn(heartbeat(board.clone()))
        .map_err(|e| Error::Engine(format!("spawn: {e:?}")))?;
    let runtime = Runtime::new(EngineProfile::for_this_machine(), RuntimeOptions::host())?;
    let capsule = CAPSULE.check()?;
    board.log().board(&format!(
        "loading capsule `{}` ({} bytes, {})",
        capsule.name(),
        capsule.len(),
        capsule.profile()
    ));
    let loaded = runtime.load(&capsule)?;
    let limits = Limits::new().with_timeout(TIMEOUT);
    let mut instance = runtime
        .instantiate(&loaded, board.host_state(capsule.name()), limits)
        .await?;
    let started = Instant::now();
    match instance.call_run().await {
        Err(Error::Timeout { .. }) => {
            let ran = started.elapsed();
            board.log().board(&format!(
                "capsule `{}` stopped by its {} s timeout after {}.{:03} s; the heartbeat task ticked {} times meanwhile",
                capsule.name(),
                TIMEOUT.as_secs(),
                ran.as_millis() / 1000,
                ran.as_millis() % 1000,
                HEARTBEATS.load(Ordering::Relaxed)
            ));
            Ok(())
        }
        Ok(()) => {
            board
                .log()
                .board("capsule returned (it was expected to loop until the timeout)");
            Ok(())
        }
        Err(e) => Err(e),
    }
}
