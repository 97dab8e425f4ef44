//! `FlashStore::open` (and what follows) on arbitrary flash contents never panics.
//! `TREVM_FUZZ_CASES` sets the number of cases per test (default 256).

mod common;

use common::value;
use proptest::prelude::*;
use trevm_store::{CapsuleStore, FlashStore, RamFlash};

const PAGE: usize = 512;
const PAGES: usize = 8;
const LEN: usize = PAGE * PAGES;

fn cases() -> u32 {
    std::env::var("TREVM_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256)
}

/// Whatever open makes of `image`, using the store must not panic, and a value it returns must
/// be one that was stored (`known`, if given): damage is detected, never returned.
fn exercise(image: Vec<u8>, known: Option<&[Vec<u8>]>) {
    let Ok(mut store) = FlashStore::open(RamFlash::<PAGE>::from_image(image), 0..LEN as u32) else {
        return;
    };
    let Ok(keys) = store.keys() else { return };
    for key in &keys {
        if let (Ok(Some(got)), Some(known)) = (store.get(key), known) {
            assert!(
                known.contains(&got),
                "{key}: {} bytes never stored",
                got.len()
            );
        }
    }
    let _ = store.put("ledger", b"after fuzz");
    if store.get("ledger").is_ok() {
        let _ = store.remove(keys.first().map_or("x", String::as_str));
    }
}

fn stored_values() -> Vec<Vec<u8>> {
    vec![value(1, 100), value(2, 1200), value(3, 300), value(4, 90)]
}

/// A valid store image with a few values.
fn valid_image() -> Vec<u8> {
    let mut store = FlashStore::open(RamFlash::<PAGE>::erased(LEN), 0..LEN as u32).unwrap();
    store.put("ledger", &value(1, 100)).unwrap();
    store.put("sandbox/a", &value(2, 1200)).unwrap();
    store.put("persistent", &value(3, 300)).unwrap();
    store.put("ledger", &value(4, 90)).unwrap();
    store.into_flash().into_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn random_contents(image in proptest::collection::vec(any::<u8>(), LEN)) {
        exercise(image, None);
    }

    #[test]
    fn random_page_states(words in proptest::collection::vec(any::<[bool; 2]>(), PAGES), fill in any::<u8>()) {
        // Every combination of page markers around plausible-looking contents.
        let mut image = vec![fill; LEN];
        for (page, [start, end]) in words.into_iter().enumerate() {
            let base = page * PAGE;
            image[base..base + 4].fill(if start { 0 } else { 0xFF });
            image[base + PAGE - 4..base + PAGE].fill(if end { 0 } else { 0xFF });
        }
        exercise(image, None);
    }

    #[test]
    fn damaged_valid_store(edits in proptest::collection::vec((0..LEN, any::<u8>()), 1..16)) {
        let mut image = valid_image();
        for (at, byte) in edits {
            image[at] = byte;
        }
        exercise(image, Some(&stored_values()));
    }
}
