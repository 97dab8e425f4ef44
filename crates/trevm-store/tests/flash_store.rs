//! FlashStore on a RamFlash shaped like the firmware's (4-byte words, 4 KiB pages).

mod common;

use common::value;
use trevm_store::{CapsuleStore, FlashStore, RamFlash, StoreError};

const MIB: usize = 1024 * 1024;

fn open(flash: RamFlash, len: usize) -> FlashStore<RamFlash> {
    FlashStore::open(flash, 0..len as u32).unwrap()
}

#[test]
fn put_get_overwrite_remove_keys() {
    let mut s = open(RamFlash::new(64 * 1024), 64 * 1024);
    assert_eq!(s.keys().unwrap(), Vec::<String>::new());
    assert_eq!(s.get("ledger"), Ok(None));
    s.put("ledger", b"v1").unwrap();
    s.put("sandbox/hello", &value(1, 10_000)).unwrap();
    s.put("persistent", b"").unwrap();
    assert_eq!(s.get("ledger"), Ok(Some(b"v1".to_vec())));
    assert_eq!(
        s.get("persistent"),
        Ok(Some(Vec::new())),
        "empty is not absent"
    );
    s.put("ledger", b"version two").unwrap();
    assert_eq!(s.get("ledger"), Ok(Some(b"version two".to_vec())));
    assert_eq!(s.keys().unwrap(), ["ledger", "persistent", "sandbox/hello"]);
    assert_eq!(s.remove("sandbox/hello"), Ok(true));
    assert_eq!(s.remove("sandbox/hello"), Ok(false));
    assert_eq!(s.get("sandbox/hello"), Ok(None));
    assert_eq!(s.keys().unwrap(), ["ledger", "persistent"]);

    // Everything survives a reopen.
    let mut s = open(s.into_flash(), 64 * 1024);
    assert_eq!(s.keys().unwrap(), ["ledger", "persistent"]);
    assert_eq!(s.get("ledger"), Ok(Some(b"version two".to_vec())));
    assert_eq!(s.get("persistent"), Ok(Some(Vec::new())));
}

#[test]
fn bad_keys_are_rejected() {
    let mut s = open(RamFlash::new(16 * 1024), 16 * 1024);
    for key in ["", "/x", "x/", "a//b", "../x", "a b", "ä", &"k".repeat(65)] {
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
    assert_eq!(s.keys().unwrap(), Vec::<String>::new());
}

#[test]
fn capsules_up_to_256_kib_in_a_1_mib_region() {
    let mut s = open(RamFlash::new(MIB), MIB);
    let big = value(7, 256 * 1024);
    s.put("sandbox/big", &big).unwrap();
    s.put("persistent", &value(8, 100 * 1024)).unwrap();
    assert_eq!(s.get("sandbox/big").unwrap().as_deref(), Some(&big[..]));
    // Overwriting needs room for old and new until the commit.
    let big2 = value(9, 256 * 1024);
    s.put("sandbox/big", &big2).unwrap();
    assert_eq!(s.get("sandbox/big").unwrap().as_deref(), Some(&big2[..]));
    assert_eq!(
        s.put("sandbox/bigger", &value(1, 256 * 1024 + 1)),
        Err(StoreError::TooLarge {
            len: 256 * 1024 + 1,
            max: 256 * 1024
        })
    );
    let mut s = open(s.into_flash(), MIB);
    assert_eq!(s.get("sandbox/big").unwrap().as_deref(), Some(&big2[..]));
    assert_eq!(s.get("persistent").unwrap(), Some(value(8, 100 * 1024)));
}

#[test]
fn many_overwrites_wrap_the_ring() {
    // 16 pages, ~30 KiB written per round: pages are reused and live data migrated many times.
    let len = 16 * 4096;
    let mut s = open(RamFlash::new(len), len);
    for round in 0..40u32 {
        s.put("ledger", &value(round, 200)).unwrap();
        s.put("sandbox/a", &value(1000 + round, 9000)).unwrap();
        if round % 5 == 0 {
            s.put("sandbox/b", &value(2000 + round, 3000)).unwrap();
        }
    }
    assert_eq!(s.get("ledger").unwrap(), Some(value(39, 200)));
    assert_eq!(s.get("sandbox/a").unwrap(), Some(value(1039, 9000)));
    assert_eq!(s.get("sandbox/b").unwrap(), Some(value(2035, 3000)));
    let flash = s.into_flash();
    assert!(flash.erased_pages() > 16 * 5, "the ring wrapped");
    let mut s = open(flash, len);
    assert_eq!(s.get("sandbox/a").unwrap(), Some(value(1039, 9000)));
}

#[test]
fn full_store_says_full_and_keeps_its_values() {
    // Values of 0.6 page: the space estimate thinks more fit than do, so sequential-storage's
    // own FullStorage path is exercised as well as the early check.
    let len = 16 * 4096;
    for size in [2400usize, 9000] {
        let mut s = open(RamFlash::new(len), len);
        let mut stored = Vec::new();
        for i in 0u32.. {
            let key = format!("sandbox/k{i}");
            match s.put(&key, &value(i, size)) {
                Ok(()) => stored.push((key, value(i, size))),
                Err(StoreError::Full) => break,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(stored.len() >= 3, "{size}: only {} fit", stored.len());
        // A failed overwrite keeps the old value.
        assert_eq!(
            s.put(&stored[0].0, &value(99, size * 2)),
            Err(StoreError::Full)
        );
        for (key, v) in &stored {
            assert_eq!(s.get(key).unwrap().as_ref(), Some(v), "{size}: {key}");
        }
        let mut s = open(s.into_flash(), len);
        for (key, v) in &stored {
            assert_eq!(
                s.get(key).unwrap().as_ref(),
                Some(v),
                "{size}: {key} after reopen"
            );
        }
        // Removing works on a full store and frees room again.
        assert_eq!(s.remove(&stored[0].0), Ok(true));
        s.put("sandbox/again", &value(5, size)).unwrap();
        assert_eq!(s.get("sandbox/again").unwrap(), Some(value(5, size)));
    }
}

#[test]
fn too_large_for_the_region() {
    let len = 8 * 4096;
    let mut s = open(RamFlash::new(len), len);
    let largest = s.largest_value();
    assert!(largest > 5 * 4000 && largest < 6 * 4096, "{largest}");
    assert!(matches!(
        s.put("x", &value(1, 7 * 4096)),
        Err(StoreError::TooLarge { .. })
    ));
    let long_key = "k".repeat(64);
    s.put(&long_key, &value(2, largest)).unwrap();
    assert_eq!(s.get(&long_key).unwrap(), Some(value(2, largest)));
}

#[test]
fn region_inside_a_larger_flash() {
    let mut flash = RamFlash::new(64 * 1024);
    flash.bytes_mut()[..4096].fill(0x5A); // someone else's data below the region
    let mut s = FlashStore::open(flash, 4096..12 * 4096).unwrap();
    s.put("ledger", &value(3, 20_000)).unwrap();
    s.remove("ledger").unwrap();
    s.put("ledger", &value(4, 20_000)).unwrap();
    let flash = s.into_flash();
    assert!(flash.bytes()[..4096].iter().all(|&b| b == 0x5A));
    assert!(flash.bytes()[12 * 4096..].iter().all(|&b| b == 0xFF));
    let mut s = FlashStore::open(flash, 4096..12 * 4096).unwrap();
    assert_eq!(s.get("ledger").unwrap(), Some(value(4, 20_000)));
}

#[test]
fn bad_regions_are_errors() {
    let flash = || RamFlash::new(64 * 1024);
    #[allow(clippy::reversed_empty_ranges)]
    let ranges = [
        100..8192,
        0..8000,
        0..4096,
        0..128 * 1024,
        8192..4096,
        4096..4096,
    ];
    for range in ranges {
        assert!(
            matches!(
                FlashStore::open(flash(), range.clone()),
                Err(StoreError::Flash(_))
            ),
            "{range:?}"
        );
    }
}

#[test]
fn damaged_chunk_is_reported_not_returned() {
    let len = 16 * 4096;
    let mut s = open(RamFlash::new(len), len);
    let v = value(11, 9000);
    s.put("sandbox/victim", &v).unwrap();
    s.put("ledger", b"fine").unwrap();
    let mut flash = s.into_flash();
    // Flip a bit in the middle of the value's bytes (an item's data CRC then fails).
    let at = flash
        .bytes()
        .windows(16)
        .position(|w| w == &v[5000..5016])
        .expect("value bytes are in flash");
    flash.bytes_mut()[at + 3] ^= 0x10;
    let mut s = open(flash, len);
    assert!(matches!(
        s.get("sandbox/victim"),
        Err(StoreError::Corrupt(_))
    ));
    assert_eq!(s.get("ledger"), Ok(Some(b"fine".to_vec())));
    // The damaged key can be replaced or removed.
    s.put("sandbox/victim", b"new").unwrap();
    assert_eq!(s.get("sandbox/victim"), Ok(Some(b"new".to_vec())));
    assert_eq!(s.remove("sandbox/victim"), Ok(true));
}

#[test]
fn format_erases() {
    let len = 8 * 4096;
    let mut flash = RamFlash::new(len);
    flash.bytes_mut().fill(0x00); // not a store: every page looks closed
    let mut s = match FlashStore::open(flash.clone(), 0..len as u32) {
        Ok(mut s) => {
            // If sequential-storage repaired it, it must be usable.
            s.put("a", b"b").unwrap();
            s
        }
        Err(_) => FlashStore::format(flash, 0..len as u32).unwrap(),
    };
    s.put("ledger", b"x").unwrap();
    assert_eq!(s.get("ledger"), Ok(Some(b"x".to_vec())));
}

#[test]
fn boxed_trait_object() {
    let len = 8 * 4096;
    let mut s: Box<dyn CapsuleStore + Send> = Box::new(open(RamFlash::new(len), len));
    s.put("persistent", b"p").unwrap();
    assert_eq!(s.get("persistent"), Ok(Some(b"p".to_vec())));
    assert_eq!(s.keys().unwrap(), ["persistent"]);
}
