//! Bounded parallelism for per-device work: at most `k` threads, each taking the next item, the
//! results in the items' order. A failing item is a value like any other (the callers return
//! per-device results, never abort the others).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// `f` on every item, on at most `k` threads (at least one), with `done` called (from the worker
/// threads, one at a time) after each item with its result; returns the results in order.
pub(crate) fn map<T: Sync, R: Send>(
    items: &[T],
    k: usize,
    f: impl Fn(&T) -> R + Sync,
    done: impl Fn(&T, &R) + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    let report = Mutex::new(());
    std::thread::scope(|scope| {
        for _ in 0..k.clamp(1, items.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    {
                        let _one_at_a_time = report.lock().unwrap_or_else(|p| p.into_inner());
                        done(item, &r);
                    }
                    results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_keep_the_items_order_and_every_item_is_done_once() {
        let items: Vec<u32> = (0..50).collect();
        let count = std::sync::atomic::AtomicUsize::new(0);
        let out = super::map(
            &items,
            7,
            |i| i * 2,
            |_, _| {
                count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            },
        );
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(count.into_inner(), 50);
        assert!(super::map(&[] as &[u32], 0, |i| *i, |_, _| {}).is_empty());
    }
}
