//! Blinky on the native board: the `gpio` capsule waits for the button and toggles the LED on each
//! press. Press Enter to press the button; Ctrl-D (end of input) quits.
#![forbid(unsafe_code)]

use embassy_futures::select::{Either, select};
use embassy_time::Timer;
use std::sync::atomic::Ordering;
use trevm::{EngineProfile, Error, Limits, Runtime, RuntimeOptions};
use trevm_native::NativeBoard;

static CAPSULE: trevm::EmbeddedCapsule =
    trevm::include_capsule!(concat!(env!("OUT_DIR"), "/gpio.cwasm"));

#[embassy_executor::main]
async fn main(_spawner: embassy_executor::Spawner) {
    let board = NativeBoard::new();
    let result = run(&board).await;
    trevm_native::exit(&board, result)
}

async fn run(board: &NativeBoard) -> Result<(), Error> {
    let stdin_closed = board.press_button_on_enter();
    board
        .log()
        .board("press Enter to press the button; Ctrl-D quits");
    let runtime = Runtime::new(EngineProfile::for_this_machine(), RuntimeOptions::host())?;
    let loaded = runtime.load(&CAPSULE.check()?)?;
    let mut instance = runtime
        .instantiate(&loaded, board.host_state("gpio"), Limits::new())
        .await?;
    let quit = async {
        while !stdin_closed.load(Ordering::Relaxed) {
            Timer::after_millis(50).await;
        }
    };
    if let Either::First(result) = select(instance.call("blinky", &[]), quit).await {
        result?;
        board.log().board("blinky returned");
    }
    board.log().board(&format!(
        "the LED changed {} times and is {}",
        board.led_history().len(),
        if board.led_is_on() { "on" } else { "off" }
    ));
    Ok(())
}
