//! As a user: start blinky, press Enter three times, see the LED go on, off, on; Ctrl-D quits.

use std::time::Duration;

use trevm_testkit::Running;

const WAIT: Duration = Duration::from_secs(20);

#[test]
fn three_presses_toggle_the_led_three_times() {
    let mut board = Running::start(env!("CARGO_BIN_EXE_example-gpio"), &[]).expect("start");
    board
        .wait_for("gpio: blinky: press the button to toggle the LED", WAIT)
        .unwrap();
    for expected in ["LED on", "LED off", "LED on"] {
        // Give the capsule time to finish its 200 ms debounce and wait for the button again.
        std::thread::sleep(Duration::from_millis(400));
        board.enter().expect("press");
        let line = board.wait_for("board: LED ", WAIT).unwrap();
        assert!(line.contains(expected), "{line}\n{}", board.output());
        board
            .wait_for("gpio: Button pressed: LED toggled", WAIT)
            .unwrap();
    }
    let (status, out) = board.finish(WAIT);
    assert!(status.is_some_and(|s| s.success()), "{out}");
    assert!(out.contains("the LED changed 3 times and is on"), "{out}");
}
