//! The CoAP message format (RFC 7252 §3): parsing and encoding, without panics on any input.

use alloc::vec::Vec;

/// Option numbers this crate uses (RFC 7252 §12.2, RFC 7959 §7).
pub mod opt {
    /// Observe (RFC 7641).
    pub const OBSERVE: u16 = 6;
    /// Location-Path: one segment of a created resource's path per option.
    pub const LOCATION_PATH: u16 = 8;
    /// Uri-Path: one segment per option.
    pub const URI_PATH: u16 = 11;
    /// Content-Format.
    pub const CONTENT_FORMAT: u16 = 12;
    /// Max-Age: seconds a response stays fresh (on a 5.03: when to try again).
    pub const MAX_AGE: u16 = 14;
    /// Uri-Query.
    pub const URI_QUERY: u16 = 15;
    /// Accept.
    pub const ACCEPT: u16 = 17;
    /// Block2: block-wise response.
    pub const BLOCK2: u16 = 23;
    /// Block1: block-wise request payload.
    pub const BLOCK1: u16 = 27;
    /// Size2: total size of the response payload.
    pub const SIZE2: u16 = 28;
    /// Size1: total size of the request payload, or the largest acceptable (in a 4.13).
    pub const SIZE1: u16 = 60;
}

/// Response and method codes as `class << 5 | detail`.
pub mod code {
    /// Empty message.
    pub const EMPTY: u8 = 0;
    /// GET.
    pub const GET: u8 = 1;
    /// POST.
    pub const POST: u8 = 2;
    /// PUT.
    pub const PUT: u8 = 3;
    /// DELETE.
    pub const DELETE: u8 = 4;
    /// 2.01 Created.
    pub const CREATED: u8 = 0x41;
    /// 2.02 Deleted.
    pub const DELETED: u8 = 0x42;
    /// 2.04 Changed.
    pub const CHANGED: u8 = 0x44;
    /// 2.05 Content.
    pub const CONTENT: u8 = 0x45;
    /// 2.31 Continue (RFC 7959).
    pub const CONTINUE: u8 = 0x5f;
    /// 4.00 Bad Request.
    pub const BAD_REQUEST: u8 = 0x80;
    /// 4.01 Unauthorized: the capsule did not authenticate (unsigned, unknown signer, bad
    /// signature, altered after signing).
    pub const UNAUTHORIZED: u8 = 0x81;
    /// 4.02 Bad Option.
    pub const BAD_OPTION: u8 = 0x82;
    /// 4.03 Forbidden: authentic, but the device's policy refuses it (name, grants, rollback).
    pub const FORBIDDEN: u8 = 0x83;
    /// 4.04 Not Found.
    pub const NOT_FOUND: u8 = 0x84;
    /// 4.05 Method Not Allowed.
    pub const METHOD_NOT_ALLOWED: u8 = 0x85;
    /// 4.08 Request Entity Incomplete (RFC 7959).
    pub const REQUEST_ENTITY_INCOMPLETE: u8 = 0x88;
    /// 4.13 Request Entity Too Large.
    pub const REQUEST_ENTITY_TOO_LARGE: u8 = 0x8d;
    /// 5.00 Internal Server Error.
    pub const INTERNAL_SERVER_ERROR: u8 = 0xa0;
    /// 5.03 Service Unavailable.
    pub const SERVICE_UNAVAILABLE: u8 = 0xa3;

    /// `0x45` → `"Content"`: the RFC 7252 name of the codes this crate uses (empty for others).
    pub fn name(c: u8) -> &'static str {
        match c {
            CREATED => "Created",
            DELETED => "Deleted",
            CHANGED => "Changed",
            CONTENT => "Content",
            CONTINUE => "Continue",
            BAD_REQUEST => "Bad Request",
            UNAUTHORIZED => "Unauthorized",
            BAD_OPTION => "Bad Option",
            FORBIDDEN => "Forbidden",
            NOT_FOUND => "Not Found",
            METHOD_NOT_ALLOWED => "Method Not Allowed",
            REQUEST_ENTITY_INCOMPLETE => "Request Entity Incomplete",
            REQUEST_ENTITY_TOO_LARGE => "Request Entity Too Large",
            INTERNAL_SERVER_ERROR => "Internal Server Error",
            SERVICE_UNAVAILABLE => "Service Unavailable",
            _ => "",
        }
    }

    /// `0x45` → `"2.05"`.
    pub fn dotted(code: u8) -> alloc::string::String {
        alloc::format!("{}.{:02}", code >> 5, code & 0x1f)
    }

    /// Whether `code` is a request method (class 0, not empty).
    pub fn is_request(code: u8) -> bool {
        code != EMPTY && code >> 5 == 0
    }
}

/// The four message types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MsgType {
    /// Confirmable: the receiver must acknowledge.
    #[default]
    Con,
    /// Non-confirmable.
    Non,
    /// Acknowledgement.
    Ack,
    /// Reset.
    Rst,
}

impl MsgType {
    fn bits(self) -> u8 {
        match self {
            MsgType::Con => 0,
            MsgType::Non => 1,
            MsgType::Ack => 2,
            MsgType::Rst => 3,
        }
    }

    fn from_bits(b: u8) -> Self {
        match b & 3 {
            0 => MsgType::Con,
            1 => MsgType::Non,
            2 => MsgType::Ack,
            _ => MsgType::Rst,
        }
    }
}

/// Why bytes are not a CoAP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Fewer than the 4 header bytes.
    TooShort,
    /// Version is not 1.
    BadVersion,
    /// Token length 9–15 (reserved).
    BadTokenLength,
    /// An option or the token runs past the end.
    Truncated,
    /// Option delta or length nibble 15 outside the payload marker.
    BadOption,
    /// A payload marker with no payload after it.
    EmptyPayload,
}

impl core::fmt::Display for ParseError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            ParseError::TooShort => "shorter than a CoAP header",
            ParseError::BadVersion => "not CoAP version 1",
            ParseError::BadTokenLength => "token length over 8",
            ParseError::Truncated => "truncated token or option",
            ParseError::BadOption => "malformed option header",
            ParseError::EmptyPayload => "payload marker without payload",
        })
    }
}

/// Options as `(number, value)` pairs.
pub type Options = Vec<(u16, Vec<u8>)>;

/// A CoAP message over UDP.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// Type.
    pub ty: MsgType,
    /// Method or response code (`class << 5 | detail`).
    pub code: u8,
    /// Message ID.
    pub mid: u16,
    /// Token, 0 to 8 bytes.
    pub token: Vec<u8>,
    /// Options in ascending number order (repeated options keep their order).
    pub options: Options,
    /// Payload.
    pub payload: Vec<u8>,
}

/// Reads an extended option delta/length nibble.
fn ext(nibble: u8, bytes: &[u8], at: &mut usize) -> Result<u16, ParseError> {
    let take = |at: &mut usize, n: usize| -> Result<&[u8], ParseError> {
        let s = bytes.get(*at..*at + n).ok_or(ParseError::Truncated)?;
        *at += n;
        Ok(s)
    };
    match nibble {
        0..=12 => Ok(u16::from(nibble)),
        13 => Ok(u16::from(take(at, 1)?[0]) + 13),
        14 => {
            let b = take(at, 2)?;
            u16::from_be_bytes([b[0], b[1]])
                .checked_add(269)
                .ok_or(ParseError::BadOption)
        }
        _ => Err(ParseError::BadOption),
    }
}

impl Message {
    /// A confirmable request: `code` for the Uri-Path `path` (one option per segment), message ID
    /// `mid` and, as its token, `mid` big-endian; no payload.
    pub fn request(code: u8, mid: u16, path: &[&str]) -> Message {
        Message {
            ty: MsgType::Con,
            code,
            mid,
            token: mid.to_be_bytes().to_vec(),
            options: path
                .iter()
                .map(|p| (opt::URI_PATH, p.as_bytes().to_vec()))
                .collect(),
            payload: Vec::new(),
        }
    }

    /// Parses one datagram.
    pub fn parse(bytes: &[u8]) -> Result<Message, ParseError> {
        let [b0, code, m0, m1, ..] = *bytes else {
            return Err(ParseError::TooShort);
        };
        if b0 >> 6 != 1 {
            return Err(ParseError::BadVersion);
        }
        let tkl = usize::from(b0 & 0x0f);
        if tkl > 8 {
            return Err(ParseError::BadTokenLength);
        }
        let token = bytes.get(4..4 + tkl).ok_or(ParseError::Truncated)?.to_vec();
        let (options, payload) = parse_options_payload(&bytes[4 + tkl..])?;
        Ok(Message {
            ty: MsgType::from_bits(b0 >> 4),
            code,
            mid: u16::from_be_bytes([m0, m1]),
            token,
            options,
            payload,
        })
    }

    /// Encodes the message. Options are written in ascending number order whatever their order in
    /// [`Message::options`] (a stable sort keeps repeated options in order); a token longer than 8
    /// bytes is cut to 8.
    pub fn encode(&self) -> Vec<u8> {
        let token = &self.token[..self.token.len().min(8)];
        let mut out = Vec::with_capacity(4 + token.len() + self.payload.len() + 16);
        out.push(0x40 | self.ty.bits() << 4 | token.len() as u8);
        out.push(self.code);
        out.extend_from_slice(&self.mid.to_be_bytes());
        out.extend_from_slice(token);
        out.extend_from_slice(&encode_options_payload(&self.options, &self.payload));
        out
    }

    /// The Uri-Query options that are UTF-8 (`after=12`), in order.
    pub fn query(&self) -> Vec<&str> {
        self.options
            .iter()
            .filter(|(n, _)| *n == opt::URI_QUERY)
            .filter_map(|(_, v)| core::str::from_utf8(v).ok())
            .collect()
    }

    /// The first value of option `number`.
    pub fn option(&self, number: u16) -> Option<&[u8]> {
        self.options
            .iter()
            .find(|(n, _)| *n == number)
            .map(|(_, v)| v.as_slice())
    }

    /// The first value of option `number` as an unsigned integer (`None` if absent or longer
    /// than 4 bytes).
    pub fn uint_option(&self, number: u16) -> Option<u32> {
        let v = self.option(number)?;
        (v.len() <= 4).then(|| v.iter().fold(0u32, |acc, b| acc << 8 | u32::from(*b)))
    }

    /// Adds option `number` with an unsigned integer value (minimal length).
    pub fn add_uint_option(&mut self, number: u16, value: u32) {
        let bytes = value.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        self.options.push((number, bytes[skip..].to_vec()));
    }

    /// The Uri-Path segments, as UTF-8 (`None` if a segment is not UTF-8).
    pub fn path(&self) -> Option<Vec<&str>> {
        self.options
            .iter()
            .filter(|(n, _)| *n == opt::URI_PATH)
            .map(|(_, v)| core::str::from_utf8(v).ok())
            .collect()
    }

    /// Option numbers present that this crate does not know and that are critical (odd): a server
    /// must reject the request with 4.02 (RFC 7252 §5.4.1).
    pub fn unknown_critical(&self, known: &[u16]) -> Option<u16> {
        self.options
            .iter()
            .map(|(n, _)| *n)
            .find(|n| n % 2 == 1 && !known.contains(n))
    }
}

/// Parses what follows the token: options, then an optional payload marker and payload. This is
/// also the form in which `coap-server-guest.coap-run` passes requests and responses.
pub fn parse_options_payload(bytes: &[u8]) -> Result<(Options, Vec<u8>), ParseError> {
    let mut at = 0;
    let mut options = Vec::new();
    let mut number: u16 = 0;
    let mut payload = Vec::new();
    while let Some(&head) = bytes.get(at) {
        at += 1;
        if head == 0xff {
            payload = bytes[at..].to_vec();
            if payload.is_empty() {
                return Err(ParseError::EmptyPayload);
            }
            break;
        }
        let delta = ext(head >> 4, bytes, &mut at)?;
        let len = usize::from(ext(head & 0x0f, bytes, &mut at)?);
        number = number.checked_add(delta).ok_or(ParseError::BadOption)?;
        let value = bytes.get(at..at + len).ok_or(ParseError::Truncated)?;
        at += len;
        options.push((number, value.to_vec()));
    }
    Ok((options, payload))
}

/// A request as a capsule's `coap-server-guest.coap-run` receives it, decoded: what a persistent
/// capsule needs to answer it (see `payloads/coap-persistent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestRequest {
    /// The Uri-Path segments below `/vm`, in order.
    pub path: Vec<Vec<u8>>,
    /// The request's payload.
    pub payload: Vec<u8>,
    /// How many bytes the capsule's response may have (the length of `coap-run`'s message).
    pub room: usize,
}

impl GuestRequest {
    /// Decodes `coap-run`'s `observed-len` and `message`; `None` when they are malformed.
    pub fn parse(observed_len: u32, message: &[u8]) -> Option<Self> {
        let request = message.get(..usize::try_from(observed_len).ok()?)?;
        let (options, payload) = parse_options_payload(request).ok()?;
        let path = options
            .into_iter()
            .filter(|(n, _)| *n == opt::URI_PATH)
            .map(|(_, v)| v)
            .collect();
        Some(GuestRequest {
            path,
            payload,
            room: message.len(),
        })
    }

    /// Whether the path is exactly `segments`.
    pub fn path_is(&self, segments: &[&str]) -> bool {
        self.path.len() == segments.len()
            && self
                .path
                .iter()
                .zip(segments)
                .all(|(a, b)| a == b.as_bytes())
    }
}

/// A `coap-run` answer carrying `body` as `text/plain; charset=utf-8` (Content-Format 0).
pub fn guest_text(code: u8, body: &str) -> (u8, Vec<u8>) {
    (
        code,
        encode_options_payload(&[(opt::CONTENT_FORMAT, Vec::new())], body.as_bytes()),
    )
}

/// Encodes options (in ascending number order; a stable sort keeps repeated options in order)
/// and, if not empty, the payload marker and payload.
pub fn encode_options_payload(options: &[(u16, Vec<u8>)], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 16);
    let mut opts: Vec<&(u16, Vec<u8>)> = options.iter().collect();
    opts.sort_by_key(|(n, _)| *n);
    let mut last = 0u16;
    for (number, value) in opts {
        let delta = number - last;
        last = *number;
        let (dn, dext) = nibble(delta);
        let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
        let (ln, lext) = nibble(len);
        out.push(dn << 4 | ln);
        out.extend_from_slice(&dext);
        out.extend_from_slice(&lext);
        out.extend_from_slice(&value[..usize::from(len)]);
    }
    if !payload.is_empty() {
        out.push(0xff);
        out.extend_from_slice(payload);
    }
    out
}

/// The 4-bit nibble and extension bytes for an option delta or length.
fn nibble(v: u16) -> (u8, Vec<u8>) {
    match v {
        0..=12 => (v as u8, Vec::new()),
        13..=268 => (13, alloc::vec![(v - 13) as u8]),
        _ => (14, (v - 269).to_be_bytes().to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn round_trip_with_long_token_options_and_payload() {
        let mut m = Message {
            ty: MsgType::Con,
            code: code::PUT,
            mid: 0xbeef,
            token: vec![1, 2, 3, 4, 5, 6, 7, 8],
            options: vec![
                (opt::URI_PATH, b"sandbox".to_vec()),
                (opt::URI_PATH, b"hello".to_vec()),
            ],
            payload: vec![0xaa; 300],
        };
        m.add_uint_option(opt::BLOCK1, 0x1234e);
        m.add_uint_option(opt::SIZE1, 41_000);
        let bytes = m.encode();
        let back = Message::parse(&bytes).unwrap();
        assert_eq!(back.token.len(), 8);
        assert_eq!(back.path().unwrap(), ["sandbox", "hello"]);
        assert_eq!(back.uint_option(opt::BLOCK1), Some(0x1234e));
        assert_eq!(back.uint_option(opt::SIZE1), Some(41_000));
        assert_eq!(back.payload, m.payload);
        assert_eq!(back.mid, 0xbeef);
    }

    /// One example of each way bytes fail to be a message, and the error it gets. That no input
    /// panics is a property over generated messages and bytes: tests/message.rs.
    #[test]
    fn each_kind_of_malformed_message_gets_its_error() {
        assert_eq!(Message::parse(&[]), Err(ParseError::TooShort));
        assert_eq!(
            Message::parse(&[0x80, 1, 0, 0]),
            Err(ParseError::BadVersion)
        );
        assert_eq!(
            Message::parse(&[0x49, 1, 0, 0]),
            Err(ParseError::BadTokenLength)
        );
        assert_eq!(
            Message::parse(&[0x48, 1, 0, 0, 1]),
            Err(ParseError::Truncated)
        );
        assert_eq!(
            Message::parse(&[0x40, 1, 0, 0, 0xff]),
            Err(ParseError::EmptyPayload)
        );
        assert_eq!(
            Message::parse(&[0x40, 1, 0, 0, 0xf0]),
            Err(ParseError::BadOption)
        );
        assert_eq!(
            Message::parse(&[0x40, 1, 0, 0, 0xe1, 0xff]),
            Err(ParseError::Truncated)
        );
        assert_eq!(
            Message::parse(&[0x40, 1, 0, 0, 0xb5, b'a']),
            Err(ParseError::Truncated)
        );
    }

    #[test]
    fn codes_print_dotted() {
        assert_eq!(code::dotted(code::CONTENT), "2.05");
        assert_eq!(code::dotted(code::REQUEST_ENTITY_TOO_LARGE), "4.13");
        assert!(code::is_request(code::GET) && !code::is_request(code::EMPTY));
    }
}
