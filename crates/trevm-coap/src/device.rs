//! The resources of a trevm CoAP device: the sandbox under `/sandbox` (and, next, the persistent
//! capsule under `/vm` with `/vm-control`).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::message::code;
use crate::sandbox::Sandbox;
use crate::server::{Request, Resources, Response};

/// Every resource a trevm device serves over CoAP.
#[derive(Debug)]
pub struct Device {
    /// Ephemeral capsules.
    pub sandbox: Sandbox,
}

impl Resources for Device {
    async fn handle(&mut self, request: Request<'_>) -> Response {
        match request.path.split_first() {
            Some((&"sandbox", rest)) => {
                let rest: Vec<&str> = rest.to_vec();
                self.sandbox.handle(&request, &rest).await
            }
            _ => Response::text(
                code::NOT_FOUND,
                format!("no resource /{}", request.path.join("/")),
            ),
        }
    }

    fn links(&self) -> Vec<String> {
        let mut links = alloc::vec![String::from(
            "</sandbox>;ct=0;title=\"capsules: PUT/GET/DELETE /sandbox/<name>\""
        )];
        links.extend(self.sandbox.names().map(|n| format!("</sandbox/{n}>;ct=0")));
        links
    }
}
