//! As a user: run the example and see the temperature cross 25 °C upwards, then downwards.

use std::process::Command;
use std::time::Duration;

use trevm_testkit::Running;

#[test]
fn temperature_crossings_are_reported() {
    // Watch until the downward crossing is logged instead of counting what the default 10 s
    // window holds: how many readings fit in a window depends on the machine. The minute given
    // only bounds the run, should a crossing never come.
    let mut board = Running::start(env!("CARGO_BIN_EXE_example-sensors"), &["60"]).expect("start");
    board
        .wait_for("sensors: Back below 25.00 °C", Duration::from_secs(60))
        .unwrap();
    let out = board.output();
    let readings: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_once("] sensors: ").map(|(_, m)| m))
        .collect();
    // The wave: 20, 21, … 30, 29, … °C, one reading per 500 ms.
    assert_eq!(
        readings.first(),
        Some(&"Monitoring the temperature every 500 ms; alert above 25.00 °C"),
        "{out}"
    );
    assert_eq!(readings.get(1), Some(&"Temperature: 20.00 °C"), "{out}");
    assert_eq!(
        readings.get(7),
        Some(&"ALERT: above 25.00 °C: 26.00 °C"),
        "{out}"
    );
    assert_eq!(readings.get(11), Some(&"Temperature: 30.00 °C"), "{out}");
    assert_eq!(
        readings.get(16),
        Some(&"Back below 25.00 °C: 25.00 °C"),
        "{out}"
    );
}

#[test]
fn monitoring_stops_after_the_seconds_given() {
    let o = Command::new(env!("CARGO_BIN_EXE_example-sensors"))
        .arg("1")
        .output()
        .expect("run example");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("sensors: Monitoring the temperature every 500 ms"),
        "{out}"
    );
    assert!(out.contains("monitoring stopped after 1 s"), "{out}");
}
