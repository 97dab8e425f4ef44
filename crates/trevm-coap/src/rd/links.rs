//! A device's registration payload: one RFC 6690 link per installed capsule, and `/status`.
//!
//! ```text
//! </sandbox/hello>;rt="trevm.capsule";slot="sandbox";name="hello";version="20261205064222";signer="3f2a…",
//! </vm-control>;rt="trevm.capsule";slot="persistent";name="blinky",
//! </ephemeral>;rt="trevm.capsule";slot="ephemeral";name="fib",
//! </status>;rt="trevm.status";ct=50
//! ```
//!
//! `version` and `signer` are left out for a capsule nobody signed. Attribute values are
//! quoted strings; a value that could break out of its quotes (a `"`, a `\`, a control or
//! non-ASCII character) is not escaped but left out, with its attribute: such a name cannot
//! be looked up reliably anyway. A sandbox capsule whose name is not a plain path segment has
//! no link at all (the sandbox never accepts such names).

use alloc::format;
use alloc::string::String;

use crate::status::CapsuleStatus;

/// The links of `capsules` (in their order) and `/status`, comma-separated. Its length grows
/// with the number of capsules (about 120 bytes each with version and signer).
pub fn capsule_links(capsules: &[CapsuleStatus]) -> String {
    let mut out = String::new();
    for c in capsules {
        let target = match c.slot.as_str() {
            "sandbox" if is_segment(&c.name) => format!("/sandbox/{}", c.name),
            "persistent" => String::from("/vm-control"),
            "ephemeral" => String::from("/ephemeral"),
            _ => continue,
        };
        out.push_str(&format!(
            "<{target}>;rt=\"trevm.capsule\";slot=\"{}\"",
            c.slot
        ));
        if is_quotable(&c.name) {
            out.push_str(&format!(";name=\"{}\"", c.name));
        }
        if let Some(version) = c.version {
            out.push_str(&format!(";version=\"{version}\""));
        }
        if let Some(signer) = c.signer.as_deref().filter(|s| is_quotable(s)) {
            out.push_str(&format!(";signer=\"{signer}\""));
        }
        out.push(',');
    }
    out.push_str("</status>;rt=\"trevm.status\";ct=50");
    out
}

/// Letters, digits, `-` and `_` (what a sandbox name is made of).
fn is_segment(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Printable ASCII without `"` and `\`: safe inside a quoted string as it is.
fn is_quotable(s: &str) -> bool {
    s.bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
}
