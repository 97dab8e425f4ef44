//! The call-cost tables (`bench-calls`): every profile of trevm, and bare wasmi beside trevm's
//! wasmi provider, against native baselines; and the rows of the seam table they give.

use trevm::{Limits, Preemption, Runtime, Target};
use trevm_native::NativeBoard;

use crate::calls::{CallCosts, bare_wasmi_call_costs, call_costs, native_noop, native_now_loop};
use crate::peers;
use crate::plan::Plan;
use crate::report::{Table, ratio, time};
use crate::seam;
use crate::util::{Result, progress};

/// Who a call-cost row measures.
#[derive(Clone, Copy)]
pub(crate) enum Caller<'a> {
    /// A `bench-calls` capsule through `trevm::Runtime`.
    Trevm(&'a Runtime, &'a [u8]),
    /// The module of the wasmi `bench-calls` capsule on bare wasmi, with fuel or without.
    Bare(bool),
}

/// Measures each row; `calls_wi_fuel` and `calls_wi_none` are the wasmi `bench-calls` capsules,
/// whose module the bare-wasmi rows run.
pub(crate) fn measure(
    plan: &Plan,
    board: &NativeBoard,
    rows: &[(&str, Caller<'_>, Limits)],
    calls_wi_fuel: &[u8],
    calls_wi_none: &[u8],
) -> Result<(String, Vec<seam::Row>)> {
    progress(&format!("native baselines, {} runs", plan.call_runs));
    let native_now = native_now_loop(plan.host_calls, plan.call_runs);
    let native_noop = native_noop(plan.noop_calls, plan.call_runs);
    let mut up = Table::new(&[
        &format!("guest→host: `now-as-millis` ×{}", plan.host_calls),
        "per call",
        "runs",
        "vs native",
    ]);
    up.row(vec![
        "native Rust: `embassy_time::Instant::now().as_millis()`".into(),
        time(native_now.median()),
        native_now.len().to_string(),
        "1.00×".into(),
    ]);
    let mut down = Table::new(&[
        &format!("host→guest: `instance.call(\"noop\")` ×{}", plan.noop_calls),
        "per call",
        "runs",
        "vs native",
        "`call_typed` instead",
    ]);
    down.row(vec![
        "native Rust: call of an empty `#[inline(never)]` fn".into(),
        time(native_noop.median()),
        native_noop.len().to_string(),
        "1.00×".into(),
        "–".into(),
    ]);
    let module = |capsule: &[u8]| -> Result<Vec<u8>> {
        Ok(trevm::Capsule::from_slice(capsule)?.payload().to_vec())
    };
    // (fuel?, bare, trevm) medians of (now, noop, typed), for the seam table.
    let mut bare = [[0.0; 3]; 2];
    let mut trevm = [[0.0; 3]; 2];
    for &(label, caller, limits) in rows {
        progress(&format!("call costs: {label}, {} runs", plan.call_runs));
        let CallCosts { now, noop, typed } = match caller {
            Caller::Trevm(rt, capsule) => call_costs(rt, board, capsule, limits, plan)?,
            Caller::Bare(fuel) => {
                let capsule = if fuel { calls_wi_fuel } else { calls_wi_none };
                let engine = peers::wasmi_engine(fuel);
                bare_wasmi_call_costs(&engine, fuel, &module(capsule)?, plan)?
            }
        };
        let medians = [now.median(), noop.median(), typed.median()];
        match caller {
            Caller::Bare(fuel) => bare[usize::from(!fuel)] = medians,
            Caller::Trevm(rt, _) if rt.profile().target == Target::Wasm => {
                trevm[usize::from(rt.profile().preemption != Preemption::Fuel)] = medians;
            }
            Caller::Trevm(..) => {}
        }
        up.row(vec![
            label.into(),
            time(now.median()),
            now.len().to_string(),
            ratio(now.median(), native_now.median()),
        ]);
        down.row(vec![
            label.into(),
            time(noop.median()),
            noop.len().to_string(),
            ratio(noop.median(), native_noop.median()),
            time(typed.median()),
        ]);
    }
    let mut seam_rows = Vec::new();
    for (i, what) in [
        "guest→host `now-as-millis`",
        "host→guest `call(\"noop\")` (bare: `Func::call`)",
        "host→guest `call_typed(\"noop\")` (bare: `TypedFunc::call`)",
    ]
    .into_iter()
    .enumerate()
    {
        for (j, label) in ["fuel", "no fuel"].into_iter().enumerate() {
            seam_rows.push(seam::Row::new(
                format!("{what}, {label}"),
                bare[j][i],
                trevm[j][i],
            ));
        }
    }
    Ok((
        format!("### Call costs\n\n{}\n{}", up.render(), down.render()),
        seam_rows,
    ))
}
