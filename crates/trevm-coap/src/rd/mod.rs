//! Registering with a CoAP Resource Directory (RFC 9176), device side, sans I/O: a device
//! tells an RD that it exists, where (`base`) and what it runs (its links), refreshes that
//! before the lifetime ends, registers again when the RD forgot it, and backs off while the RD
//! is away, all without stopping serving. docs/coap.md ("Registering with a Resource
//! Directory") says what goes on the wire and why.
//!
//! - [`config`]: [`Config`]: endpoint name, lifetime, base, registration path or discovery,
//!   retransmission and backoff.
//! - [`registrar`]: [`Registrar`], the state machine on a [`Client`](crate::client::Client):
//!   [`Registrar::poll`] → [`Step`], [`Registrar::receive`], [`Registrar::set_links`],
//!   [`Registrar::state`] → [`State`], [`Registrar::take_event`] → [`Event`].
//! - [`outcome`]: [`State`], [`Event`], [`Reason`].
//! - [`discovery`]: the registration path from a `/.well-known/core?rt=core.rd` answer.
//! - [`links`] (feature `status`): [`capsule_links`], a device's links from its `/status`
//!   entries.
//! - [`watch`]: [`LinksWatch`], the links shared with the code that installs capsules, which
//!   wakes the driver when they change.
//! - [`driver`] (feature `server`): [`run`], the async loop over a
//!   [`server::Transport`](crate::server::Transport).
//!
//! # Use
//!
//! ```ignore
//! use trevm_coap::rd::{self, Config, Event, LinksWatch, Registrar};
//!
//! // The device's links, kept current by whoever installs capsules
//! // (trevm_slots::Device::with_rd_links does it for a trevm device).
//! let links = LinksWatch::new();
//! links.set(rd::capsule_links(&device_status.capsules));
//! let config = Config::new("dev1", 600, "coap://192.0.2.7:5683")   // ep, lt, base
//!     .with_seed(random_u32);                                       // or .with_path("/resourcedirectory/")
//! let mut registrar = Registrar::new(config, String::new())?;       // set_links comes from `links`
//! // A socket of its own (not the server's), the RD's address, the clock, a timer:
//! let registering = rd::run(&rd_socket, &rd_addr, &mut registrar, &links,
//!     || now_ms(), |ms| Timer::at(ms), |event| match event {
//!         Event::Registered { location } => log!("rd: registered with {rd} as dev1 at {location}"),
//!         Event::Failed { reason, retry_in_ms } =>
//!             log!("rd: {rd} unreachable ({reason}), retrying in {} s", retry_in_ms.div_ceil(1000)),
//!     });
//! // In the same task as the server: select(pin!(serve(...)), pin!(registering)).await
//! ```
//!
//! Bounds: the registrar holds its configuration, the links (the device's own), at most
//! [`MAX_PATH`] bytes of registration path and of location, and one request in flight; a
//! discovery answer is cut off at [`MAX_DISCOVERY`] bytes (a refusal, not a partial parse);
//! the driver holds one [`MAX_RD_DATAGRAM`] receive buffer. Nothing an RD sends can make
//! either grow beyond these.

pub mod config;
pub mod discovery;
#[cfg(feature = "server")]
pub mod driver;
#[cfg(feature = "status")]
pub mod links;
pub mod outcome;
pub mod registrar;
pub mod watch;

pub use config::{
    Config, MAX_BASE, MAX_ENDPOINT, MAX_PATH, MAX_SEGMENTS, path_segments, timing_for,
};
pub use discovery::{MAX_DISCOVERY, registration_path};
#[cfg(feature = "server")]
pub use driver::{MAX_RD_DATAGRAM, run};
#[cfg(feature = "status")]
pub use links::capsule_links;
pub use outcome::{Event, Reason, State};
pub use registrar::{FULL_EVERY, LINK_FORMAT, Registrar, SETTLE_MS, Step};
pub use watch::{LINKS_RESERVE, LinksWatch};

#[cfg(all(test, feature = "server"))]
mod driver_tests;
#[cfg(test)]
mod refusal_tests;
#[cfg(test)]
mod tests;
