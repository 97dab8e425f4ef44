//! The CoAP server's message layer, independent of the network: one datagram in, at most one
//! datagram out. What the resources do is up to a [`Resources`] implementation.
//!
//! Where each concern lives (the files under `src/server/`):
//! - `exchange.rs`: one exchange from end to end. [`Server::handle`] parses the
//!   datagram, answers CoAP pings and garbage with a Reset (or silence), answers duplicates from
//!   [`crate::dedup`] without handling them twice, and wraps the response in a piggybacked ACK
//!   for a confirmable request or a NON for a non-confirmable one. In between, `respond` checks
//!   the options (an unknown critical one gets 4.02), passes the body through Block1, asks the
//!   resources (or serves `/.well-known/core`, RFC 6690) and passes the response through Block2.
//! - `layer.rs`: the security layer the server is given ([`Layer`]; [`Plain`] for none, or
//!   [`Security`](crate::secure::Security)): it sees each request first, may answer it itself, and
//!   hands the response back out.
//! - `limits.rs`, `reply.rs`: [`ServerLimits`]; the messages the server makes by itself.
//! - `resource.rs`: what the application sees: [`Request`], [`Response`], the [`Resources`]
//!   trait and the Content-Formats used ([`TEXT_PLAIN`], [`LINK_FORMAT`], [`OCTET_STREAM`]).
//! - `block1.rs`: reassembling uploads (RFC 7959: 2.31 Continue, 4.08 on a gap, 4.13 with Size1
//!   over the limit, 5.03 over the memory budget of all uploads in progress).
//! - `body.rs`: the body the resources get ([`Payload`]): borrowed from the datagram, or the
//!   reassembled [`Body`], aligned and owned, which a resource takes without a copy.
//! - `block2.rs`: serving long responses block by block, and the cache that answers the later
//!   blocks without asking the resources again.
//! - `observe.rs`, `notify.rs`: observers of observable resources (RFC 7641, e.g. a device's
//!   `/logs`): registration (GET with Observe: 0, see [`Resources::observe`]), confirmable
//!   notifications protected by the security layer, retransmitted, and the observers that
//!   vanished dropped ([`Server::notifications`]).
//! - `serve.rs`: the device's receive loop ([`serve`]) on a datagram [`Transport`]: runs are
//!   awaited alongside receiving, so the server answers while capsules run.
//!
//! Requests whose response takes a while (capsule runs, admissions) are [`Run`]s
//! ([`Handled::Later`]): [`Server::receive`] starts them and returns at once, and
//! [`Server::complete`] turns a run's result into the reply. At most
//! [`ServerLimits::runs`] are in flight, [`ServerLimits::runs_per_peer`] per peer; beyond that
//! the request gets 5.03 with Max-Age. A retransmission of a request still running is dropped
//! (its reply, piggybacked on the ACK, comes when the run ends; the client retransmits
//! meanwhile), one of a finished request is answered from the duplicate cache.

mod block1;
mod block2;
mod body;
mod exchange;
pub mod layer;
mod limits;
mod notify;
pub mod observe;
mod reply;
mod resource;
mod serve;

pub use body::{BODY_ALIGN, Body, Payload};
pub use exchange::{ExchangeId, Received, Server};
pub use layer::{Begun, Layer, Plain};
pub use limits::{BUSY_MAX_AGE, ServerLimits, UPLOAD_IDLE_MS};
pub use reply::busy;
pub use resource::{
    Handled, JSON, LINK_FORMAT, OCTET_STREAM, Request, Resources, Response, Run, TEXT_PLAIN,
};
pub use serve::{MAX_DATAGRAM, Transport, serve};

#[cfg(test)]
mod observe_tests;
