//! CoAP for trevm devices, `no_std + alloc`: the protocol, naming no trevm type. docs/coap.md says
//! what a device serves and why; the capsule slots it serves are `trevm-slots`.
//!
//! The modules, from the bytes on the wire up:
//! - [`message`]: the RFC 7252 message format: [`Message`] parsing and encoding, option numbers,
//!   codes.
//! - [`block`]: a Block1/Block2 option's value, [`BlockOpt`] (RFC 7959 §2.2).
//! - [`client`]: a sans-I/O CoAP client: retransmission, Block1/Block2, and (feature `oscore`)
//!   EDHOC + OSCORE.
//! - [`dedup`]: duplicate detection: the reply already sent, per peer and message ID.
//! - [`server`]: the message layer, one datagram in, at most one out: pings, duplicates, Block1
//!   reassembly, Block2 slicing, `/.well-known/core`, around the application's [`Resources`],
//!   behind the security layer it is given ([`server::Layer`]).
//! - [`policy`]: who may do what, as plain data ([`Policy`], in the shape of Ariel OS's
//!   `peers.yml`); [`peers_yml`] reads one (feature `peers-yml`, `std`: for hosts and firmware
//!   build scripts).
//! - [`secure`]: who may talk to the device: EDHOC, OSCORE and the access policy, on Ariel OS's
//!   `coapcore`, as a [`server::Layer`] ([`Security`]; feature `oscore`, on by default).
//! - [`rd`]: registering with a CoAP Resource Directory (RFC 9176), device side: a sans-I/O
//!   [`rd::Registrar`] on the client, and (feature `server`) its driver [`rd::run`].
//! - [`status`]: the `/status` document's types, shared by devices and clients (feature
//!   `status`, on by default).
//!
//! [`server`] needs the `server` feature (on by default). Without it only the message format is
//! built, e.g. for capsules that parse CoAP themselves.
#![no_std]
// Without `server` the table above names modules that are not built.
#![cfg_attr(not(feature = "server"), allow(rustdoc::broken_intra_doc_links))]
#![warn(missing_docs)]
// One `unsafe` block, in `secure/observation.rs` (copying coapcore's request state for
// notifications); everything else is safe code.
#![deny(unsafe_code)]
#![deny(missing_debug_implementations)]

extern crate alloc;
#[cfg(feature = "peers-yml")]
extern crate std;

pub mod block;
pub mod client;
pub mod dedup;
pub mod message;
#[cfg(feature = "peers-yml")]
pub mod peers_yml;
pub mod policy;
pub mod rd;
#[cfg(feature = "oscore")]
pub mod secure;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "status")]
pub mod status;

pub use block::BlockOpt;
pub use message::{Message, MsgType, ParseError};
pub use policy::Policy;
#[cfg(feature = "oscore")]
pub use secure::{Identity, Security};
#[cfg(feature = "server")]
pub use server::{Request, Resources, Response, Server, ServerLimits};
