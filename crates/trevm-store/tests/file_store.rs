//! FileStore: one file per key, atomic replace, damage detected.
#![cfg(feature = "std")]

mod common;

use std::fs;

use common::value;
use trevm_store::{CapsuleStore, FileStore, StoreError};

#[test]
fn put_get_overwrite_remove_keys() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let mut s = FileStore::open(&root).unwrap();
    assert_eq!(s.keys().unwrap(), Vec::<String>::new());
    assert_eq!(s.get("ledger"), Ok(None));
    s.put("ledger", b"v1").unwrap();
    s.put("sandbox/hello", &value(1, 10_000)).unwrap();
    s.put("Sandbox/Hello", b"case matters").unwrap();
    s.put("persistent", b"").unwrap();
    s.put("ledger", b"version two").unwrap();
    assert_eq!(s.get("ledger"), Ok(Some(b"version two".to_vec())));
    assert_eq!(
        s.get("persistent"),
        Ok(Some(Vec::new())),
        "empty is not absent"
    );
    assert_eq!(s.get("Sandbox/Hello"), Ok(Some(b"case matters".to_vec())));
    assert_eq!(
        s.keys().unwrap(),
        ["Sandbox/Hello", "ledger", "persistent", "sandbox/hello"]
    );
    assert_eq!(s.remove("sandbox/hello"), Ok(true));
    assert_eq!(s.remove("sandbox/hello"), Ok(false));
    assert_eq!(s.get("sandbox/hello"), Ok(None));

    // Flat directory, no temporary files left behind.
    let mut names: Vec<String> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "%53andbox%2F%48ello.capsule",
            "ledger.capsule",
            "persistent.capsule"
        ]
    );

    let mut s = FileStore::open(&root).unwrap();
    assert_eq!(s.keys().unwrap(), ["Sandbox/Hello", "ledger", "persistent"]);
    assert_eq!(s.get("ledger"), Ok(Some(b"version two".to_vec())));
}

#[test]
fn large_values_and_limits() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = FileStore::open(dir.path()).unwrap();
    let big = value(2, 256 * 1024);
    s.put("sandbox/big", &big).unwrap();
    assert_eq!(s.get("sandbox/big").unwrap(), Some(big));
    assert_eq!(
        s.put("sandbox/big", &value(3, 256 * 1024 + 1)),
        Err(StoreError::TooLarge {
            len: 256 * 1024 + 1,
            max: 256 * 1024
        })
    );
    let mut small = FileStore::open_with(dir.path(), 100).unwrap();
    // A file larger than this store's limit is not read into memory.
    assert!(matches!(
        small.get("sandbox/big"),
        Err(StoreError::Corrupt(_))
    ));
}

#[test]
fn bad_keys_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = FileStore::open(dir.path()).unwrap();
    for key in [
        "",
        "/etc/passwd",
        "../x",
        "a/../../b",
        "x/",
        "a//b",
        "a\\b",
        "nul\0",
        &"k".repeat(65),
    ] {
        assert!(
            matches!(s.put(key, b"v"), Err(StoreError::BadKey(_))),
            "{key:?}"
        );
        assert!(matches!(s.get(key), Err(StoreError::BadKey(_))), "{key:?}");
        assert!(
            matches!(s.remove(key), Err(StoreError::BadKey(_))),
            "{key:?}"
        );
    }
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn stray_temp_files_and_damaged_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut s = FileStore::open(root).unwrap();
    s.put("ledger", b"ledger value").unwrap();
    s.put("sandbox/crc", &value(4, 5000)).unwrap();
    s.put("sandbox/short", &value(5, 5000)).unwrap();
    s.put("sandbox/magic", b"m").unwrap();
    drop(s);

    // A crashed put leaves a temporary file; unrelated files may be around too.
    let stray = root.join(".ledger.4242.0.tmp");
    fs::write(&stray, b"half a new ledger").unwrap();
    fs::write(root.join("README"), b"not a capsule").unwrap();
    fs::write(root.join("ledger.capsule.bak"), b"not a capsule").unwrap();
    // Bit rot in a value, a truncated file, a file that is not ours.
    let path = root.join("sandbox%2Fcrc.capsule");
    let mut bytes = fs::read(&path).unwrap();
    bytes[100] ^= 1;
    fs::write(&path, bytes).unwrap();
    let path = root.join("sandbox%2Fshort.capsule");
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
    fs::write(
        root.join("sandbox%2Fmagic.capsule"),
        b"XXXXXXXXXXXXXXXXXXXX",
    )
    .unwrap();

    let mut s = FileStore::open(root).unwrap();
    assert!(!stray.exists(), "open removes temporary files");
    assert_eq!(s.get("ledger"), Ok(Some(b"ledger value".to_vec())));
    for (key, file) in [
        ("sandbox/crc", "sandbox%2Fcrc.capsule"),
        ("sandbox/short", "sandbox%2Fshort.capsule"),
        ("sandbox/magic", "sandbox%2Fmagic.capsule"),
    ] {
        match s.get(key) {
            Err(StoreError::Corrupt(msg)) => assert!(msg.contains(file), "{msg}"),
            other => panic!("{key}: {other:?}"),
        }
    }
    // Only committed files are keys; damaged ones are listed (and can be replaced).
    assert_eq!(
        s.keys().unwrap(),
        ["ledger", "sandbox/crc", "sandbox/magic", "sandbox/short"]
    );
    s.put("sandbox/crc", b"fixed").unwrap();
    assert_eq!(s.get("sandbox/crc"), Ok(Some(b"fixed".to_vec())));
    assert_eq!(s.remove("sandbox/short"), Ok(true));
    assert!(
        root.join("README").exists(),
        "unrelated files are left alone"
    );
}

#[cfg(unix)]
#[test]
fn directory_and_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("a/b");
    let mut s = FileStore::open(&root).unwrap();
    s.put("ledger", b"x").unwrap();
    let mode = |p: &std::path::Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&root), 0o700);
    assert_eq!(mode(&s.path_of("ledger").unwrap()), 0o600);
}

#[test]
fn boxed_trait_object() {
    let dir = tempfile::tempdir().unwrap();
    let mut s: Box<dyn CapsuleStore + Send> = Box::new(FileStore::open(dir.path()).unwrap());
    s.put("persistent", b"p").unwrap();
    assert_eq!(s.get("persistent"), Ok(Some(b"p".to_vec())));
}
