//! The registration resource from an RD's `/.well-known/core?rt=core.rd` answer (RFC 9176
//! §4.3): the first link whose `rt` includes `core.rd` and whose target is an absolute path.
//! The body is bounded by the client's [`MAX_DISCOVERY`] limit before it gets here.

use alloc::string::String;
use alloc::vec::Vec;

use super::config::{MAX_PATH, MAX_SEGMENTS, path_fits, path_segments};
use super::outcome::Reason;

/// The longest discovery answer taken, in bytes (a typical one is under 100).
pub const MAX_DISCOVERY: usize = 1024;

/// The registration path's Uri-Path segments in link-format `body`: [`Reason::NotLinkFormat`]
/// when it is not UTF-8 or has no link at all, [`Reason::NoRegistrationLink`] when no link is
/// a `core.rd` one with an absolute path (no query, fragment or percent-escape, within
/// [`MAX_SEGMENTS`] and [`MAX_PATH`]).
pub fn registration_path(body: &[u8]) -> Result<Vec<String>, Reason> {
    let text = core::str::from_utf8(body).map_err(|_| Reason::NotLinkFormat)?;
    let mut any = false;
    for link in split_outside_quotes(text, ',') {
        let link = link.trim();
        let Some(rest) = link.strip_prefix('<') else {
            continue;
        };
        let Some((target, params)) = rest.split_once('>') else {
            continue;
        };
        any = true;
        if !split_outside_quotes(params, ';').any(is_core_rd) {
            continue;
        }
        let path = match target.find("://") {
            // An absolute URI: its path (the RD is where it was asked).
            Some(at) => {
                let after = &target[at + 3..];
                after.find('/').map_or("", |p| &after[p..])
            }
            None => target,
        };
        if !path.starts_with('/') || path.contains(['?', '#', '%']) || path.len() > MAX_PATH {
            continue;
        }
        let segments = path_segments(path);
        if segments.len() <= MAX_SEGMENTS && path_fits(&segments) {
            return Ok(segments);
        }
    }
    Err(if any {
        Reason::NoRegistrationLink
    } else {
        Reason::NotLinkFormat
    })
}

/// Whether a link parameter is `rt` with `core.rd` among its space-separated values.
fn is_core_rd(param: &str) -> bool {
    let Some((name, value)) = param.trim().split_once('=') else {
        return false;
    };
    let value = value.trim();
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    name.trim() == "rt" && value.split(' ').any(|t| t == "core.rd")
}

/// `text` split at `sep` where it is not inside double quotes or angle brackets.
fn split_outside_quotes(text: &str, sep: char) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    core::iter::from_fn(move || {
        let s = rest?;
        let (mut quoted, mut bracket, mut escaped) = (false, false, false);
        for (i, c) in s.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' if !bracket => quoted = !quoted,
                '<' if !quoted => bracket = true,
                '>' if !quoted => bracket = false,
                c if c == sep && !quoted && !bracket => {
                    rest = Some(&s[i + c.len_utf8()..]);
                    return Some(&s[..i]);
                }
                _ => {}
            }
        }
        rest = None;
        Some(s)
    })
}
