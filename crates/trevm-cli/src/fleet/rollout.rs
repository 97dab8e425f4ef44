//! One device's part of a rollout: read its status, skip it when it already runs the version
//! (or one the plan says to leave alone), else upload, then check its health — the capsule
//! answers (sandbox: a GET runs it) and, after the settle time, `/status` shows the new version
//! with no trap and no stop since its install (the device's counters start at 0 at install).

use std::path::Path;
use std::time::Duration;

use trevm_coap::message::code;

use super::args::Target;
use super::lookup::Endpoint;
use super::probe::{self, Problem, Session};

/// What to roll out and how to judge it.
pub(crate) struct Plan<'a> {
    pub(crate) target: &'a Target,
    /// The signed capsule.
    pub(crate) capsule: &'a [u8],
    /// Its signed version.
    pub(crate) version: u64,
    /// Versions after which a device is left alone: a rollback's original version (devices
    /// that never left it).
    pub(crate) leave_alone: Option<u64>,
    pub(crate) settle: Duration,
    pub(crate) credentials: Option<&'a Path>,
}

/// How one device ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// It already ran the version (or one to leave alone): nothing sent.
    Skipped(&'static str),
    /// Updated and healthy.
    Updated,
    /// Updated (or tried) and not healthy: this stops the rollout.
    Failed(String),
    /// It could not be driven: reported, does not stop the rollout.
    Problem(Problem),
}

/// A device's line of the final table.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    pub(crate) ep: String,
    /// The version before (`-`: nothing in that slot/name; `?`: unknown).
    pub(crate) before: String,
    pub(crate) after: String,
    pub(crate) outcome: Outcome,
}

impl Report {
    /// The result column.
    pub(crate) fn result(&self) -> String {
        match &self.outcome {
            Outcome::Skipped(why) => format!("skipped ({why})"),
            Outcome::Updated => "updated, healthy".into(),
            Outcome::Failed(why) => format!("FAILED: {why}"),
            Outcome::Problem(p) => format!("{} (not updated)", p.cell()),
        }
    }
}

/// A version cell.
fn version_of(status: &trevm_coap::status::Status, target: &Target) -> String {
    match probe::capsule(status, &target.slot, &target.name) {
        Some(c) => c.version.map_or("unsigned".into(), |v| v.to_string()),
        None => "-".into(),
    }
}

/// Updates one device as `plan` says.
pub(crate) fn update(endpoint: &Endpoint, plan: &Plan) -> Report {
    let mut report = Report {
        ep: endpoint.ep.clone(),
        before: "?".into(),
        after: "?".into(),
        outcome: Outcome::Skipped(""),
    };
    report.outcome = match drive(endpoint, plan, &mut report) {
        Ok(outcome) | Err(outcome) => outcome,
    };
    report
}

fn drive(endpoint: &Endpoint, plan: &Plan, report: &mut Report) -> Result<Outcome, Outcome> {
    let target = plan.target;
    let mut session = Session::open(&endpoint.base, plan.credentials).map_err(Outcome::Problem)?;
    let (status, _) = session.status().map_err(Outcome::Problem)?;
    report.before = version_of(&status, target);
    report.after = report.before.clone();
    let running = probe::capsule(&status, &target.slot, &target.name).and_then(|c| c.version);
    if running == Some(plan.version) {
        return Ok(Outcome::Skipped("already runs it"));
    }
    if running.is_some() && running == plan.leave_alone {
        return Ok(Outcome::Skipped("never left the old version"));
    }
    // The client takes the payload by value (one copy per device, ~capsule size).
    let reply = session
        .request(code::PUT, &target.put_path(), plan.capsule.to_vec())
        .map_err(Outcome::Problem)?;
    if !reply.is_success() {
        return Err(Outcome::Failed(format!("upload: {}", reply.describe())));
    }
    let answered = if target.slot == "sandbox" {
        match session.request(code::GET, &["sandbox", &target.name], Vec::new()) {
            Ok(r) if r.is_success() => Ok(()),
            Ok(r) => Err(format!("GET /sandbox/{}: {}", target.name, r.describe())),
            Err(p) => Err(format!("GET /sandbox/{}: {}", target.name, p.detail())),
        }
    } else {
        Ok(())
    };
    if answered.is_ok() {
        std::thread::sleep(plan.settle);
    }
    let (status, _) = match session.status() {
        Ok(s) => s,
        Err(p) => {
            return Err(Outcome::Failed(format!(
                "/status after the update: {}",
                p.detail()
            )));
        }
    };
    report.after = version_of(&status, target);
    answered.map_err(Outcome::Failed)?;
    match probe::capsule(&status, &target.slot, &target.name) {
        Some(c) if c.version == Some(plan.version) && c.trapped == 0 && c.stopped == 0 => {
            Ok(Outcome::Updated)
        }
        Some(c) if c.version == Some(plan.version) => Err(Outcome::Failed(format!(
            "{} trapped, {} stopped within {:?}{}",
            c.trapped,
            c.stopped,
            plan.settle,
            c.last_error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        ))),
        _ => Err(Outcome::Failed(format!(
            "/status does not show version {} installed",
            plan.version
        ))),
    }
}
