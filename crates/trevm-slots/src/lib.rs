//! The capsule slots of a trevm CoAP device, `no_std + alloc`: the [`Resources`] a
//! [`trevm_coap::Server`] serves. docs/coap.md says what a device serves and why.
//!
//! - [`device`]: [`Device`], every resource of a trevm device: `/sandbox`, `/vm`, `/vm-control`,
//!   `/ephemeral`, `/status`, `/logs`.
//! - [`logs`]: [`Logs`](logs::Logs), the capsules' log lines in a bounded ring, served at
//!   `/logs` and observable (RFC 7641).
//! - [`announce`]: [`Announced`], a [`Device`] that keeps its Resource Directory links (which
//!   capsules it runs) current for the registration driver (`trevm_coap::rd`).
//! - [`sandbox`]: [`Sandbox`], ephemeral capsules uploaded, run and deleted under
//!   `/sandbox/<name>`.
//! - [`persistent`]: [`Persistent`], the long-lived capsule serving `/vm/…`, replaced through
//!   `/vm-control` while the device runs.
//! - [`ephemeral`]: [`Ephemeral`], a capsule started once in the background by
//!   `PUT /ephemeral` and stopped by `DELETE /ephemeral`.
//! - [`admit`]: checking, verifying and loading an uploaded capsule, and the CoAP code of each
//!   refusal; `gate.rs`: the one admission pipeline all three slots install through (check,
//!   verify, prepare, ledger, store, install).
//!
//! Every slot is generic over its runtime's store data `T:`[`HostView`](trevm::HostView), as
//! [`trevm::Runtime`] is (default [`HostState`](trevm::HostState)).
//! - [`status`]: what each capsule has done (`GET /status`, JSON).
//! - [`storage`]: what survives a restart: the capsules and their anti-rollback ledgers in a
//!   [`CapsuleStore`](storage::CapsuleStore) (`trevm-store`: files, or NOR flash).
//!
//! [`Resources`]: trevm_coap::Resources
#![no_std]
#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![deny(missing_debug_implementations)]

extern crate alloc;

pub mod admit;
pub mod announce;
pub mod device;
pub mod ephemeral;
mod gate;
mod guest;
pub mod logs;
pub mod persistent;
pub mod sandbox;
mod sandbox_limits;
pub mod status;
pub mod storage;
mod values;

pub use announce::Announced;
pub use device::Device;
pub use ephemeral::Ephemeral;
pub use persistent::Persistent;
pub use sandbox::{Sandbox, SandboxLimits};

/// Makes the host state a capsule called `name` runs with: what its granted interfaces reach
/// (the board's log, sensors, random numbers, …). Which interfaces a slot's capsules may import
/// at all is the slot's [`Runtime`](trevm::Runtime)'s [`Grants`](trevm::Grants) (intersected,
/// for a signed capsule, with the grants its signer vouched for: see [`trevm::trust`]); this
/// gives those interfaces something to act on. E.g. `move |name| board.host_state(name)`.
///
/// `T` is the store data of the slot's [`Runtime`](trevm::Runtime): trevm's
/// [`HostState`](trevm::HostState), or the embedder's own type around one
/// ([`HostView`](trevm::HostView)).
pub type HostFactory<T = trevm::HostState> = alloc::boxed::Box<dyn Fn(&str) -> T>;
