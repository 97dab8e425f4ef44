//! README command 1, as a user sees it: capsule log lines, random numbers, the 3 s sleep, and the
//! 9 s timeout stopping the infinite loop while another task keeps running.

use std::process::Command;

#[test]
fn async_scenario_runs_to_the_timeout() {
    let o = Command::new(env!("CARGO_BIN_EXE_example-async-bindings"))
        .output()
        .expect("run example");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let capsule_lines: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_once("] async-bindings: ").map(|(_, m)| m))
        .collect();
    assert_eq!(
        capsule_lines.first(),
        Some(&"Hello from inside the capsule"),
        "{out}"
    );
    let numbers = capsule_lines
        .iter()
        .filter(|l| l.parse::<u32>().is_ok_and(|n| n < 100))
        .count();
    assert_eq!(numbers, 10, "{out}");
    assert!(
        capsule_lines.contains(&"Now sleeping for 3 seconds"),
        "{out}"
    );
    assert_eq!(
        capsule_lines.last(),
        Some(&"Starting an infinite loop"),
        "{out}"
    );
    // The timeout never fires early.
    let (_, report) = out
        .split_once("stopped by its 9 s timeout after ")
        .unwrap_or_else(|| panic!("no timeout report: {out}"));
    let ran: f64 = report
        .split_once(" s;")
        .and_then(|(secs, _)| secs.parse().ok())
        .unwrap_or_else(|| panic!("no run time in the report: {out}"));
    assert!(ran >= 9.0, "{out}");
    // The heartbeat task ran while the capsule did, and the report counts every tick it printed.
    // How many ticks fit in the 9 s depends on the machine, so that number is not checked.
    let before_report: Vec<&str> = out
        .lines()
        .take_while(|l| !l.contains("stopped by its 9 s timeout"))
        .collect();
    let is_beat = |l: &str| l.ends_with("(another task on the same executor)");
    let beats = before_report.iter().filter(|l| is_beat(l)).count();
    assert!(
        report.contains(&format!(
            "the heartbeat task ticked {beats} times meanwhile"
        )),
        "{out}"
    );
    let during_run = before_report
        .iter()
        .skip_while(|l| !l.ends_with("async-bindings: Hello from inside the capsule"))
        .filter(|l| is_beat(l))
        .count();
    assert!(during_run >= 1, "no heartbeat while the capsule ran: {out}");
}
