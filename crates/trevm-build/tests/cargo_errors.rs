//! What a failed payload build tells its caller, with cargo's output captured (`quiet`) and let
//! through to the terminal: the compiler's errors, or where to find them, and the linear-memory
//! hint when the linker runs out of memory.

use std::path::{Path, PathBuf};

use trevm_build::{BuildError, BuildOptions, Signing};

/// A payload crate whose code does not compile.
fn broken_crate(dir: &Path) -> PathBuf {
    trevm_testkit::scratch_payload(
        dir,
        "broken",
        "#![no_std]\n\
         #[panic_handler]\n\
         fn panic(_: &core::panic::PanicInfo) -> ! { loop {} }\n\
         pub fn f() -> u32 { \"not a number\" }\n",
    )
}

fn options(quiet: bool, target_dir: &Path) -> BuildOptions {
    BuildOptions {
        quiet,
        target_dir: Some(target_dir.to_path_buf()),
        signing: Signing::Unsigned,
        ..Default::default()
    }
}

#[test]
fn a_quiet_build_reports_the_compiler_errors() {
    let dir = tempfile::tempdir().unwrap();
    let krate = broken_crate(dir.path());
    let err = trevm_build::build(&krate, &options(true, &dir.path().join("target"))).unwrap_err();
    let BuildError::CargoFailed { output, .. } = &err else {
        panic!("{err}");
    };
    assert!(output.contains("mismatched types"), "{err}");
    assert!(!err.to_string().contains("printed nothing"), "{err}");
}

#[test]
fn a_build_with_cargo_output_let_through_points_at_it() {
    let dir = tempfile::tempdir().unwrap();
    let krate = broken_crate(dir.path());
    let err = trevm_build::build(&krate, &options(false, &dir.path().join("target"))).unwrap_err();
    assert!(matches!(err, BuildError::CargoFailed { .. }), "{err}");
    // The compiler's errors went to the terminal: the message must not deny it.
    let message = err.to_string();
    let last = message.lines().last().unwrap_or_default();
    assert!(!last.contains("printed nothing"), "{message}");
    assert!(last.contains("above"), "{message}");
}

#[test]
fn running_out_of_linear_memory_is_told_with_or_without_cargo_output() {
    let big = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../payloads/sandbox-big");
    let dir = tempfile::tempdir().unwrap();
    for quiet in [true, false] {
        // Less than the 128 KiB its [package.metadata.trevm] asks for.
        let opts = BuildOptions {
            initial_memory: Some(32 * 1024),
            ..options(quiet, &dir.path().join("target"))
        };
        let err = trevm_build::build(&big, &opts).unwrap_err();
        assert!(
            matches!(err, BuildError::MemoryTooSmall { needed, .. } if needed > 64 * 1024),
            "quiet: {quiet}: {err}"
        );
    }
    // Without the option, the payload's own metadata sizes it.
    trevm_build::build(&big, &options(true, &dir.path().join("target"))).expect("built");
}

#[test]
fn package_metadata_sizes_a_capsule_and_a_bad_key_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let source = "#![no_std]\n\
         #[panic_handler]\n\
         fn panic(_: &core::panic::PanicInfo) -> ! { loop {} }\n\
         static TABLE: [u8; 6000] = [7; 6000];\n\
         #[unsafe(no_mangle)] pub extern \"C\" fn f(i: usize) -> u8 { TABLE[i % 6000] }\n";
    let krate = trevm_testkit::scratch_payload(dir.path(), "sized", source);
    let manifest = krate.join("Cargo.toml");
    let base = std::fs::read_to_string(&manifest).unwrap();
    let target = dir.path().join("target");
    // 4 KiB of memory cannot hold a 6000-byte table: the linker says so, and the hint names
    // the metadata key.
    std::fs::write(
        &manifest,
        format!("{base}\n[package.metadata.trevm]\ninitial-memory = 4096\nstack-size = 1024\n"),
    )
    .unwrap();
    let err = trevm_build::build(&krate, &options(true, &target)).unwrap_err();
    assert!(
        matches!(
            err,
            BuildError::MemoryTooSmall {
                given: 4096,
                stack: 1024,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("[package.metadata.trevm]"),
        "{err}"
    );
    std::fs::write(
        &manifest,
        format!("{base}\n[package.metadata.trevm]\ninitial-memory = 8192\nstack-size = 1024\n"),
    )
    .unwrap();
    // 8 KiB links (the module then has no WIT world to become a component: the next stage).
    let err = trevm_build::build(&krate, &options(true, &target)).unwrap_err();
    assert!(matches!(err, BuildError::Componentize(_)), "{err}");
    std::fs::write(
        &manifest,
        format!("{base}\n[package.metadata.trevm]\ninitial-memory = \"lots\"\n"),
    )
    .unwrap();
    let err = trevm_build::build(&krate, &options(true, &target)).unwrap_err();
    assert!(matches!(err, BuildError::BadMetadata { .. }), "{err}");
    assert!(
        err.to_string().contains("`initial-memory` must be"),
        "{err}"
    );
}

#[test]
fn a_payload_that_needs_nightly_says_so_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    // As one upstream payload does.
    let krate =
        trevm_testkit::scratch_payload(dir.path(), "unstable", trevm_testkit::NEEDS_NIGHTLY);
    for quiet in [true, false] {
        let err =
            trevm_build::build(&krate, &options(quiet, &dir.path().join("target"))).unwrap_err();
        assert!(
            matches!(err, BuildError::NeedsNightly { .. }),
            "quiet: {quiet}: {err}"
        );
        let message = err.to_string();
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(message.contains("--nightly"), "{message}");
    }
}
