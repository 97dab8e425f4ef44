//! `trevm completions SHELL`: the shell's completion script for `trevm`, generated from the
//! command line's definition (clap_complete), so it always knows every subcommand and option.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use clap_complete::Shell;

/// `trevm completions`' arguments.
#[derive(Args)]
pub(crate) struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    shell: Shell,
}

/// Prints the completion script of `args.shell` for `cli` (the `trevm` command's definition).
pub(crate) fn cmd_completions(args: &CompletionsArgs, mut cli: clap::Command) -> Result<ExitCode> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cli, "trevm", &mut script);
    crate::outln!("{}", String::from_utf8_lossy(&script).trim_end());
    Ok(ExitCode::SUCCESS)
}
