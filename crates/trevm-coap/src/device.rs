//! The resources of a trevm CoAP device: the sandbox under `/sandbox`, the persistent capsule
//! under `/vm` with `/vm-control`.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::message::code;
use crate::persistent::Persistent;
use crate::sandbox::Sandbox;
use crate::server::{Handled, Request, Resources, Response};

/// Every resource a trevm device serves over CoAP.
#[derive(Debug)]
pub struct Device {
    /// Ephemeral capsules.
    pub sandbox: Sandbox,
    /// The persistent capsule, if this device has one.
    pub persistent: Option<Persistent>,
}

impl Resources for Device {
    fn handle(&mut self, request: Request<'_>) -> Handled {
        match (request.path.split_first(), self.persistent.as_mut()) {
            (Some((&"sandbox", rest)), _) => {
                let rest: Vec<&str> = rest.to_vec();
                self.sandbox.handle(&request, &rest)
            }
            (Some((&"vm", rest)), Some(p)) => {
                let rest: Vec<&str> = rest.to_vec();
                p.handle(&request, &rest)
            }
            (Some((&"vm-control", [])), Some(p)) => p.control(&request),
            _ => Response::text(
                code::NOT_FOUND,
                format!("no resource /{}", request.path.join("/")),
            )
            .into(),
        }
    }

    fn links(&self) -> Vec<String> {
        let mut links = alloc::vec![String::from(
            "</sandbox>;ct=0;title=\"capsules: PUT/GET/DELETE /sandbox/<name>\""
        )];
        links.extend(
            self.sandbox
                .names()
                .into_iter()
                .map(|n| format!("</sandbox/{n}>;ct=0")),
        );
        if let Some(p) = &self.persistent {
            links.extend(p.links());
        }
        links
    }
}
