//! `trevm fleet push`: a staged rollout. The RD's devices (sorted by name, so a re-run picks the
//! same canaries) are surveyed; those that cannot be asked are reported and left out. Then the
//! stages: `--canary` devices, then `--parallel` at a time, each device updated and checked
//! ([`super::rollout`]); the first stage with a failed health check ends the rollout. A progress
//! bar on a terminal (plain lines otherwise) and a final table: device, before, after, result.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{Result, bail};

use super::args::{PushArgs, Target};
use super::probe::Seen;
use super::rollout::{self, Outcome, Plan, Report};
use super::{ls, parallel, rollback};
use crate::{obtain_capsule, outln, table};

pub(crate) fn cmd_push(args: PushArgs) -> Result<ExitCode> {
    let target = Target::parse(&args.to).map_err(anyhow::Error::msg)?;
    // The capsule first (it may need building): no device is asked before it is known good.
    let pushed = match (&args.rollback_to, &args.capsule) {
        (None, Some(path)) => {
            let bytes = obtain_capsule(path, &args.compile)?;
            let version = rollback::signed_version(&bytes, path)?;
            Some((bytes, version))
        }
        _ => None,
    };
    let seen = ls::survey(&args.fleet)?;
    if seen.is_empty() {
        bail!("no device to roll out to: the RD lists none (matching --select)");
    }
    let (capsule, version, leave_alone) = match (pushed, &args.rollback_to, &args.key) {
        (Some((bytes, version)), _, _) => (bytes, version, None),
        (None, Some(old), Some(key)) => {
            let r = rollback::prepare(old, key, &seen, &target)?;
            (r.capsule, r.version, Some(r.original))
        }
        _ => bail!("give a CAPSULE, or --rollback-to OLD.cwasm with --key"),
    };
    let (reachable, undriven): (Vec<&Seen>, Vec<&Seen>) =
        seen.iter().partition(|s| s.status.is_ok());
    if !args.yes && std::io::stdin().is_terminal() && !confirm(&args.to, version, reachable.len()) {
        bail!("not confirmed");
    }
    let plan = Plan {
        target: &target,
        capsule: &capsule,
        version,
        leave_alone,
        settle: args.settle,
        credentials: args.fleet.credentials.as_deref(),
    };
    let endpoints: Vec<_> = reachable.iter().map(|s| s.endpoint.clone()).collect();
    let parallel = usize::from(args.parallel);
    let canaries = args.canary.min(endpoints.len());
    let mut stages = vec![&endpoints[..canaries]];
    stages.extend(endpoints[canaries..].chunks(parallel));
    stages.retain(|s| !s.is_empty());

    let bar = progress_bar(endpoints.len());
    let mut reports: Vec<Report> = Vec::new();
    let mut stopped_at = None;
    for (i, stage) in stages.iter().enumerate() {
        let name = if i == 0 && canaries > 0 {
            "canaries".to_string()
        } else {
            format!("stage {}", i + 1)
        };
        let done = parallel::map(
            stage,
            stage.len(),
            |e| rollout::update(e, &plan),
            |_, r| {
                let mut line = format!(
                    "{name}: {}: {} -> {}: {}",
                    r.ep,
                    r.before,
                    r.after,
                    r.result()
                );
                if let Outcome::Problem(p) = &r.outcome {
                    line.push_str(&format!(" ({})", p.detail()));
                }
                match &bar {
                    Some(bar) => {
                        bar.println(line);
                        bar.inc(1);
                    }
                    None => eprintln!("{line}"),
                }
            },
        );
        let failed = done
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Failed(_)))
            .count();
        reports.extend(done);
        if failed > 0 {
            stopped_at = Some((name, failed));
            break;
        }
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let mut rows: Vec<Vec<String>> = reports
        .iter()
        .map(|r| vec![r.ep.clone(), r.before.clone(), r.after.clone(), r.result()])
        .collect();
    let untouched = endpoints.iter().skip(reports.len());
    for e in untouched {
        let before = seen
            .iter()
            .find(|s| s.endpoint.ep == e.ep)
            .and_then(|s| s.status.as_ref().ok())
            .and_then(|(st, _)| super::probe::capsule(st, &target.slot, &target.name))
            .map_or("-".into(), |c| {
                c.version.map_or("unsigned".into(), |v| v.to_string())
            });
        rows.push(vec![
            e.ep.clone(),
            before.clone(),
            before,
            "not updated (rollout stopped)".into(),
        ]);
    }
    for s in undriven {
        if let Err(p) = &s.status {
            rows.push(vec![
                s.endpoint.ep.clone(),
                "?".into(),
                "?".into(),
                format!("{} (not updated)", p.cell()),
            ]);
            eprintln!("{}: {}", s.endpoint.ep, p.detail());
        }
    }
    let text = table::render(&["device", "before", "after", "result"], &rows);
    outln!("{}", text.trim_end());
    match stopped_at {
        Some((stage, failed)) => {
            eprintln!(
                "rollout of version {version} to {} STOPPED after {stage}: {failed} device(s) failed their health check",
                args.to
            );
            Ok(ExitCode::FAILURE)
        }
        None => {
            eprintln!("rollout of version {version} to {} done", args.to);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A progress bar on stderr when it is a terminal.
fn progress_bar(total: usize) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} devices {elapsed}")
    {
        bar.set_style(style);
    }
    Some(bar)
}

/// Asks on the terminal; true for `y`/`yes`.
fn confirm(to: &str, version: u64, devices: usize) -> bool {
    eprint!("roll version {version} out to {to} on up to {devices} devices? [y/N] ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).is_ok() && matches!(answer.trim(), "y" | "Y" | "yes")
}
