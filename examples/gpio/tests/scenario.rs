//! As a user: start blinky, press the button three times, see the LED go on, off, on; quit.
//!
//! The presses run in the test's process on the board's virtual clock, each made once the capsule
//! listens for the button (an event, not a pause); the program itself is started to see that it
//! comes up and quits on Ctrl-D.

use std::sync::Arc;
use std::time::Duration;

use trevm_native::clock::{run_virtual, until};
use trevm_native::{ConsoleLog, NativeBoard};
use trevm_testkit::Running;

const WAIT: Duration = Duration::from_secs(20);
/// How long (of the virtual clock) the scenario waits for the capsule to listen or the LED to toggle.
const FIVE_SECONDS: Duration = Duration::from_secs(5);

#[test]
fn three_presses_toggle_the_led_three_times() {
    let board = NativeBoard::with_log(Arc::new(ConsoleLog::silent()));
    let presses = async {
        for n in 1..=3 {
            assert!(
                until(FIVE_SECONDS, || board.button().waiters() > 0).await,
                "press {n}: the capsule never listened for the button"
            );
            board.press_button().await;
            assert!(
                until(FIVE_SECONDS, || board.led_history().len() == n).await,
                "press {n}: LED history {:?}",
                board.led_history()
            );
        }
    };
    run_virtual(example_gpio::blinky(&board, presses)).expect("blinky");
    let lines: Vec<(String, String)> = board.log().captured();
    let line = |source: &str, message: &str| (source.to_string(), message.to_string());
    assert_eq!(
        lines,
        [
            line("gpio", "blinky: press the button to toggle the LED"),
            line("board", "LED on  (●)"),
            line("gpio", "Button pressed: LED toggled"),
            line("board", "LED off (○)"),
            line("gpio", "Button pressed: LED toggled"),
            line("board", "LED on  (●)"),
            line("gpio", "Button pressed: LED toggled"),
            line("board", "the LED changed 3 times and is on"),
        ]
    );
    assert_eq!(board.button().presses(), 3);
}

#[test]
fn the_program_starts_blinky_and_quits_on_ctrl_d() {
    let mut program = Running::start(env!("CARGO_BIN_EXE_example-gpio"), &[]).expect("start");
    program
        .wait_for("gpio: blinky: press the button to toggle the LED", WAIT)
        .unwrap();
    let (status, out) = program.finish(WAIT);
    assert!(status.is_some_and(|s| s.success()), "{out}");
    assert!(out.contains("the LED changed 0 times and is off"), "{out}");
}
