//! As a user: run the scan and see the capsule's per-device counts agree with the board's.

use std::process::Command;

#[test]
fn stats_match_the_fed_reports() {
    let o = Command::new(env!("CARGO_BIN_EXE_example-ble-scanner"))
        .output()
        .expect("run example");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    let counts: Vec<(u64, u64)> = out
        .lines()
        .filter_map(|l| {
            let (_, rest) = l.split_once(": capsule counted ")?;
            let (got, fed) = rest.split_once(", board fed ")?;
            Some((got.parse().ok()?, fed.parse().ok()?))
        })
        .collect();
    assert_eq!(counts.len(), 5, "{out}");
    assert!(
        counts.iter().all(|(got, fed)| got == fed && *fed > 0),
        "{out}"
    );
    assert_eq!(counts.iter().map(|(n, _)| n).sum::<u64>(), 40, "{out}");
    assert_eq!(out.matches("ble-scanner: New device ").count(), 5, "{out}");
    assert!(
        out.contains("the capsule's stats match the reports fed"),
        "{out}"
    );
}
