//! `trevm new NAME --world W`: a ready capsule crate, from templates compiled into the CLI (no
//! network needed to make it; building it fetches its crates.io dependencies as every payload's
//! build does).
//!
//! - [`worlds`]: the worlds offered, with each one's template, memory and commands;
//! - [`render`]: the crate's files from the templates in `templates/`;
//! - [`wit`]: the WIT files, embedded from the repository's `wit/`;
//! - [`guest`]: where the crate finds `trevm-guest` (a path dependency);
//! - [`name`]: whether NAME is a valid crate name.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;

mod guest;
mod name;
mod render;
mod wit;
mod worlds;

/// `trevm new`'s arguments.
#[derive(Args)]
pub(crate) struct NewArgs {
    /// The crate's directory, made here (or at this path); its last part is the crate's and the
    /// capsule's name.
    #[arg(required_unless_present = "list", value_name = "NAME")]
    path: Option<PathBuf>,
    /// The world the capsule implements: sandbox, persistent, ephemeral, async, gpio, sensors,
    /// udp or ble (see --list).
    #[arg(long, short, value_name = "W")]
    world: Option<String>,
    /// List the worlds, one a line, and make nothing.
    #[arg(long, conflicts_with_all = ["path", "world"])]
    list: bool,
    /// The trevm-guest crate (crates/trevm-guest of a trevm checkout) the crate depends on by
    /// path. Default: $TREVM_GUEST, else the source tree this trevm was built from.
    #[arg(long, value_name = "DIR")]
    trevm_guest: Option<PathBuf>,
}

/// Runs `trevm new`.
pub(crate) fn cmd_new(args: NewArgs) -> Result<ExitCode> {
    if args.list {
        crate::outln!("{}", worlds::list().trim_end());
        return Ok(ExitCode::SUCCESS);
    }
    let Some(path) = args.path else {
        bail!("say the crate's name: trevm new NAME --world W");
    };
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| anyhow::anyhow!("`{}` does not end in a crate name", path.display()))?;
    name::check(name).map_err(|why| anyhow::anyhow!("cannot name a crate so: {why}"))?;
    let Some(world_name) = args.world else {
        bail!(
            "say which world the capsule implements: --world W, one of {} (trevm new --list \
             describes them)",
            worlds::names()
        );
    };
    let Some(world) = worlds::find(&world_name) else {
        bail!(
            "no world `{world_name}`; the worlds are:\n{}",
            worlds::list().trim_end()
        );
    };
    if path.symlink_metadata().is_ok() {
        bail!(
            "`{}` already exists: trevm new makes a new directory and writes nothing into an \
             existing one (pick another name, or remove it)",
            path.display()
        );
    }
    let guest_dir = guest::locate(args.trevm_guest.as_deref())?;
    let coap_dir = world
        .needs_trevm_coap
        .then(|| guest::trevm_coap(&guest_dir))
        .transpose()?;

    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    let crate_dir = std::fs::canonicalize(&parent)
        .with_context(|| format!("finding {}", parent.display()))?
        .join(name);
    let guest_path = guest::dependency_path(&guest_dir, &crate_dir, &guest_dir);
    let coap_path = coap_dir
        .as_deref()
        .map(|dir| guest::dependency_path(dir, &crate_dir, &guest_dir));
    let krate = render::Crate {
        name,
        world,
        trevm_guest: &guest_path,
        trevm_coap: coap_path.as_deref(),
    };
    // `create_dir` (not `_all`) fails if the directory appeared meanwhile: never write into one
    // that someone else made.
    std::fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
    if let Err(e) = write_files(&path, &krate.files()) {
        // Leave nothing half-made behind: the directory is ours.
        let _ = std::fs::remove_dir_all(&path);
        return Err(e);
    }

    let shown = shell_word(&path.to_string_lossy());
    crate::outln!(
        "Created capsule crate `{name}` (world {}) in {}\n\
         Build, run and push it (see {}/README.md):\n  \
         trevm build {shown}\n  \
         trevm run {shown}{}\n  \
         trevm push {shown} coap://127.0.0.1/{}   # to a device: trevm serve{}",
        world.wit_world,
        path.display(),
        path.display(),
        world.run_args,
        world.push_to.replace("{{name}}", name),
        world.serve_args,
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes each file below `dir`, making its directories.
fn write_files(dir: &Path, files: &[(PathBuf, String)]) -> Result<()> {
    for (file, text) in files {
        let path = dir.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// `word` as a shell reads it: as it is when it has only safe characters, else single-quoted.
fn shell_word(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./+:@%,".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}
