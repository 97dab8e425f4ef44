//! A build script embedding a capsule writes only into its `OUT_DIR`: trevm's sources may come
//! from a registry or a vendored copy, read-only (issue 28).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Every file and directory below `dir`, relative to it.
fn tree(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                todo.push(path.clone());
            }
            out.insert(path.strip_prefix(dir).expect("below").to_path_buf());
        }
    }
    out
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            if entry.file_name() != "target" {
                copy_tree(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn set_read_only(dir: &Path) {
    for path in tree(dir).iter().map(|p| dir.join(p)) {
        let mut perms = std::fs::metadata(&path).expect("metadata").permissions();
        perms.set_readonly(true);
        std::fs::set_permissions(&path, perms).expect("chmod");
    }
}

#[test]
fn a_build_script_builds_its_capsule_in_out_dir_from_a_read_only_copy() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let scratch = tempfile::tempdir().expect("tempdir");
    // What a registry or vendored copy of trevm would hold of the payload: the crate, the WIT,
    // the guest SDK, the payloads' cargo configuration and lock.
    let src = scratch.path().join("trevm");
    copy_tree(
        &root.join("payloads/fibonacci"),
        &src.join("payloads/fibonacci"),
    );
    copy_tree(&root.join("payloads/.cargo"), &src.join("payloads/.cargo"));
    std::fs::copy(
        root.join("payloads/Cargo.lock"),
        src.join("payloads/fibonacci/Cargo.lock"),
    )
    .expect("lock");
    copy_tree(&root.join("wit"), &src.join("wit"));
    copy_tree(
        &root.join("crates/trevm-guest"),
        &src.join("crates/trevm-guest"),
    );
    let before = tree(&src);
    set_read_only(&src);

    let out_dir = scratch.path().join("out");
    std::fs::create_dir_all(&out_dir).expect("out");
    let out = out_dir.join("fibonacci.cwasm");
    let opts = trevm_build::BuildOptions {
        quiet: true,
        signing: trevm_build::Signing::Unsigned,
        ..Default::default()
    };
    let built = trevm_build::build_for_build_script(
        &src.join("payloads/fibonacci"),
        &src.join("wit"),
        &out,
        &opts,
    );
    // Writable again, so that the temporary directory can go.
    for path in tree(&src).iter().map(|p| src.join(p)).chain([src.clone()]) {
        let mut perms = std::fs::metadata(&path).expect("metadata").permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        std::fs::set_permissions(&path, perms).expect("chmod");
    }
    let built = built.expect("the capsule builds from a read-only copy");
    assert_eq!(std::fs::read(&out).expect("the capsule"), built.capsule);
    assert_eq!(tree(&src), before, "the build wrote into trevm's sources");
    assert!(
        out_dir
            .join("payload-target/wasm32v1-none/release/fibonacci.wasm")
            .is_file(),
        "the payload build is not in OUT_DIR: {:?}",
        tree(&out_dir).iter().take(10).collect::<Vec<_>>()
    );
}
