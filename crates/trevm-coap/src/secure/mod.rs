//! Who may talk to the device: EDHOC (RFC 9528) key exchange, OSCORE (RFC 8613) object security
//! and an access policy, on Ariel OS's own `coapcore` (which brings `lakers` for EDHOC and
//! `liboscore` for OSCORE), so that a device and its clients are set up as on Ariel OS.
//!
//! `coapcore` is a synchronous `coap_handler::Handler`, while trevm's resources await capsule
//! runs. The seam (the [`Layer`](crate::server::Layer)'s `begin`, then the server's own async
//! exchange, then its `finish`) splits one request in two synchronous halves around the await:
//! 1. `begin` hands the request to coapcore, which runs EDHOC, removes OSCORE, checks the scope
//!    and gives the inner request to a deferred handler that only copies it out;
//! 2. the server runs the inner request through Block1/Block2 and the resources (async);
//! 3. `finish` gives the inner response back to coapcore, which protects it with OSCORE.
//!
//! Many requests can be between the halves at once (capsule runs are awaited while the server
//! receives); a response whose security context was replaced meanwhile is not protected with the
//! newcomer's keys (`Security`'s `close`). Before coapcore sees a request, it is screened for the
//! input lakers, coapcore and liboscore panic, hang or lose state on (`screen.rs`, `crypto.rs`,
//! `inner.rs`, `contexts.rs`; the table is in `docs/coap-security.md`, "Peer input").
//!
//! Where each concern lives: `security.rs` ([`Security`], the layer: the two halves, the screen
//! and the retired contexts), `handler.rs` (coapcore's side: the deferred handler, the policy as
//! coapcore asks for it, the shared RNG), `handshakes.rs` ([`HandshakeLimits`]), `bound.rs` (the policy's scope bound to a request; the
//! policy itself is [`crate::policy`]),
//! `identity.rs`, and the guards against peer input (`screen.rs`, `crypto.rs`, `inner.rs`,
//! `contexts.rs`).

mod bound;
mod contexts;
mod crypto;
mod handler;
mod handshakes;
mod identity;
mod inner;
mod observation;
mod screen;
mod security;

pub use crate::policy::{Peer, Policy, PolicyError, Rule, Scope, methods};
pub use crypto::{is_p256_scalar, is_p256_x};
pub use handler::{DeviceRng, copy_message};
pub use handshakes::HandshakeLimits;
pub use identity::{Identity, IdentityError};
pub use observation::Observation;
pub use screen::is_edhoc_message_1;
pub use security::{Pending, Security};
