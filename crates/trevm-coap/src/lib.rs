#![no_std]
#![doc = "CoAP for trevm devices (`no_std + alloc`): the RFC 7252 message format, duplicate"]
#![doc = "detection, RFC 7959 block-wise transfer, and the capsule lifecycle resources (the"]
#![doc = "sandbox, the persistent capsule). Without the `device` feature only the message format"]
#![doc = "is built, e.g. for capsules that parse CoAP themselves. See docs/coap.md."]
#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![deny(missing_debug_implementations)]

extern crate alloc;

#[cfg(feature = "device")]
pub mod admit;
pub mod block;
pub mod dedup;
#[cfg(feature = "device")]
pub mod device;
pub mod message;
#[cfg(feature = "device")]
pub mod persistent;
#[cfg(feature = "device")]
pub mod sandbox;
#[cfg(feature = "device")]
pub mod server;

pub use block::BlockOpt;
#[cfg(feature = "device")]
pub use device::Device;
pub use message::{Message, MsgType, ParseError};
#[cfg(feature = "device")]
pub use persistent::Persistent;
#[cfg(feature = "device")]
pub use sandbox::{Sandbox, SandboxLimits};
#[cfg(feature = "device")]
pub use server::{Request, Resources, Response, Server, ServerLimits};
