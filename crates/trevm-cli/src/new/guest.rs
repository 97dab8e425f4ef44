//! Where a new crate finds `trevm-guest`, which is not on crates.io: a path dependency into a
//! trevm source tree, and how that path is written into its `Cargo.toml`.

use std::path::{Component, Path, PathBuf};

use anyhow::{Result, bail};

/// The environment variable naming the `trevm-guest` directory when `--trevm-guest` does not.
pub(crate) const ENV: &str = "TREVM_GUEST";

/// `trevm-guest` in the source tree this CLI was built from (used when it still exists).
const BUILT_FROM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../trevm-guest");

/// The `trevm-guest` crate directory, canonical: `option` (`--trevm-guest`), else `$TREVM_GUEST`,
/// else the source tree this CLI was built from. An error says how to name it when none is one.
pub(crate) fn locate(option: Option<&Path>) -> Result<PathBuf> {
    let env = std::env::var_os(ENV).filter(|v| !v.is_empty());
    let (dir, given_by) = match (option, env) {
        (Some(dir), _) => (dir.to_path_buf(), "--trevm-guest".to_string()),
        (None, Some(dir)) => (PathBuf::from(dir), format!("${ENV}")),
        (None, None) => {
            let built_from = PathBuf::from(BUILT_FROM);
            if !is_trevm_guest(&built_from) {
                bail!(
                    "cannot find trevm-guest (it is not on crates.io, and the trevm source tree \
                     this trevm was built from is gone): pass --trevm-guest DIR or set {ENV}=DIR, \
                     DIR being crates/trevm-guest of a trevm checkout"
                );
            }
            (
                built_from,
                "the source tree trevm was built from".to_string(),
            )
        }
    };
    if !is_trevm_guest(&dir) {
        bail!(
            "{} (from {given_by}) is not the trevm-guest crate: expected the directory \
             crates/trevm-guest of a trevm checkout, with its Cargo.toml",
            dir.display()
        );
    }
    Ok(std::fs::canonicalize(&dir)?)
}

/// Whether `dir` holds the `trevm-guest` crate.
fn is_trevm_guest(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml"))
        .is_ok_and(|manifest| manifest.contains("name = \"trevm-guest\""))
}

/// `trevm-coap` beside `trevm-guest` (in the same source tree), for templates that decode CoAP.
pub(crate) fn trevm_coap(guest: &Path) -> Result<PathBuf> {
    let dir = guest.parent().map(|p| p.join("trevm-coap"));
    match dir {
        Some(dir) if dir.join("Cargo.toml").is_file() => Ok(dir),
        _ => bail!(
            "this world's template needs trevm-coap, expected beside trevm-guest in {}",
            guest.parent().unwrap_or(guest).display()
        ),
    }
}

/// The path of `dependency` as the `Cargo.toml` of the crate at `crate_dir` names it (both
/// canonical): relative when the crate is inside the same trevm source tree (two levels above
/// `trevm-guest`), so that a crate made inside a checkout can be committed and works in every
/// clone; absolute otherwise, so that the crate works wherever it is made and stays valid
/// while the trevm tree stays where it is.
pub(crate) fn dependency_path(dependency: &Path, crate_dir: &Path, guest: &Path) -> String {
    let relative = guest.parent().and_then(Path::parent).and_then(|root| {
        let inside = crate_dir.strip_prefix(root).ok()?;
        let up = inside
            .components()
            .filter(|c| matches!(c, Component::Normal(_)))
            .count();
        let down = dependency.strip_prefix(root).ok()?;
        let mut path = PathBuf::new();
        for _ in 0..up {
            path.push("..");
        }
        Some(path.join(down))
    });
    let path = relative.unwrap_or_else(|| dependency.to_path_buf());
    // Forward slashes everywhere: Cargo takes them on every platform.
    path.to_string_lossy().replace('\\', "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_the_tree_the_path_is_relative_and_outside_absolute() {
        let guest = Path::new("/src/trevm/crates/trevm-guest");
        assert_eq!(
            dependency_path(guest, Path::new("/src/trevm/payloads/hello"), guest),
            "../../crates/trevm-guest"
        );
        assert_eq!(
            dependency_path(guest, Path::new("/src/trevm/hello"), guest),
            "../crates/trevm-guest"
        );
        assert_eq!(
            dependency_path(guest, Path::new("/home/me/hello"), guest),
            "/src/trevm/crates/trevm-guest"
        );
        let coap = Path::new("/src/trevm/crates/trevm-coap");
        assert_eq!(
            dependency_path(coap, Path::new("/src/trevm/x/hello"), guest),
            "../../crates/trevm-coap"
        );
    }

    #[test]
    fn the_source_tree_it_was_built_from_is_found() {
        // `cargo test` runs in this tree, so trevm-guest is where the CLI was built from.
        if std::env::var_os(ENV).is_none() {
            let dir = locate(None).expect("trevm-guest of this tree");
            assert!(dir.ends_with("crates/trevm-guest"), "{}", dir.display());
        }
        let err = locate(Some(Path::new("/nonexistent"))).expect_err("not trevm-guest");
        assert!(
            err.to_string().contains("--trevm-guest") && err.to_string().contains("/nonexistent"),
            "{err}"
        );
    }
}
