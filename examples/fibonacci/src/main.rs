//! A pure-computation capsule on the native board: call `fibonacci(n)` and print the result, on
//! each VM provider: the Pulley component on Wasmtime, then the same source as plain wasm on
//! wasmi, both through one [`Runtime`].
//!
//! Usage: `cargo run --release -p example-fibonacci [-- N]` (default N = 20).
#![forbid(unsafe_code)]

use embassy_executor::Spawner;
use embassy_time::Instant;
use trevm::{EngineProfile, Error, Grants, Limits, Runtime, RuntimeOptions, Val};
use trevm_native::NativeBoard;

static PULLEY: trevm::EmbeddedCapsule =
    trevm::include_capsule!(concat!(env!("OUT_DIR"), "/fibonacci.cwasm"));
static WASMI: trevm::EmbeddedCapsule =
    trevm::include_capsule!(concat!(env!("OUT_DIR"), "/fibonacci-wasmi.capsule"));

#[embassy_executor::main]
async fn main(_spawner: Spawner) {
    let board = NativeBoard::new();
    let code = match run(&board).await {
        Ok(()) => 0,
        Err(e) => {
            board.log().board(&format!("error: {e}"));
            1
        }
    };
    std::process::exit(code);
}

async fn run(board: &NativeBoard) -> Result<(), Error> {
    let n: u32 = match std::env::args().nth(1) {
        Some(arg) => arg
            .parse()
            .map_err(|_| Error::BadArguments(format!("`{arg}` is not a u32")))?,
        None => 20,
    };
    // A pure function needs no host interface: grant none.
    let runtime = Runtime::new(
        EngineProfile::for_this_machine(),
        RuntimeOptions::host().with_grants(Grants::none()),
    )?;
    for capsule in [PULLEY, WASMI] {
        let capsule = capsule.check()?;
        let loaded = runtime.load(&capsule)?;
        let mut instance = runtime
            .instantiate(&loaded, board.host_state("fibonacci"), Limits::new())
            .await?;
        let started = Instant::now();
        let result = instance.call("fibonacci", &[Val::U32(n)]).await?;
        let took = started.elapsed();
        match result.as_slice() {
            [Val::U32(v)] => {
                println!("fibonacci({n}) = {v} ({})", loaded.provider());
                board.log().board(&format!(
                    "computed in {} µs, {} units of {} fuel",
                    took.as_micros(),
                    instance.fuel_consumed().unwrap_or(0),
                    loaded.provider()
                ));
            }
            other => return Err(Error::Trap(format!("unexpected result {other:?}"))),
        }
    }
    Ok(())
}
