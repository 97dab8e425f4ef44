//! Power loss at every flash operation of a workload: every key must hold its complete old or
//! complete new value afterwards, and the store must keep working (no leaked space).

mod common;

use std::collections::BTreeMap;

use common::{Cut, CutFlash, value};
use trevm_store::{CapsuleStore, FlashStore, RamFlash, StoreError};

/// Small pages make many chunks and frequent page reuse cheap to simulate.
const PAGE: usize = 512;
const PAGES: usize = 24;
/// The firmware's geometry (4-byte words, 4 KiB pages), 24 pages.
const BIG_PAGE: usize = 4096;
const BIG_PAGES: usize = 24;

type Model = BTreeMap<String, Vec<u8>>;

#[derive(Clone)]
enum Op {
    Put(&'static str, Vec<u8>),
    Remove(&'static str),
}

impl std::fmt::Debug for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Op::Put(k, v) => write!(f, "put({k}, {} bytes)", v.len()),
            Op::Remove(k) => write!(f, "remove({k})"),
        }
    }
}

impl Op {
    fn apply(&self, model: &mut Model) {
        match self {
            Op::Put(k, v) => {
                model.insert(k.to_string(), v.clone());
            }
            Op::Remove(k) => {
                model.remove(*k);
            }
        }
    }

    fn run(&self, store: &mut impl CapsuleStore) -> Result<(), StoreError> {
        match self {
            Op::Put(k, v) => store.put(k, v),
            Op::Remove(k) => store.remove(k).map(|_| ()),
        }
    }
}

/// Puts, overwrites (growing, shrinking, empty) and removes over a few keys; writes several
/// times the region, so pages are reused and live items migrated.
fn workload(scale: usize, rounds: usize) -> Vec<Op> {
    let keys = ["ledger", "persistent", "sandbox/a", "sandbox/b"];
    let sizes = [300, 40, 1500, 0, 2200, 700, 1].map(|n| n * scale);
    let mut ops = Vec::new();
    let mut seed = 1;
    for round in 0..rounds {
        for (i, key) in keys.iter().enumerate() {
            let len = sizes[(round + i) % sizes.len()];
            ops.push(Op::Put(key, value(seed, len)));
            seed += 1;
        }
        ops.push(Op::Remove(keys[round % keys.len()]));
        if round % 3 == 0 {
            ops.push(Op::Remove("never-stored"));
        }
    }
    ops
}

fn region<const P: usize>(pages: usize) -> core::ops::Range<u32> {
    0..(P * pages) as u32
}

/// Runs `ops` on a fresh store whose flash dies at operation `cut_at`. Returns the flash
/// contents, the models before and after the interrupted op (equal if every op was
/// acknowledged: an acknowledged op must be durable), whether power was lost, and the number of
/// flash operations done.
fn run_until_cut<const P: usize>(
    pages: usize,
    ops: &[Op],
    cut_at: u64,
    cut: Cut,
) -> (Vec<u8>, Model, Model, bool, u64) {
    let flash = CutFlash::new(RamFlash::<P>::erased(P * pages), Some(cut_at), cut);
    let mut model = Model::new();
    let mut store = match FlashStore::open(flash, region::<P>(pages)) {
        Ok(store) => store,
        Err(e) => panic!("open of an empty flash failed: {e}"),
    };
    for op in ops {
        let before = model.clone();
        op.apply(&mut model);
        if let Err(err) = op.run(&mut store) {
            let flash = store.into_flash();
            assert!(flash.dead, "op {op:?} failed without a power cut: {err}");
            return (flash.flash.into_bytes(), before, model, true, flash.ops);
        }
    }
    // Power may also be lost in the clean-up after an acknowledged op (erasing garbage).
    let flash = store.into_flash();
    let (ops, dead) = (flash.ops, flash.dead);
    (flash.flash.into_bytes(), model.clone(), model, dead, ops)
}

/// Checks that the store on `image` holds, for each key, the value of `before` or `after`.
fn check_recovered<const P: usize>(
    pages: usize,
    image: Vec<u8>,
    before: &Model,
    after: &Model,
    what: &str,
) -> Vec<u8> {
    let mut store = FlashStore::open(RamFlash::<P>::from_image(image), region::<P>(pages))
        .unwrap_or_else(|e| panic!("{what}: reopen failed: {e}"));
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut present = Vec::new();
    for key in keys {
        let got = store
            .get(key)
            .unwrap_or_else(|e| panic!("{what}: get({key}) failed: {e}"));
        let (old, new) = (before.get(key), after.get(key));
        assert!(
            got.as_ref() == old || got.as_ref() == new,
            "{what}: {key} holds {:?} bytes, neither old ({:?}) nor new ({:?})",
            got.as_ref().map(Vec::len),
            old.map(Vec::len),
            new.map(Vec::len),
        );
        if got.is_some() {
            present.push(key.clone());
        }
    }
    assert_eq!(store.keys().unwrap(), present, "{what}: keys()");
    store.into_flash().into_bytes()
}

/// After recovery the store still works and has leaked no space: emptied, it holds its largest
/// value.
fn check_usable<const P: usize>(pages: usize, image: Vec<u8>, what: &str) {
    let mut store = FlashStore::open(RamFlash::<P>::from_image(image), region::<P>(pages)).unwrap();
    for key in store.keys().unwrap() {
        assert_eq!(store.remove(&key), Ok(true), "{what}");
    }
    let big = value(999, store.largest_value());
    store
        .put(
            "sandbox/a-long-name-for-the-largest-value-that-fits-in-region",
            &big,
        )
        .unwrap_or_else(|e| panic!("{what}: largest value no longer fits: {e}"));
    let mut store = FlashStore::open(store.into_flash(), region::<P>(pages)).unwrap();
    assert_eq!(
        store
            .get("sandbox/a-long-name-for-the-largest-value-that-fits-in-region")
            .unwrap(),
        Some(big),
        "{what}"
    );
}

/// Cuts power at every flash operation of `ops` (clean and torn), then also during the
/// recovery, and checks the store each time.
fn cut_everywhere<const P: usize>(pages: usize, ops: &[Op]) {
    let (_, _, _, cut, total) = run_until_cut::<P>(pages, ops, u64::MAX, Cut::Clean);
    assert!(!cut);
    assert!(total > 200, "workload too small: {total} flash operations");
    let mut checked = 0;
    for cut_at in 0..total {
        for mode in [Cut::Clean, Cut::Torn, Cut::TornTail] {
            let (image, before, after, lost, _) = run_until_cut::<P>(pages, ops, cut_at, mode);
            assert!(lost);
            let what = format!("cut {mode:?} at op {cut_at}/{total}");
            let recovered = check_recovered::<P>(pages, image.clone(), &before, &after, &what);

            // Power lost again while the reopen erases garbage: still old-or-new.
            for second in 0..8u64 {
                let flash =
                    CutFlash::new(RamFlash::<P>::from_image(image.clone()), Some(second), mode);
                let flash = match FlashStore::open(flash, region::<P>(pages)) {
                    Ok(store) => store.into_flash(),
                    Err(_) => {
                        // Only a power cut may make open fail.
                        continue;
                    }
                };
                if !flash.dead {
                    break; // recovery needed fewer operations
                }
                let what = format!("{what}, then cut {mode:?} at recovery op {second}");
                check_recovered::<P>(pages, flash.flash.into_bytes(), &before, &after, &what);
            }
            if cut_at % 7 == 0 {
                check_usable::<P>(pages, recovered, &what);
            }
            checked += 1;
        }
    }
    eprintln!("{P}-byte pages: checked {checked} power cuts over {total} flash operations");
}

#[test]
fn power_loss_at_every_operation() {
    cut_everywhere::<PAGE>(PAGES, &workload(1, 12));
}

#[test]
fn power_loss_at_every_operation_4k_pages() {
    cut_everywhere::<BIG_PAGE>(BIG_PAGES, &workload(6, 6));
}

#[test]
fn full_store_with_power_loss_keeps_values() {
    // Fill the store, then overwrite with a value that does not fit: Full, old value intact.
    let mut store = FlashStore::open(
        RamFlash::<PAGE>::erased(PAGE * PAGES),
        region::<PAGE>(PAGES),
    )
    .unwrap();
    let mut model = Model::new();
    for i in 0.. {
        let key = format!("k{i}");
        let v = value(i, 1000);
        match store.put(&key, &v) {
            Ok(()) => {
                model.insert(key, v);
            }
            Err(StoreError::Full) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(model.len() >= 5, "only {} values fit", model.len());
    assert_eq!(store.put("k0", &value(77, 4000)), Err(StoreError::Full));
    let image = store.into_flash().into_bytes();
    check_recovered::<PAGE>(PAGES, image, &model, &model, "full");
}
