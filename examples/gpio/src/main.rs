//! Blinky on the native board: the `gpio` capsule waits for the button and toggles the LED on each
//! press. Press Enter to press the button; Ctrl-D (end of input) quits.
#![forbid(unsafe_code)]

use embassy_time::Timer;
use std::sync::atomic::Ordering;
use trevm_native::NativeBoard;

#[embassy_executor::main]
async fn main(_spawner: embassy_executor::Spawner) {
    let board = NativeBoard::new();
    let stdin_closed = board.press_button_on_enter();
    board
        .log()
        .board("press Enter to press the button; Ctrl-D quits");
    let quit = async {
        while !stdin_closed.load(Ordering::Relaxed) {
            Timer::after_millis(50).await;
        }
    };
    let result = example_gpio::blinky(&board, quit).await;
    trevm_native::exit(&board, result)
}
