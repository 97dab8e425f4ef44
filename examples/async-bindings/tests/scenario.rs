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
    assert!(
        out.contains("heartbeat 8 (another task on the same executor)"),
        "{out}"
    );
    assert!(out.contains("stopped by its 9 s timeout after 9."), "{out}");
}
