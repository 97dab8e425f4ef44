//! As a user: run the example and see the temperature cross 25 °C upwards, then downwards.

use std::process::Command;

#[test]
fn temperature_crossings_are_reported() {
    let o = Command::new(env!("CARGO_BIN_EXE_example-sensors"))
        .output()
        .expect("run example");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    let readings: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_once("] sensors: ").map(|(_, m)| m))
        .collect();
    // The wave: 20, 21, … 30, 29, … °C, one reading per 500 ms for 10 s.
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
    assert!(out.contains("monitoring stopped after 10 s"), "{out}");
}
