//! Messages the message layer makes by itself: 5.03 with Max-Age, text diagnostics, Resets.

use alloc::string::String;
use alloc::vec::Vec;

use super::limits::BUSY_MAX_AGE;
use super::resource::TEXT_PLAIN;
use crate::message::{Message, MsgType, code, opt};

/// 5.03 Service Unavailable with Max-Age: too much in flight, try again shortly.
pub fn busy(why: &str) -> Message {
    let mut m = text_msg(code::SERVICE_UNAVAILABLE, why);
    m.add_uint_option(opt::MAX_AGE, BUSY_MAX_AGE);
    m
}

/// A message with a code and a text diagnostic (RFC 7252 §5.5.2).
pub(crate) fn text_msg(c: u8, text: impl Into<String>) -> Message {
    let mut m = Message {
        code: c,
        payload: text.into().into_bytes(),
        ..Default::default()
    };
    m.add_uint_option(opt::CONTENT_FORMAT, TEXT_PLAIN);
    m
}

pub(super) fn reset(mid: u16) -> Vec<u8> {
    Message {
        ty: MsgType::Rst,
        code: code::EMPTY,
        mid,
        ..Default::default()
    }
    .encode()
}

/// A message we cannot parse: if its header says confirmable, reject it with a Reset (RFC 7252
/// §4.2: a message format error); otherwise ignore it.
pub(super) fn reset_for_garbage(datagram: &[u8]) -> Option<Vec<u8>> {
    let [b0, _, m0, m1, ..] = *datagram else {
        return None;
    };
    (b0 >> 6 == 1 && (b0 >> 4) & 3 == 0).then(|| reset(u16::from_be_bytes([m0, m1])))
}
