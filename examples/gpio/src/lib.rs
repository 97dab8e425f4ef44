//! Blinky on the native board: the `gpio` capsule waits for the button and toggles the LED on each
//! press. The program (`main.rs`) presses the button on Enter and quits on Ctrl-D; its tests press
//! it from a script on the board's virtual clock.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use core::future::Future;

use embassy_futures::select::{Either, select};
use trevm::{EngineProfile, Error, Limits, Runtime, RuntimeOptions};
use trevm_native::NativeBoard;

static CAPSULE: trevm::EmbeddedCapsule =
    trevm::include_capsule!(concat!(env!("OUT_DIR"), "/gpio.cwasm"));

/// Runs the capsule's `blinky` with `board`'s LED and button until it returns or `quit`
/// resolves, then says on the board's log how often the LED changed and how it is left.
pub async fn blinky(board: &NativeBoard, quit: impl Future<Output = ()>) -> Result<(), Error> {
    let runtime = Runtime::new(EngineProfile::for_this_machine(), RuntimeOptions::host())?;
    let loaded = runtime.load(&CAPSULE.check()?)?;
    let mut instance = runtime
        .instantiate(&loaded, board.host_state("gpio"), Limits::new())
        .await?;
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
