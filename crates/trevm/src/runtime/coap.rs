//! Typed calls into `ariel:wasm-bindings/coap-server-guest@0.0.1`, the interface a persistent
//! CoAP capsule exports (world `ariel:wasm-bindings/coap-server`): the message bytes cross as one
//! `list<u8>`.

use alloc::string::String;
use alloc::vec::Vec;

use super::instance::{Inner, each};
use crate::error::Error;
use crate::host::HostView;
use crate::runtime::Instance;

/// The exported interface's name, as [`Error::MissingExport`] reports it.
pub const COAP_SERVER_GUEST: &str = "ariel:wasm-bindings/coap-server-guest@0.0.1";

/// The error a CoAP capsule answers with (`coap-err` in the WIT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CoapGuestError {
    /// No handler for that path (`not-found`): a 4.04.
    NotFound,
    /// The handler failed (`internal-server-error`): a 5.00.
    InternalServerError,
    /// `initialize-handler` has not run or failed (`handler-not-built`).
    HandlerNotBuilt,
}

impl CoapGuestError {
    /// The case's name in the WIT enum.
    pub const fn wit_name(self) -> &'static str {
        match self {
            CoapGuestError::NotFound => "not-found",
            CoapGuestError::InternalServerError => "internal-server-error",
            CoapGuestError::HandlerNotBuilt => "handler-not-built",
        }
    }

    /// The case of that WIT name.
    pub fn from_wit_name(name: &str) -> Option<Self> {
        [
            CoapGuestError::NotFound,
            CoapGuestError::InternalServerError,
            CoapGuestError::HandlerNotBuilt,
        ]
        .into_iter()
        .find(|e| e.wit_name() == name)
    }
}

/// Calls into a capsule exporting `coap-server-guest`. The outer `Result` is the runtime's
/// (the capsule trapped, timed out, lacks the interface); the inner one is the capsule's answer.
impl<T: HostView> Instance<T> {
    /// `initialize-handler: func() -> result`: builds the capsule's handlers.
    pub async fn coap_initialize_handler(&mut self) -> Result<Result<(), ()>, Error> {
        each!(&mut self.inner, i => i.coap_initialize_handler().await)
    }

    /// `report: func() -> result<list<string>, coap-err>`: the paths the capsule serves.
    pub async fn coap_report(&mut self) -> Result<Result<Vec<String>, CoapGuestError>, Error> {
        each!(&mut self.inner, i => i.coap_report().await)
    }

    /// `coap-run: func(code: u8, observed-len: u32, message: list<u8>) -> result<tuple<u8,
    /// list<u8>>, coap-err>`: handles one request. `message` holds the request's options and
    /// payload in CoAP encoding (`observed_len` bytes), followed by room for the response, which
    /// comes back as a response code and its options and payload in the same encoding.
    pub async fn coap_run(
        &mut self,
        code: u8,
        observed_len: u32,
        message: &[u8],
    ) -> Result<Result<(u8, Vec<u8>), CoapGuestError>, Error> {
        each!(&mut self.inner, i => i.coap_run(code, observed_len, message).await)
    }
}
