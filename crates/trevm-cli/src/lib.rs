//! The client side of the `trevm` command as a library: talking to a trevm device over CoAP,
//! optionally secured with EDHOC + OSCORE, for the `trevm` binary (`push`, `call`, `ls`).
//!
//! - [`coap_client`]: trevm-coap's client (retransmission, Block1 uploads, Block2 downloads,
//!   EDHOC + OSCORE) over a UDP socket;
//! - [`oscore_client`]: randomness for EDHOC and its refusals as clear messages;
//! - [`credentials`]: the aiocoap-style `client.diag` credentials file.
#![forbid(unsafe_code)]

pub mod coap_client;
pub mod credentials;
pub mod oscore_client;
