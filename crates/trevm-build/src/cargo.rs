//! Driving cargo to build a payload crate for `wasm32v1-none`.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cargo_metadata::diagnostic::Diagnostic;
use cargo_metadata::{CrateType, Message};

use crate::error::BuildError;
use crate::options::{BuildOptions, WASM_TARGET};

/// Environment variables of an enclosing cargo (e.g. when called from a build script) that must
/// not leak into the payload's build, which is for another target with other flags.
const LEAKY_ENV: &[&str] = &[
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_BUILD_TARGET",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_MAKEFLAGS",
    "CARGO_PRIMARY_PACKAGE",
    "RUSTDOCFLAGS",
    "CARGO_ENCODED_RUSTDOCFLAGS",
];

fn cargo_command(opts: &BuildOptions) -> Command {
    let mut cmd = if opts.nightly {
        let mut c = Command::new("rustup");
        c.args(["run", "nightly", "cargo"]);
        c
    } else {
        // Inside a build script `CARGO` is the real cargo binary of the running toolchain.
        Command::new(std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")))
    };
    for var in LEAKY_ENV {
        cmd.env_remove(var);
    }
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy();
        if k.starts_with("CARGO_PROFILE_") || k.starts_with("CARGO_TARGET_") {
            cmd.env_remove(&key);
        }
    }
    cmd
}

fn check_target_installed(opts: &BuildOptions) -> Result<(), BuildError> {
    let toolchain = if opts.nightly {
        "nightly"
    } else {
        "the default toolchain"
    };
    let plus = if opts.nightly { "+nightly " } else { "" };
    let mut cmd = if opts.nightly {
        let mut c = Command::new("rustup");
        c.args(["run", "nightly", "rustc"]);
        c
    } else {
        Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| OsString::from("rustc")))
    };
    let out = cmd
        .args(["--print", "target-libdir", "--target", WASM_TARGET])
        .stderr(Stdio::null())
        .output()
        .map_err(BuildError::CargoSpawn)?;
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let core_present = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("libcore-"))
        })
        .unwrap_or(false);
    if opts.nightly {
        // -Zbuild-std compiles core and alloc from source instead of using the target's prebuilt
        // ones: that needs the rust-src component.
        let sysroot = Command::new("rustup")
            .args(["run", "nightly", "rustc", "--print", "sysroot"])
            .stderr(Stdio::null())
            .output()
            .map_err(BuildError::CargoSpawn)?;
        let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
        if !sysroot.join("lib/rustlib/src/rust/library").is_dir() {
            return Err(BuildError::MissingRustSrc);
        }
        return Ok(());
    }
    if out.status.success() && core_present {
        Ok(())
    } else {
        Err(BuildError::MissingTarget {
            target: WASM_TARGET.into(),
            toolchain: toolchain.into(),
            plus: plus.into(),
        })
    }
}

/// Runs cargo for the payload and returns the crate name and the produced `.wasm`.
pub(crate) fn cargo_build(
    manifest: &Path,
    opts: &BuildOptions,
) -> Result<(String, PathBuf), BuildError> {
    check_target_installed(opts)?;
    let mut cmd = cargo_command(opts);
    // Cargo reads `.cargo/config.toml` from the current directory upwards: run it from the
    // payload's directory so the payload's config applies, not the caller's (a firmware's target
    // directory or runner would be wrong here).
    let manifest = &std::fs::canonicalize(manifest).unwrap_or_else(|_| manifest.to_path_buf());
    if let Some(dir) = manifest.parent() {
        cmd.current_dir(dir);
    }
    cmd.arg("build")
        .arg("--release")
        .arg("--lib")
        .arg("--manifest-path")
        .arg(manifest)
        .args(["--target", WASM_TARGET])
        // The compiler's messages come in cargo's JSON (with colours only for a terminal), so
        // that they are seen here whether or not cargo's output goes through to the terminal.
        .arg(if !opts.quiet && std::io::stderr().is_terminal() {
            "--message-format=json-diagnostic-rendered-ansi"
        } else {
            "--message-format=json"
        });
    if let Some(dir) = &opts.target_dir {
        cmd.arg("--target-dir").arg(dir);
    }
    if !opts.features.is_empty() {
        cmd.arg("--features").arg(opts.features.join(","));
    }
    let profile_settings = [
        format!("profile.release.opt-level={}", opts.opt_level.cargo_value()),
        "profile.release.lto=\"fat\"".into(),
        "profile.release.codegen-units=1".into(),
        "profile.release.strip=true".into(),
        "profile.release.debug=false".into(),
        "profile.release.incremental=false".into(),
        "profile.release.panic=\"abort\"".into(),
    ];
    for s in &profile_settings {
        cmd.arg("--config").arg(s);
    }
    let memory = memory_settings(manifest, opts)?;
    let mut rustflags = vec![
        "-Clink-arg=--page-size=1".to_string(),
        format!("-Clink-arg=--initial-memory={}", memory.initial_memory),
        format!("-Clink-arg=-zstack-size={}", memory.stack_size),
    ];
    if opts.nightly {
        cmd.args([
            "-Zbuild-std=core,alloc",
            "-Zbuild-std-features=optimize_for_size",
        ]);
        rustflags.push("-Zunstable-options".into());
        rustflags.push("-Cpanic=immediate-abort".into());
    }
    cmd.env("CARGO_ENCODED_RUSTFLAGS", rustflags.join("\x1f"));
    cmd.stdout(Stdio::piped());
    cmd.stderr(if opts.quiet {
        Stdio::piped()
    } else {
        Stdio::inherit()
    });
    let mut child = cmd.spawn().map_err(BuildError::CargoSpawn)?;
    // Captured stderr is read on a thread of its own, so that neither pipe fills up and stalls
    // cargo while the other is read.
    let stderr = child.stderr.take().map(|mut pipe| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    });
    let manifest_abs = std::fs::canonicalize(manifest).unwrap_or_else(|_| manifest.to_path_buf());
    let said = match child.stdout.take() {
        Some(stdout) => read_messages(BufReader::new(stdout), &manifest_abs, !opts.quiet),
        None => CargoSaid::default(),
    };
    let status = child.wait().map_err(BuildError::CargoSpawn)?;
    let stderr = stderr
        .and_then(|reader| reader.join().ok())
        .unwrap_or_default();
    if !status.success() {
        // E0554: `#![feature]` on the stable channel. One line saying what to do, whether or not
        // the compiler's own message was shown.
        if said.needs_nightly && !opts.nightly {
            return Err(BuildError::NeedsNightly {
                manifest: manifest.to_path_buf(),
            });
        }
        if let Some(needed) = memory_needed(&said.plain).or_else(|| memory_needed(&stderr)) {
            return Err(BuildError::MemoryTooSmall {
                manifest: manifest.to_path_buf(),
                needed,
                given: memory.initial_memory,
                stack: memory.stack_size,
                hint: needed.div_ceil(1024),
                hint_bytes: needed.div_ceil(1024) * 1024,
            });
        }
        let output = if !opts.quiet {
            // Everything, the compiler's messages included, was shown as the build went.
            "(cargo's output above says why)".to_string()
        } else if said.rendered.trim().is_empty() && stderr.trim().is_empty() {
            "(cargo printed nothing)".to_string()
        } else {
            // The compiler's messages, then cargo's own lines ("could not compile ...").
            said.rendered + &stderr
        };
        return Err(BuildError::CargoFailed {
            manifest: manifest.to_path_buf(),
            output,
        });
    }
    said.wasm
        .ok_or_else(|| BuildError::NoWasmArtifact(manifest.to_path_buf()))
}

/// The linear memory a payload is linked with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Memory {
    initial_memory: u32,
    stack_size: u32,
}

/// The options' sizes, else the payload's `[package.metadata.trevm]` (`initial-memory`,
/// `stack-size`, in bytes), else the defaults: each capsule gets the memory it needs instead of
/// 32 KiB for every one (linear memory is allocated from the device's heap per instance).
fn memory_settings(manifest: &Path, opts: &BuildOptions) -> Result<Memory, BuildError> {
    let from_metadata = if opts.initial_memory.is_some() && opts.stack_size.is_some() {
        (None, None)
    } else {
        payload_metadata(manifest)?
    };
    Ok(Memory {
        initial_memory: opts
            .initial_memory
            .or(from_metadata.0)
            .unwrap_or(crate::DEFAULT_INITIAL_MEMORY),
        stack_size: opts
            .stack_size
            .or(from_metadata.1)
            .unwrap_or(crate::DEFAULT_STACK_SIZE),
    })
}

/// `initial-memory` and `stack-size` from the payload's `[package.metadata.trevm]`.
fn payload_metadata(manifest: &Path) -> Result<(Option<u32>, Option<u32>), BuildError> {
    let bad = |message: String| BuildError::BadMetadata {
        manifest: manifest.to_path_buf(),
        message,
    };
    let metadata = cargo_metadata::MetadataCommand::new()
        .manifest_path(manifest)
        .no_deps()
        .exec()
        .map_err(|e| bad(format!("cargo metadata: {e}")))?;
    let Some(package) = metadata
        .packages
        .iter()
        .find(|p| p.manifest_path.as_std_path() == manifest)
    else {
        return Ok((None, None));
    };
    let Some(table) = package.metadata.get("trevm") else {
        return Ok((None, None));
    };
    let size = |key: &str| -> Result<Option<u32>, BuildError> {
        match table.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n > 0)
                .map(Some)
                .ok_or_else(|| bad(format!("`{key}` must be a number of bytes, e.g. 16384"))),
        }
    };
    if let Some(other) = table.as_object().and_then(|t| {
        t.keys()
            .find(|k| !matches!(k.as_str(), "initial-memory" | "stack-size"))
    }) {
        return Err(bad(format!(
            "unknown key `{other}` (known: initial-memory, stack-size)"
        )));
    }
    Ok((size("initial-memory")?, size("stack-size")?))
}

/// What cargo's JSON messages said about a build.
#[derive(Debug, Default)]
struct CargoSaid {
    /// The crate name and `.wasm` of the last cdylib artifact of the manifest's package.
    wasm: Option<(String, PathBuf)>,
    /// The compiler's messages as rustc renders them.
    rendered: String,
    /// The same without source excerpts or colours: each message and its notes, one a line.
    plain: String,
    /// rustc refused a `#![feature]` on the stable channel (E0554).
    needs_nightly: bool,
}

/// Reads cargo's `--message-format=json` stream as it comes; with `show`, prints the compiler's
/// messages to stderr as they arrive, as cargo would have.
fn read_messages(stream: impl BufRead, manifest_abs: &Path, show: bool) -> CargoSaid {
    let mut said = CargoSaid::default();
    // An I/O error ends the stream: cargo's exit status says how the build went.
    for msg in Message::parse_stream(stream).map_while(Result::ok) {
        match msg {
            Message::CompilerArtifact(artifact) => {
                let is_ours = artifact.manifest_path.as_std_path() == manifest_abs;
                let is_cdylib = artifact.target.crate_types.contains(&CrateType::CDyLib);
                if !(is_ours && is_cdylib) {
                    continue;
                }
                let name = artifact.target.name.replace('_', "-");
                for f in artifact.filenames {
                    if f.as_str().ends_with(".wasm") {
                        said.wasm = Some((name.clone(), f.into_std_path_buf()));
                    }
                }
            }
            Message::CompilerMessage(m) => {
                if let Some(rendered) = &m.message.rendered {
                    if show {
                        eprint!("{rendered}");
                    }
                    said.rendered.push_str(rendered);
                }
                push_plain(&m.message, &mut said.plain);
                said.needs_nightly |= m.message.code.as_ref().is_some_and(|c| c.code == "E0554");
            }
            _ => {}
        }
    }
    said
}

/// A diagnostic's message and those of its notes, one a line.
fn push_plain(diagnostic: &Diagnostic, out: &mut String) {
    out.push_str(&diagnostic.message);
    out.push('\n');
    for child in &diagnostic.children {
        push_plain(child, out);
    }
}

/// wasm-ld's "initial memory too small, N bytes needed", as N.
fn memory_needed(linker_output: &str) -> Option<u64> {
    let (_, rest) = linker_output.split_once("initial memory too small, ")?;
    rest.split_whitespace().next()?.parse().ok()
}
