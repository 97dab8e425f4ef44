//! As a user: version one runs; a press switches to version two, another back to version one;
//! the board program itself keeps running throughout.

use std::time::Duration;

use trevm_testkit::Running;

const WAIT: Duration = Duration::from_secs(20);

#[test]
fn each_press_switches_the_running_capsule() {
    let mut board =
        Running::start(env!("CARGO_BIN_EXE_example-simple-updates"), &[]).expect("start");
    board
        .wait_for("updates-one: Version one started", WAIT)
        .unwrap();
    board.wait_for("updates-one: one: 2", WAIT).unwrap();
    board.enter().expect("press");
    board
        .wait_for("button: stopping `updates-one`", WAIT)
        .unwrap();
    board
        .wait_for("updates-two: Version two started", WAIT)
        .unwrap();
    board.wait_for("updates-two: two: 98", WAIT).unwrap();
    board.enter().expect("press");
    board
        .wait_for("button: stopping `updates-two`", WAIT)
        .unwrap();
    board
        .wait_for("updates-one: Version one started", WAIT)
        .unwrap();
    // Version one starts from scratch: its counter begins at 1 again.
    board.wait_for("updates-one: one: 1", WAIT).unwrap();
    let (status, out) = board.finish(WAIT);
    assert!(status.is_some_and(|s| s.success()), "{out}");
    let starts = out.matches("Version one started").count();
    assert_eq!(starts, 2, "{out}");
}
