//! The `measure:` lines docs/footprint.md is made from (report.sh reads them).

use alloc::format;

use crate::console::board;
use crate::measure::INSTRUCTIONS_PER_CYCLE;

/// `measure: KEY = N B`.
pub(crate) fn measure_bytes(key: &str, bytes: usize) {
    board(&format!("measure: {key} = {bytes} B"));
}

/// `measure: KEY = N cycles (≈ M instructions …)`.
pub(crate) fn measure_cycles(key: &str, cycles: u64) {
    board(&format!(
        "measure: {key} = {cycles} cycles (≈ {} instructions under -icount shift=0)",
        cycles * INSTRUCTIONS_PER_CYCLE
    ));
}
