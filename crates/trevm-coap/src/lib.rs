//! CoAP for trevm devices, `no_std + alloc`. docs/coap.md says what a device serves and why.
//!
//! The modules, from the bytes on the wire up to the capsules:
//! - [`message`]: the RFC 7252 message format: [`Message`] parsing and encoding, option numbers,
//!   codes.
//! - [`block`]: a Block1/Block2 option's value, [`BlockOpt`] (RFC 7959 §2.2).
//! - [`client`]: a sans-I/O CoAP client: retransmission, Block1/Block2, and (feature `oscore`)
//!   EDHOC + OSCORE.
//! - [`dedup`]: duplicate detection: the reply already sent, per peer and message ID.
//! - [`server`]: the message layer, one datagram in, at most one out: pings, duplicates, Block1
//!   reassembly, Block2 slicing, `/.well-known/core`, around the application's [`Resources`].
//! - [`device`]: [`Device`], every resource of a trevm device: `/sandbox`, `/vm`, `/vm-control`,
//!   `/ephemeral`, `/status`.
//! - [`sandbox`]: [`Sandbox`], ephemeral capsules uploaded, run and deleted under
//!   `/sandbox/<name>`.
//! - [`persistent`]: [`Persistent`], the long-lived capsule serving `/vm/…`, replaced through
//!   `/vm-control` while the device runs.
//! - [`ephemeral`]: [`Ephemeral`], a capsule started once in the background by
//!   `PUT /ephemeral` and stopped by `DELETE /ephemeral`.
//! - [`admit`]: checking, verifying and loading an uploaded capsule, and the CoAP code of each
//!   refusal.
//! - [`status`]: what each capsule has done (`GET /status`, JSON).
//! - [`storage`]: what survives a restart: the capsules and their anti-rollback ledgers in a
//!   [`CapsuleStore`](storage::CapsuleStore) (`trevm-store`: files, or NOR flash).
//! - [`secure`]: who may talk to the device: EDHOC, OSCORE and the access policy ([`Policy`]), on
//!   Ariel OS's `coapcore` (feature `oscore`, on by default).
//!
//! All but the first four need the `device` feature (on by default), which brings in the trevm
//! runtime. Without it only the message format is built, e.g. for capsules that parse CoAP
//! themselves.
#![no_std]
// Without `device` the table above names modules that are not built.
#![cfg_attr(not(feature = "device"), allow(rustdoc::broken_intra_doc_links))]
#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![deny(missing_debug_implementations)]

extern crate alloc;

#[cfg(feature = "device")]
pub mod admit;
pub mod block;
pub mod client;
pub mod dedup;
#[cfg(feature = "device")]
pub mod device;
#[cfg(feature = "device")]
pub mod ephemeral;
pub mod message;
#[cfg(feature = "device")]
pub mod persistent;
#[cfg(feature = "device")]
pub mod sandbox;
#[cfg(feature = "oscore")]
pub mod secure;
#[cfg(feature = "device")]
pub mod server;
#[cfg(feature = "device")]
pub mod status;
#[cfg(feature = "device")]
pub mod storage;

pub use block::BlockOpt;
#[cfg(feature = "device")]
pub use device::Device;
#[cfg(feature = "device")]
pub use ephemeral::Ephemeral;
pub use message::{Message, MsgType, ParseError};
#[cfg(feature = "device")]
pub use persistent::Persistent;
#[cfg(feature = "device")]
pub use sandbox::{Sandbox, SandboxLimits};
#[cfg(feature = "oscore")]
pub use secure::{Identity, Policy, Security};
#[cfg(feature = "device")]
pub use server::{Request, Resources, Response, Server, ServerLimits};

/// Makes the host state a capsule called `name` runs with: what its granted interfaces reach
/// (the board's log, sensors, random numbers, …). Which interfaces a slot's capsules may import
/// at all is the slot's [`Runtime`](trevm::Runtime)'s [`Grants`](trevm::Grants) (intersected,
/// for a signed capsule, with the grants its signer vouched for: see [`trevm::trust`]); this
/// gives those interfaces something to act on. E.g. `move |name| board.host_state(name)`.
#[cfg(feature = "device")]
pub type HostFactory = alloc::boxed::Box<dyn Fn(&str) -> trevm::HostState>;
