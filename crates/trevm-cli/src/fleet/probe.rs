//! Talking to one device of the fleet: a session (EDHOC + OSCORE with the operator's credentials,
//! the entry matching the device's URL as `trevm push --credentials` picks it), its `/status`,
//! and what went wrong as one of three things a fleet table can say: unreachable, no credentials
//! for it, or a garbage answer (it answered, but not as a trevm device does).

use std::path::Path;
use std::time::{Duration, Instant};

use trevm_cli::coap_client::{Client, Reply, Url};
use trevm_coap::message::code;
use trevm_coap::status::{CapsuleStatus, Status};

use super::lookup::{Endpoint, Filter};

/// How often a handshake refused as busy (5.03) is tried again, and how long apart (the Max-Age
/// trevm devices send with it).
const BUSY_RETRIES: u32 = 10;
const BUSY_PAUSE: Duration = Duration::from_secs(1);

/// Why a device could not be driven.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    /// No answer, or nothing listening (ICMP port unreachable).
    Unreachable(String),
    /// The operator's credentials file has no entry for it (or is unreadable).
    NoCredentials(String),
    /// It refused to show its status (4.01 without credentials, 4.03 when the operator's key is
    /// not allowed to read it).
    Refused(String),
    /// It answered, but not as a trevm device does (not CoAP we expect, a failed EDHOC, a
    /// `/status` that is not trevm's JSON, an error code).
    Garbage(String),
}

impl Problem {
    /// The short form for a table cell.
    pub(crate) fn cell(&self) -> &'static str {
        match self {
            Problem::Unreachable(_) => "unreachable",
            Problem::NoCredentials(_) => "no credentials",
            Problem::Refused(_) => "refused",
            Problem::Garbage(_) => "garbage answer",
        }
    }

    /// The whole message.
    pub(crate) fn detail(&self) -> &str {
        match self {
            Problem::Unreachable(m)
            | Problem::NoCredentials(m)
            | Problem::Refused(m)
            | Problem::Garbage(m) => m,
        }
    }
}

/// A device's errors as a [`Problem`]: the client's "nobody there" messages are unreachability,
/// every other failure of an exchange means the device answered something we cannot use.
fn classify(e: &anyhow::Error) -> Problem {
    let message = format!("{e:#}");
    let unreachable = ["no answer from", "connection refused", "cannot reach"];
    if unreachable.iter().any(|m| message.contains(m)) {
        Problem::Unreachable(message)
    } else {
        Problem::Garbage(message)
    }
}

/// An open session with one device.
pub(crate) struct Session {
    client: Client,
}

impl Session {
    /// Connects to the device at `base` (`coap://host:port`), with EDHOC first when
    /// `credentials` is given.
    pub(crate) fn open(base: &str, credentials: Option<&Path>) -> Result<Session, Problem> {
        let url = Url::parse(&format!("{base}/status"))
            .map_err(|e| Problem::Unreachable(format!("{e:#}")))?;
        if let Some(path) = credentials {
            // Checked apart, so a missing entry is not mistaken for the device's fault.
            trevm_cli::credentials::load(path, &url.resource())
                .map_err(|e| Problem::NoCredentials(format!("{e:#}")))?;
        }
        // A device admits a few EDHOC handshakes at once, then one every so often, and answers
        // 5.03 (Max-Age 1) beyond: a fleet command makes many in a row, so it waits and retries.
        let mut tries = 0;
        loop {
            match Client::connect(url.clone(), credentials) {
                Ok(client) => return Ok(Session { client }),
                Err(e) if tries < BUSY_RETRIES && format!("{e:#}").contains("5.03") => {
                    tries += 1;
                    std::thread::sleep(BUSY_PAUSE);
                }
                Err(e) => return Err(classify(&e)),
            }
        }
    }

    /// One request to `path` (segments); an upload is sent block-wise.
    pub(crate) fn request(
        &mut self,
        method: u8,
        path: &[&str],
        payload: Vec<u8>,
    ) -> Result<Reply, Problem> {
        self.client.set_path(path);
        self.client
            .request(method, payload, 1024, |_, _| {})
            .map_err(|e| classify(&e))
    }

    /// `GET /status`, parsed, and how long the answer took.
    pub(crate) fn status(&mut self) -> Result<(Status, Duration), Problem> {
        let start = Instant::now();
        let reply = self.request(code::GET, &["status"], Vec::new())?;
        let rtt = start.elapsed();
        if reply.code == code::UNAUTHORIZED || reply.code == code::FORBIDDEN {
            return Err(Problem::Refused(format!("/status: {}", reply.describe())));
        }
        if !reply.is_success() {
            return Err(Problem::Garbage(format!("/status: {}", reply.describe())));
        }
        let status = serde_json::from_slice(&reply.payload)
            .map_err(|e| Problem::Garbage(format!("/status is not trevm's JSON: {e}")))?;
        Ok((status, rtt))
    }
}

/// What a survey learnt of one device.
#[derive(Debug)]
pub(crate) struct Seen {
    pub(crate) endpoint: Endpoint,
    /// Its status and the round-trip time of the status request, or why there is none.
    pub(crate) status: Result<(Status, Duration), Problem>,
}

/// Opens a session and reads `/status`. (The session cannot be kept for a rollout on another
/// thread: the OSCORE context is not `Send`; a push makes a second handshake per device.)
pub(crate) fn survey_one(endpoint: &Endpoint, credentials: Option<&Path>) -> Seen {
    let status =
        Session::open(&endpoint.base, credentials).and_then(|mut session| session.status());
    Seen {
        endpoint: endpoint.clone(),
        status,
    }
}

/// The capsule in `slot` named `name` (the ephemeral slot's capsule whatever its name when
/// `name` is empty).
pub(crate) fn capsule<'a>(status: &'a Status, slot: &str, name: &str) -> Option<&'a CapsuleStatus> {
    status
        .capsules
        .iter()
        .find(|c| c.slot == slot && (c.name == name || name.is_empty()))
}

/// Whether a surveyed device matches every `--select` filter: its registration parameter of that
/// name, or the field of that name (`slot`, `name`, `version`, `signer`) of one of its capsules.
/// A device whose status is unknown matches on its registration only.
pub(crate) fn selected(seen: &Seen, filters: &[Filter]) -> bool {
    filters.iter().all(|f| {
        let registered = seen
            .endpoint
            .params
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case(&f.key) && v.as_deref() == Some(&f.value))
            || (f.key == "ep" && seen.endpoint.ep == f.value);
        registered
            || seen.status.as_ref().is_ok_and(|(status, _)| {
                status.capsules.iter().any(|c| match f.key.as_str() {
                    "slot" => c.slot == f.value,
                    "name" => c.name == f.value,
                    "version" => c.version.is_some_and(|v| v.to_string() == f.value),
                    "signer" => c.signer.as_deref() == Some(&f.value),
                    _ => false,
                })
            })
    })
}

/// A capsule as a table shows it: `sandbox/hello@20261205064222` (no `@…` when unsigned).
pub(crate) fn describe(c: &CapsuleStatus) -> String {
    match c.version {
        Some(v) => format!("{}/{}@{v}", c.slot, c.name),
        None => format!("{}/{}", c.slot, c.name),
    }
}

/// The health column: `ok`, or what failed since install (`2 trapped, 1 stopped`).
pub(crate) fn health(status: &Status) -> String {
    let trapped: u64 = status.capsules.iter().map(|c| c.trapped).sum();
    let stopped: u64 = status.capsules.iter().map(|c| c.stopped).sum();
    match (trapped, stopped) {
        (0, 0) => "ok".into(),
        (t, 0) => format!("{t} trapped"),
        (0, s) => format!("{s} stopped"),
        (t, s) => format!("{t} trapped, {s} stopped"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(params: &[(&str, &str)], status_json: Option<&str>) -> Seen {
        Seen {
            endpoint: Endpoint {
                ep: "dev07".into(),
                base: "coap://h:1".into(),
                params: params
                    .iter()
                    .map(|(k, v)| (k.to_string(), Some(v.to_string())))
                    .collect(),
            },
            status: match status_json {
                Some(j) => Ok((serde_json::from_str(j).unwrap(), Duration::ZERO)),
                None => Err(Problem::Unreachable("gone".into())),
            },
        }
    }

    #[test]
    fn select_matches_registration_parameters_or_capsule_fields() {
        let f = |s: &str| s.parse::<Filter>().unwrap();
        let json = r#"{"capsules": [{"slot": "sandbox", "name": "hello", "installed": "x",
            "version": 1001, "signer": "3f2a", "runs": 0, "ok": 0, "stopped": 0, "trapped": 0,
            "peak_memory": 0}]}"#;
        let s = seen(&[("et", "trevm.device")], Some(json));
        assert!(selected(&s, &[]));
        assert!(selected(&s, &[f("ep=dev07"), f("et=trevm.device")]));
        assert!(selected(
            &s,
            &[f("name=hello"), f("version=1001"), f("signer=3f2a")]
        ));
        assert!(selected(&s, &[f("slot=sandbox")]));
        assert!(!selected(&s, &[f("name=hello"), f("version=1002")]));
        assert!(!selected(&s, &[f("ep=dev08")]));
        assert!(!selected(&s, &[f("installed=x")]));
        // Without a status, only the registration can match.
        let gone = seen(&[("et", "trevm.device")], None);
        assert!(selected(&gone, &[f("et=trevm.device")]));
        assert!(!selected(&gone, &[f("name=hello")]));
    }

    #[test]
    fn nobody_there_is_unreachable_and_anything_else_is_garbage() {
        let refused = anyhow::anyhow!("no CoAP server at h (1.2.3.4:5): connection refused");
        assert_eq!(classify(&refused).cell(), "unreachable");
        let silent = anyhow::anyhow!("no answer from h after 5 tries");
        assert_eq!(classify(&silent).cell(), "unreachable");
        let edhoc = anyhow::anyhow!("h: EDHOC message 2 is malformed");
        assert_eq!(classify(&edhoc).cell(), "garbage answer");
    }
}
