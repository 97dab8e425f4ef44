//! Why a request or a handshake failed.

use alloc::string::String;
use alloc::vec::Vec;

/// Why the client gave up on a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// No answer after this many transmissions.
    NoAnswer {
        /// Transmissions made.
        tries: u32,
    },
    /// The server answered with a Reset.
    Reset,
    /// A request is in flight already: one at a time.
    Busy,
    /// No request was started.
    Idle,
    /// The server answered out of protocol (a Block2 block out of order, …).
    Protocol(&'static str),
    /// The response's body grew beyond [`Limits::max_body`](super::Limits::max_body) bytes.
    TooLarge,
    /// EDHOC or OSCORE failed.
    Oscore(OscoreError),
}

/// Why EDHOC or OSCORE failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OscoreError {
    /// The handshake failed on this side: lakers or liboscore said what.
    Edhoc(String),
    /// The server answered message 1 with this code and payload instead of message 2.
    Message1Refused {
        /// The answer's code.
        code: u8,
        /// Its payload (a diagnostic, if any).
        payload: Vec<u8>,
    },
    /// The server's credential is not the pinned one: what it presented, CCS bytes if by value.
    UnexpectedCredential {
        /// Its CCS when sent by value.
        by_value: Option<Vec<u8>>,
        /// Its ID_CRED_R otherwise.
        reference: Vec<u8>,
    },
    /// The server sent only a reference to its credential, and no credential is pinned.
    CredentialByReference(String),
    /// The server refused the combined request carrying EDHOC message 3 with this code.
    Message3Refused {
        /// The answer's code.
        code: u8,
    },
    /// The server answered a success without OSCORE protection.
    Unprotected {
        /// The answer's code.
        code: u8,
    },
    /// The response's OSCORE option is malformed.
    BadOption,
    /// The response does not decrypt.
    Undecryptable(String),
    /// The request (with OSCORE's overhead) does not fit [`PROTECTED_BUF`](super::oscore::PROTECTED_BUF).
    Protect(String),
    /// The decrypted response has malformed options.
    MalformedInner,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::NoAnswer { tries } => write!(f, "no answer after {tries} tries"),
            Error::Reset => f.write_str("the server rejected the request (Reset)"),
            Error::Busy => f.write_str("a request is in flight already"),
            Error::Idle => f.write_str("no request was started"),
            Error::Protocol(what) => write!(f, "the server broke the protocol: {what}"),
            Error::TooLarge => f.write_str("the response is larger than the client takes"),
            Error::Oscore(e) => e.fmt(f),
        }
    }
}

impl core::fmt::Display for OscoreError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            OscoreError::Edhoc(what) => write!(f, "EDHOC failed: {what}"),
            OscoreError::Message1Refused { code, .. } => write!(
                f,
                "EDHOC failed: message 1 was answered {}",
                crate::message::code::dotted(*code)
            ),
            OscoreError::UnexpectedCredential { .. } => {
                f.write_str("the server's identity did not match the pinned credential")
            }
            OscoreError::CredentialByReference(e) => write!(
                f,
                "EDHOC failed: the device sent only a reference to its credential ({e}); \
                 {{\"unauthenticated\": true}} needs it by value"
            ),
            OscoreError::Message3Refused { code } => write!(
                f,
                "EDHOC failed: the device refused message 3 with {}",
                crate::message::code::dotted(*code)
            ),
            OscoreError::Unprotected { code } => write!(
                f,
                "the device answered {} without OSCORE protection; refusing it",
                crate::message::code::dotted(*code)
            ),
            OscoreError::BadOption => f.write_str("the response's OSCORE option is not understood"),
            OscoreError::Undecryptable(e) => {
                write!(f, "the device's response does not decrypt ({e})")
            }
            OscoreError::Protect(e) => write!(f, "cannot protect the request with OSCORE: {e}"),
            OscoreError::MalformedInner => {
                f.write_str("the device's response has malformed options inside OSCORE")
            }
        }
    }
}

impl From<OscoreError> for Error {
    fn from(e: OscoreError) -> Self {
        Error::Oscore(e)
    }
}

impl core::error::Error for Error {}
