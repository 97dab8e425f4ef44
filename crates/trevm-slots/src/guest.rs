//! The persistent capsule's side of `ariel:wasm-bindings/coap-server-guest`: starting it
//! (`initialize-handler`, then `report`) and reading what `coap-run` returned.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use trevm::{CoapGuestError, Error, HostView, Instance};
use trevm_coap::message::{code, opt, parse_options_payload};
use trevm_coap::server::Response;

/// `initialize-handler`, then `report`.
pub(crate) async fn initialise<T: HostView>(
    instance: &mut Instance<T>,
) -> Result<Vec<String>, String> {
    const WORLD: &str = "a persistent capsule exports ariel:wasm-bindings/coap-server-guest \
                         (world example-coap-server)";
    let init = instance
        .coap_initialize_handler()
        .await
        .map_err(|e| match e {
            Error::MissingExport { .. } => format!("{e}: {WORLD}"),
            e => format!("initialize-handler: {e}"),
        })?;
    if init.is_err() {
        return Err("the capsule's initialize-handler returned its error".into());
    }
    instance
        .coap_report()
        .await
        .map_err(|e| format!("report: {e}"))?
        .map_err(|_| "the capsule's report returned its error".into())
}

/// `coap-run`'s result as a response.
pub(crate) fn decode_run(answer: Result<(u8, Vec<u8>), CoapGuestError>) -> Response {
    match answer {
        Ok((c, bytes)) => {
            let Ok((options, payload)) = parse_options_payload(&bytes) else {
                return Response::text(
                    code::INTERNAL_SERVER_ERROR,
                    "the capsule's response options are malformed",
                );
            };
            // Only response codes (class 2–5) may go back to a client.
            if !(0x40..0xc0).contains(&c) {
                return Response::text(
                    code::INTERNAL_SERVER_ERROR,
                    format!("the capsule answered with code {}", code::dotted(c)),
                );
            }
            let content_format = options
                .iter()
                .find(|(n, _)| *n == opt::CONTENT_FORMAT)
                .and_then(|(_, v)| {
                    (v.len() <= 4).then(|| v.iter().fold(0u32, |a, b| a << 8 | u32::from(*b)))
                });
            Response {
                code: c,
                payload,
                content_format,
            }
        }
        Err(CoapGuestError::NotFound) => Response::text(code::NOT_FOUND, "not found"),
        Err(CoapGuestError::HandlerNotBuilt) => Response::text(
            code::SERVICE_UNAVAILABLE,
            "the capsule's handler is not built",
        ),
        Err(CoapGuestError::InternalServerError) => Response::text(
            code::INTERNAL_SERVER_ERROR,
            "the capsule reported an internal error",
        ),
    }
}
