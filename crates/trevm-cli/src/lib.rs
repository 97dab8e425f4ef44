//! The client side of the `trevm` command as a library: talking to a trevm device over CoAP,
//! optionally secured with EDHOC + OSCORE. The `trevm` binary (`push`, `call`, `ls`) and the
//! benchmark (`crates/trevm-bench`, its CoAP security figures) both use it.
//!
//! - [`coap_client`]: confirmable requests with retransmission, Block1 uploads, Block2 downloads;
//! - [`oscore_client`]: EDHOC as initiator and OSCORE protection of each request;
//! - [`credentials`]: the aiocoap-style `client.diag` credentials file.
#![forbid(unsafe_code)]

pub mod coap_client;
pub mod credentials;
pub mod oscore_client;
