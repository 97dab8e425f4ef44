//! The resources of a trevm CoAP device: the sandbox under `/sandbox`, the persistent capsule
//! under `/vm` with `/vm-control`.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::message::code;
use crate::persistent::Persistent;
use crate::sandbox::Sandbox;
use crate::server::{Request, Resources, Response};

/// Every resource a trevm device serves over CoAP.
#[derive(Debug)]
pub struct Device {
    /// Ephemeral capsules.
    pub sandbox: Sandbox,
    /// The persistent capsule, if this device has one.
    pub persistent: Option<Persistent>,
}

impl Resources for Device {
    async fn handle(&mut self, request: Request<'_>) -> Response {
        match request.path.split_first() {
            Some((&"sandbox", rest)) => {
                let rest: Vec<&str> = rest.to_vec();
                self.sandbox.handle(&request, &rest).await
            }
            Some((&"vm", rest)) if self.persistent.is_some() => {
                let rest: Vec<&str> = rest.to_vec();
                match self.persistent.as_mut() {
                    Some(p) => p.handle(&request, &rest).await,
                    None => Response::empty(code::NOT_FOUND),
                }
            }
            Some((&"vm-control", [])) if self.persistent.is_some() => {
                match self.persistent.as_mut() {
                    Some(p) => p.control(&request).await,
                    None => Response::empty(code::NOT_FOUND),
                }
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
        if let Some(p) = &self.persistent {
            links.extend(p.links());
        }
        links
    }
}
