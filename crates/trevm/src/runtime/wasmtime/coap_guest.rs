//! Wasmtime's typed calls into `ariel:wasm-bindings/coap-server-guest@0.0.1`, the interface a persistent
//! CoAP capsule exports (world `ariel:wasm-bindings/coap-server`): the bindings are generated
//! from the WIT, so the message bytes cross as one `list<u8>` instead of a value per byte.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::WtInstance;
use super::instance::with_timeout;
use crate::error::Error;
use crate::host::HostView;
use crate::runtime::coap::{COAP_SERVER_GUEST, CoapGuestError};

#[allow(missing_docs, clippy::all)]
mod bindings {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "ariel:wasm-bindings/coap-server",
        exports: { default: async },
    });
}

use bindings::CoapServer;
use bindings::exports::ariel::wasm_bindings::coap_server_guest::CoapErr;

fn guest_error(e: CoapErr) -> CoapGuestError {
    match e {
        CoapErr::NotFound => CoapGuestError::NotFound,
        CoapErr::InternalServerError => CoapGuestError::InternalServerError,
        CoapErr::HandlerNotBuilt => CoapGuestError::HandlerNotBuilt,
    }
}

/// Calls into a capsule exporting `coap-server-guest`. The outer `Result` is the runtime's
/// (the capsule trapped, timed out, lacks the interface); the inner one is the capsule's answer.
impl<T: HostView> WtInstance<T> {
    fn coap_server(&mut self) -> Result<CoapServer, Error> {
        if self.stopped {
            return Err(Error::Stopped);
        }
        let instance = self.instance.ok_or(Error::Stopped)?;
        CoapServer::new(&mut self.store, &instance).map_err(|e| Error::MissingExport {
            name: COAP_SERVER_GUEST.to_string(),
            reason: format!("{e:#}"),
        })
    }

    /// `initialize-handler: func() -> result`: builds the capsule's handlers.
    pub(crate) async fn coap_initialize_handler(&mut self) -> Result<Result<(), ()>, Error> {
        let guest = self.coap_server()?;
        let outcome = with_timeout(
            self.limits.timeout,
            guest
                .ariel_wasm_bindings_coap_server_guest()
                .call_initialize_handler(&mut self.store),
        )
        .await;
        self.settle(outcome, "initialize-handler")
    }

    /// `report: func() -> result<list<string>, coap-err>`: the paths the capsule serves.
    pub(crate) async fn coap_report(
        &mut self,
    ) -> Result<Result<Vec<String>, CoapGuestError>, Error> {
        let guest = self.coap_server()?;
        let outcome = with_timeout(
            self.limits.timeout,
            guest
                .ariel_wasm_bindings_coap_server_guest()
                .call_report(&mut self.store),
        )
        .await;
        Ok(self.settle(outcome, "report")?.map_err(guest_error))
    }

    /// `coap-run: func(code: u8, observed-len: u32, message: list<u8>) -> result<tuple<u8,
    /// list<u8>>, coap-err>`: handles one request. `message` holds the request's options and
    /// payload in CoAP encoding (`observed_len` bytes), followed by room for the response, which
    /// comes back as a response code and its options and payload in the same encoding.
    pub(crate) async fn coap_run(
        &mut self,
        code: u8,
        observed_len: u32,
        message: &[u8],
    ) -> Result<Result<(u8, Vec<u8>), CoapGuestError>, Error> {
        let guest = self.coap_server()?;
        let outcome = with_timeout(
            self.limits.timeout,
            guest.ariel_wasm_bindings_coap_server_guest().call_coap_run(
                &mut self.store,
                code,
                observed_len,
                message,
            ),
        )
        .await;
        Ok(self.settle(outcome, "coap-run")?.map_err(guest_error))
    }
}
