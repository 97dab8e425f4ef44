//! The seam: trevm's wasmi provider (`trevm::Runtime` with `EngineProfile::wasmi`) against bare
//! wasmi 2.0 configured the same way, on the same module, per figure of the peer and call-cost
//! tables.

use crate::report::{Table, ratio, time};

/// The goal of issue 27: trevm's wasmi provider within this factor of bare wasmi.
const GOAL: f64 = 1.1;

/// One figure measured on both: medians in nanoseconds.
pub(crate) struct Row {
    /// What was measured (names the table it comes from).
    pub(crate) what: String,
    /// Bare wasmi 2.0.
    pub(crate) bare: f64,
    /// trevm's wasmi provider.
    pub(crate) trevm: f64,
}

impl Row {
    pub(crate) fn new(what: impl Into<String>, bare: f64, trevm: f64) -> Self {
        Row {
            what: what.into(),
            bare,
            trevm,
        }
    }
}

/// The table: each figure, both medians, trevm / bare and whether it is within [`GOAL`].
pub(crate) fn render(rows: &[Row]) -> String {
    let mut table = Table::new(&[
        "figure (same run, same module, same wasmi configuration)",
        "bare wasmi 2.0",
        "trevm wasmi",
        "trevm / bare",
        "within 1.1×",
    ])
    .left(0);
    for r in rows {
        let within = if r.bare > 0.0 && r.trevm / r.bare <= GOAL {
            "yes"
        } else {
            "no"
        };
        table.row(vec![
            r.what.clone(),
            time(r.bare),
            time(r.trevm),
            ratio(r.trevm, r.bare),
            within.into(),
        ]);
    }
    format!(
        "### The seam: trevm's wasmi provider against bare wasmi\n\n{}",
        table.render()
    )
}
