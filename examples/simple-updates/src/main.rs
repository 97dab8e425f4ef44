//! Switching capsules at run time: two capsules are preloaded; one runs, and each press of the
//! button (Enter) stops it and starts the other — the firmware itself never restarts. Ctrl-D quits.
#![forbid(unsafe_code)]

use std::sync::atomic::Ordering;

use embassy_futures::select::{Either, select};
use embassy_time::Timer;
use trevm::{EngineProfile, Error, Limits, Runtime, RuntimeOptions};
use trevm_native::NativeBoard;

static ONE: trevm::EmbeddedCapsule =
    trevm::include_capsule!(concat!(env!("OUT_DIR"), "/updates-one.cwasm"));
static TWO: trevm::EmbeddedCapsule =
    trevm::include_capsule!(concat!(env!("OUT_DIR"), "/updates-two.cwasm"));

#[embassy_executor::main]
async fn main(_spawner: embassy_executor::Spawner) {
    let board = NativeBoard::new();
    let result = run(&board).await;
    trevm_native::exit(&board, result)
}

async fn run(board: &NativeBoard) -> Result<(), Error> {
    let stdin_closed = board.press_button_on_enter();
    let runtime = Runtime::new(EngineProfile::for_this_machine(), RuntimeOptions::host())?;
    let capsules = [runtime.load(&ONE.check()?)?, runtime.load(&TWO.check()?)?];
    board
        .log()
        .board("press Enter to switch capsules; Ctrl-D quits");
    let button = board.button().clone();
    let mut current = 0;
    loop {
        let capsule = &capsules[current];
        board.log().board(&format!("starting `{}`", capsule.name()));
        let mut instance = runtime
            .instantiate(capsule, board.host_state(capsule.name()), Limits::new())
            .await?;
        let pressed = async {
            let presses = button.presses();
            while button.presses() == presses && !stdin_closed.load(Ordering::Relaxed) {
                Timer::after_millis(20).await;
            }
        };
        match select(instance.call_run(), pressed).await {
            Either::First(result) => {
                result?;
                board
                    .log()
                    .board(&format!("`{}` returned by itself", capsule.name()));
            }
            Either::Second(()) if stdin_closed.load(Ordering::Relaxed) => {
                board
                    .log()
                    .board(&format!("stopping `{}`; bye", capsule.name()));
                return Ok(());
            }
            Either::Second(()) => {
                board
                    .log()
                    .board(&format!("button: stopping `{}`", capsule.name()));
            }
        }
        // Dropping the instance frees its store and memory; the next capsule starts fresh.
        drop(instance);
        current = 1 - current;
    }
}
