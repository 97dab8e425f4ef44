//! `trevm man`: the manual pages of `trevm` (roff), generated from the command line's definition
//! (clap_mangen): `trevm(1)` on stdout, or one page per subcommand in a directory.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

/// `trevm man`'s arguments.
#[derive(Args)]
pub(crate) struct ManArgs {
    /// Write trevm.1 and one page per subcommand (trevm-new.1, trevm-fleet-push.1, …) into this
    /// directory instead of printing trevm.1.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

/// Prints `trevm.1`, or writes every page into `--out-dir`, for `cli` (the `trevm` command's
/// definition).
pub(crate) fn cmd_man(args: &ManArgs, cli: clap::Command) -> Result<ExitCode> {
    let Some(dir) = &args.out_dir else {
        let mut page = Vec::new();
        clap_mangen::Man::new(cli)
            .render(&mut page)
            .context("rendering the manual page")?;
        crate::outln!("{}", String::from_utf8_lossy(&page).trim_end());
        return Ok(ExitCode::SUCCESS);
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // Built first, so that each subcommand's page is named after its full command line
    // (`trevm-fleet-push`), as clap_mangen::generate_to does.
    let mut cli = cli.disable_help_subcommand(true);
    cli.build();
    let mut pending = vec![cli];
    while let Some(cmd) = pending.pop() {
        pending.extend(cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
        let written = clap_mangen::Man::new(cmd)
            .generate_to(dir)
            .with_context(|| format!("writing a manual page into {}", dir.display()))?;
        crate::outln!("wrote {}", written.display());
    }
    Ok(ExitCode::SUCCESS)
}
