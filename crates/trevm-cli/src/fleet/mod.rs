//! `trevm fleet`: the devices registered in a CoAP Resource Directory (RFC 9176), and staged
//! rollouts to them (docs/fleet.md).
//!
//! - [`args`]: the command line;
//! - [`lookup`] on [`link_format`]: which devices exist (endpoint lookup);
//! - [`probe`]: one device's session, `/status` and what went wrong;
//! - [`parallel`], [`table`]: bounded threads, plain tables;
//! - [`ls`]: `trevm fleet ls`;
//! - [`rollout`] and [`push`]: `trevm fleet push` (one device's update and health check; the
//!   stages, the progress bar and the final table), [`rollback`]: `--rollback-to`.

use std::process::ExitCode;

use anyhow::Result;

pub(crate) mod args;
mod link_format;
mod lookup;
mod ls;
mod parallel;
mod probe;
mod push;
mod rollback;
mod rollout;

/// Runs a `trevm fleet` command.
pub(crate) fn cmd_fleet(command: args::FleetCommand) -> Result<ExitCode> {
    match command {
        args::FleetCommand::Ls(fleet) => ls::cmd_ls(&fleet),
        args::FleetCommand::Push(push) => push::cmd_push(*push),
    }
}
