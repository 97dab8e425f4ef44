//! The benchmark's workloads (`payloads/bench-work`: recursive fib, heapsort, SHA-256) compiled
//! natively, the baseline the capsules (Pulley and wasmi) are measured against: the capsule is
//! built from the same file. And the arguments they run with on the M4.

#[path = "../../../payloads/bench-work/src/work.rs"]
mod work;

pub use work::{MAX_SORT, fib, heapsort, sha256};

/// Arguments of the workloads on the M4 (smaller than the host benchmark's: QEMU is slow).
const WORK_FIB: u32 = 20;
const WORK_SORT: u32 = 1000;
const WORK_HASH: u32 = 4096;
const WORK_SEED: u32 = 0x2545_f491;

/// Each workload: the capsule's export, and its arguments (fib takes only the first).
pub const ROWS: [(&str, u32, u32); 3] = [
    ("fib", WORK_FIB, 0),
    ("heapsort", WORK_SORT, WORK_SEED),
    ("sha256", WORK_HASH, WORK_SEED),
];
