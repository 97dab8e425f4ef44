//! What the registrar reports: its [`State`], the [`Event`]s a driver logs, and why an attempt
//! failed ([`Reason`]).

use alloc::string::String;

use crate::client::Error;
use crate::message::code;

/// Where the registration stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// An attempt (discovery, then registration) is under way: at the start, and after the RD
    /// answered a refresh with 4.04.
    Registering,
    /// The RD holds the registration at `location`; it is refreshed at `refresh_at_ms`.
    Registered {
        /// The registration resource (`/reg/1/`), as the RD gave it.
        location: String,
        /// When the next refresh goes out (milliseconds, the caller's clock).
        refresh_at_ms: u64,
    },
    /// The last attempt failed; the next one starts at `at_ms`.
    Retrying {
        /// When the next attempt starts (milliseconds, the caller's clock).
        at_ms: u64,
        /// Why the last one failed.
        reason: Reason,
    },
}

/// Something a driver reports (logs) once: one per (re)registration and one per failed attempt,
/// not one per retransmitted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Registered (or registered again) at `location`.
    Registered {
        /// The registration resource (`/reg/1/`).
        location: String,
    },
    /// An attempt failed; the next starts in `retry_in_ms`.
    Failed {
        /// Why.
        reason: Reason,
        /// How long until the next attempt, in milliseconds.
        retry_in_ms: u64,
    },
}

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The request failed: no answer, a Reset, a response too long or out of protocol.
    Client(Error),
    /// The RD answered with this code (a 4.xx, 5.xx, or a success that was not expected).
    Refused {
        /// The code.
        code: u8,
    },
    /// A registration was answered 2.01 without a Location-Path.
    NoLocation,
    /// A registration's Location-Path has more than [`MAX_SEGMENTS`](super::MAX_SEGMENTS)
    /// segments or more than [`MAX_PATH`](super::MAX_PATH) bytes.
    BadLocation,
    /// The discovery answer is not link-format.
    NotLinkFormat,
    /// The discovery answer has no usable link with `rt="core.rd"`.
    NoRegistrationLink,
}

impl From<Error> for Reason {
    fn from(e: Error) -> Self {
        Reason::Client(e)
    }
}

impl core::fmt::Display for Reason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Reason::Client(e) => e.fmt(f),
            Reason::Refused { code: c } => {
                f.write_str("answered ")?;
                f.write_str(&code::dotted(*c))?;
                let name = code::name(*c);
                if !name.is_empty() {
                    write!(f, " {name}")?;
                }
                Ok(())
            }
            Reason::NoLocation => f.write_str("a registration answered without Location-Path"),
            Reason::BadLocation => f.write_str("a registration's Location-Path is too long"),
            Reason::NotLinkFormat => f.write_str("its /.well-known/core is not link-format"),
            Reason::NoRegistrationLink => {
                f.write_str("its /.well-known/core has no rt=\"core.rd\" link")
            }
        }
    }
}
