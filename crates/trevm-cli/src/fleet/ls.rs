//! `trevm fleet ls`: endpoint lookup, then every device's `/status` (at most `--jobs` at once),
//! as a table: device, address, capsules, health, last seen. A device that cannot be asked is a
//! row saying why; the others are listed all the same.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;

use super::args::FleetArgs;
use super::probe::{self, Seen};
use super::{lookup, parallel};
use crate::{outln, table};

pub(crate) fn cmd_ls(args: &FleetArgs) -> Result<ExitCode> {
    let seen = survey(args)?;
    let rows: Vec<Vec<String>> = seen.iter().map(row).collect();
    let text = table::render(
        &["device", "address", "capsules", "health", "last seen"],
        &rows,
    );
    outln!("{}", text.trim_end());
    for s in &seen {
        if let Err(p) = &s.status {
            eprintln!("{}: {}", s.endpoint.ep, p.detail());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The RD's devices, each with its status (or why not), those matching `--select` only, in
/// endpoint-name order. Prints how many and how long the lookup took on stderr.
pub(crate) fn survey(args: &FleetArgs) -> Result<Vec<Seen>> {
    let start = Instant::now();
    let endpoints = lookup::lookup(&args.rd, &args.select)?;
    let looked_up = start.elapsed();
    let credentials = args.credentials.as_deref();
    let seen = parallel::map(
        &endpoints,
        usize::from(args.jobs),
        |e| probe::survey_one(e, credentials),
        |_, _| {},
    );
    let seen: Vec<Seen> = seen
        .into_iter()
        .filter(|s| probe::selected(s, &args.select))
        .collect();
    eprintln!(
        "{} devices in {} (lookup {} ms), {} selected, status of all in {} ms",
        endpoints.len(),
        args.rd,
        looked_up.as_millis(),
        seen.len(),
        start.elapsed().as_millis()
    );
    Ok(seen)
}

fn row(s: &Seen) -> Vec<String> {
    let (capsules, health, last) = match &s.status {
        Ok((status, rtt)) => {
            let capsules: Vec<String> = status.capsules.iter().map(probe::describe).collect();
            (
                if capsules.is_empty() {
                    "-".into()
                } else {
                    capsules.join(" ")
                },
                probe::health(status),
                format!("now ({} ms)", rtt.as_millis()),
            )
        }
        Err(p) => ("-".into(), p.cell().into(), "-".into()),
    };
    vec![
        s.endpoint.ep.clone(),
        s.endpoint.base.clone(),
        capsules,
        health,
        last,
    ]
}
