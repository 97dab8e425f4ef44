//! The resources of a trevm CoAP device: the sandbox under `/sandbox`, the persistent capsule
//! under `/vm` with `/vm-control`, the ephemeral slot at `/ephemeral`, and `/status` (what each
//! capsule has done, JSON, with the heap when the board measures it: [`Device::with_memory`]).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use trevm::{HostState, HostView};

use crate::ephemeral::Ephemeral;
use crate::logs::{self, Logs};
use crate::persistent::Persistent;
use crate::sandbox::Sandbox;
use crate::status::{CapsuleStatus, Memory};
use trevm_coap::message::code;
use trevm_coap::server::{Handled, Request, Resources, Response, TEXT_PLAIN};

/// Every resource a trevm device serves over CoAP, its slots' runtimes with store data `T` (see
/// [`HostView`]).
#[derive(Debug)]
pub struct Device<T: HostView = HostState> {
    /// Ephemeral capsules.
    pub sandbox: Sandbox<T>,
    /// The persistent capsule, if this device has one.
    pub persistent: Option<Persistent<T>>,
    /// The ephemeral slot, if this device has one (its [`Ephemeral::driver`] must run too).
    pub ephemeral: Option<Ephemeral<T>>,
    /// How the board measures its heap, for `/status` (see [`Device::with_memory`]); `None`:
    /// `/status` has no memory section.
    pub memory: Option<fn() -> Memory>,
    /// The capsules' log lines served at `/logs` (observable), if this device keeps them:
    /// the same [`Logs`] must be the runtime's log sink (see [`crate::logs`]).
    pub logs: Option<Logs>,
}

impl<T: HostView> Device<T> {
    /// This device with `/status` reporting the heap as `memory` measures it (called on every
    /// `GET /status`; it should only read counters, e.g. the allocator's used and peak bytes).
    pub fn with_memory(self, memory: fn() -> Memory) -> Self {
        Device {
            memory: Some(memory),
            ..self
        }
    }

    /// Every installed capsule's status, sorted by slot, then name (what `/status` lists).
    pub fn capsules(&self) -> Vec<CapsuleStatus> {
        let mut list = self.sandbox.status();
        list.extend(self.persistent.as_ref().and_then(Persistent::status));
        list.extend(self.ephemeral.as_ref().and_then(Ephemeral::status));
        crate::status::sorted(list)
    }

    /// `GET /status`: every capsule's status, as JSON (see [`crate::status`]).
    pub fn status_json(&self) -> String {
        crate::status::to_json(self.capsules(), self.memory.map(|measure| measure()))
    }
}

impl<T: HostView> Resources for Device<T> {
    fn handle(&mut self, request: Request<'_>) -> Handled {
        match (request.path.split_first(), self.persistent.as_mut()) {
            (Some((&"sandbox", rest)), _) => {
                let rest: Vec<&str> = rest.to_vec();
                self.sandbox.handle(request, &rest)
            }
            (Some((&"vm", rest)), Some(p)) => {
                let rest: Vec<&str> = rest.to_vec();
                p.handle(&request, &rest)
            }
            (Some((&"vm-control", [])), Some(p)) => p.control(request),
            (Some((&"ephemeral", [])), _) if self.ephemeral.is_some() => {
                match &mut self.ephemeral {
                    Some(e) => e.handle(request),
                    None => Response::text(code::NOT_FOUND, "no ephemeral slot").into(),
                }
            }
            (Some((&"status", [])), _) if request.code == code::GET => Response {
                code: code::CONTENT,
                payload: self.status_json().into_bytes(),
                content_format: Some(trevm_coap::server::JSON),
            }
            .into(),
            (Some((&"status", [])), _) => {
                Response::text(code::METHOD_NOT_ALLOWED, "GET the status").into()
            }
            (Some((&"logs", [])), _) if self.logs.is_some() => match self.observe(&request) {
                Some((response, _)) => response.into(),
                None => Response::text(code::METHOD_NOT_ALLOWED, "GET the logs").into(),
            },
            _ => Response::text(
                code::NOT_FOUND,
                format!("no resource /{}", request.path.join("/")),
            )
            .into(),
        }
    }

    fn links(&self) -> Vec<String> {
        let mut links = alloc::vec![
            String::from("</sandbox>;ct=0;title=\"capsules: PUT/GET/DELETE /sandbox/<name>\""),
            String::from("</status>;ct=50;title=\"what each capsule has done\""),
        ];
        links.extend(
            self.sandbox
                .names()
                .into_iter()
                .map(|n| format!("</sandbox/{n}>;ct=0")),
        );
        if let Some(p) = &self.persistent {
            links.extend(p.links());
        }
        if let Some(e) = &self.ephemeral {
            links.extend(e.links());
        }
        if self.logs.is_some() {
            links.push(String::from("</logs>;ct=0;obs;title=\"capsule log lines\""));
        }
        links
    }

    /// `GET /logs` (the newest lines, or with `after=N` those after line N) is observable.
    fn observe(&mut self, request: &Request<'_>) -> Option<(Response, u64)> {
        let logs = self.logs.as_ref()?;
        if request.path != ["logs"] || request.code != code::GET {
            return None;
        }
        let after = request
            .query
            .iter()
            .find_map(|q| q.strip_prefix("after="))
            .and_then(|n| n.parse::<u64>().ok());
        let (lines, cursor) = match after {
            Some(n) => logs
                .after(n)
                .unwrap_or((Vec::new(), n.min(logs.newest_seq()))),
            None => logs.newest(),
        };
        Some((logs_response(lines), cursor))
    }

    fn notification(&mut self, path: &[String], cursor: u64) -> Option<(Response, u64)> {
        if path != ["logs"] {
            return None;
        }
        let (lines, cursor) = self.logs.as_ref()?.after(cursor)?;
        Some((logs_response(lines), cursor))
    }

    fn poll_changed(&self, cx: &mut core::task::Context<'_>) -> core::task::Poll<()> {
        match &self.logs {
            Some(logs) => logs.poll_changed(cx),
            None => core::task::Poll::Pending,
        }
    }
}

/// A representation of `/logs` (at most [`logs::MAX_PAYLOAD`] bytes of lines).
fn logs_response(lines: Vec<u8>) -> Response {
    debug_assert!(lines.len() <= logs::MAX_PAYLOAD);
    Response {
        code: code::CONTENT,
        payload: lines,
        content_format: Some(TEXT_PLAIN),
    }
}
