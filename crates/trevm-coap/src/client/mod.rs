//! A CoAP client, sans I/O (`no_std + alloc`): confirmable requests with retransmission (RFC 7252
//! §4.2: ACK_TIMEOUT, doubling, MAX_RETRANSMIT; message IDs and tokens; responses matched, strays
//! ignored, separate responses acknowledged), Block1 uploads (continuing on 2.31, in the smaller
//! blocks a server asks for) with progress, Block2 downloads; with the `oscore` feature, EDHOC as
//! initiator and every request protected with OSCORE.
//!
//! The caller owns the socket and the clock: it starts a request ([`Client::start`]), sends
//! what [`Client::poll`] says, hands each datagram to [`Client::receive`], and passes the time in
//! milliseconds. [`Client::run`] does that loop over a [`Transport`] for callers that can block.
//!
//! - [`exchange`]: one confirmable request in flight, its retransmission schedule and matching.
//! - [`machine`]: [`Client`], requests block by block (`transfer`: the block in flight).
//! - [`observe`]: observations (RFC 7641): which notifications are taken ([`Notification`]);
//!   `observing`: [`Client::observe`] and the rest of the client's observation API.
//! - [`request`]: [`Request`], [`Reply`], [`Limits`].
//! - [`run`]: the blocking driver.
//! - [`error`]: why a request failed, [`Error`].
//! - `oscore`, `edhoc` (feature `oscore`): OSCORE protection and the EDHOC initiator.

#[cfg(feature = "oscore")]
pub mod edhoc;
pub mod error;
pub mod exchange;
pub mod machine;
pub mod observe;
mod observing;
#[cfg(feature = "oscore")]
pub mod oscore;
pub mod request;
pub mod run;
mod transfer;

#[cfg(feature = "oscore")]
pub use edhoc::{Credentials, PeerCred};
pub use error::{Error, OscoreError};
pub use exchange::Timing;
pub use machine::{Client, Step};
pub use observe::{LAPSE_MARGIN_MS, MAX_NOTIFICATION, MAX_PENDING, Notification};
#[cfg(feature = "oscore")]
pub use oscore::Session;
pub use request::{Limits, MAX_BLOCK, MAX_OSCORE_BLOCK, Reply, Request};
pub use run::{MAX_DATAGRAM, RunError, Transport};

#[cfg(all(test, feature = "oscore"))]
mod observe_oscore_tests;
#[cfg(test)]
mod observe_tests;
#[cfg(test)]
mod options_tests;
#[cfg(all(test, feature = "oscore"))]
mod oscore_tests;
#[cfg(test)]
mod tests;
