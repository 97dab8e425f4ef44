#![no_std]
#![doc = "CoAP for trevm devices (`no_std + alloc`): the RFC 7252 message format, duplicate"]
#![doc = "detection, RFC 7959 block-wise transfer, and (later) the capsule lifecycle resources."]
#![warn(missing_docs)]
#![deny(missing_debug_implementations)]

extern crate alloc;

pub mod block;
pub mod dedup;
pub mod device;
pub mod message;
pub mod sandbox;
pub mod server;

pub use block::BlockOpt;
pub use device::Device;
pub use message::{Message, MsgType, ParseError};
pub use sandbox::{Sandbox, SandboxLimits};
pub use server::{Request, Resources, Response, Server, ServerLimits};
