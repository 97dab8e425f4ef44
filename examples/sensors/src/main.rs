//! The `sensors` capsule on the native board: it reads the simulated temperature (a 20–30 °C wave
//! in 1 °C steps) every 500 ms and logs when it crosses 25 °C. Runs for 10 s (or the number of
//! seconds given as the first argument).
#![forbid(unsafe_code)]

use trevm::{EngineProfile, Error, Limits, Runtime, RuntimeOptions};
use trevm_native::NativeBoard;

static CAPSULE: trevm::EmbeddedCapsule =
    trevm::include_capsule!(concat!(env!("OUT_DIR"), "/sensors.cwasm"));

#[embassy_executor::main]
async fn main(_spawner: embassy_executor::Spawner) {
    let board = NativeBoard::new();
    let result = run(&board).await;
    trevm_native::exit(&board, result)
}

async fn run(board: &NativeBoard) -> Result<(), Error> {
    let seconds: u64 =
        trevm_native::first_arg(10, "a number of seconds").map_err(Error::BadArguments)?;
    let runtime = Runtime::new(EngineProfile::for_this_machine(), RuntimeOptions::host())?;
    let loaded = runtime.load(&CAPSULE.check()?)?;
    let limits = Limits::new().with_timeout(embassy_time::Duration::from_secs(seconds));
    let mut instance = runtime
        .instantiate(&loaded, board.host_state("sensors"), limits)
        .await?;
    match instance.call("monitor-temperature", &[]).await {
        Err(Error::Timeout { .. }) => {
            board
                .log()
                .board(&format!("monitoring stopped after {seconds} s"));
            Ok(())
        }
        Err(e) => Err(e),
        Ok(_) => Ok(()),
    }
}
