//! `coap://HOST[:PORT][/PATH]`, resolved: what `trevm serve --rd` and the CLI's client both take.

use std::net::{SocketAddr, ToSocketAddrs};

/// A `coap://` URI, its host resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoapUri {
    /// `HOST[:PORT]` as written (for messages, and for credentials patterns).
    pub authority: String,
    /// Where to send: the host's first address, port 5683 unless given.
    pub addr: SocketAddr,
    /// The path as written, from its first `/` (empty when there is none).
    pub path: String,
}

impl CoapUri {
    /// Parses `uri` and resolves its host; the error is one sentence naming what is wrong.
    pub fn resolve(uri: &str) -> Result<CoapUri, String> {
        let rest = uri
            .strip_prefix("coap://")
            .ok_or_else(|| format!("`{uri}` is not a coap:// URL (coaps is not supported)"))?;
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err(format!("`{uri}` has no host"));
        }
        let with_port = if authority.ends_with(']') || !authority.contains(':') {
            format!("{authority}:5683")
        } else {
            authority.to_string()
        };
        let addr = with_port
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve `{authority}`: {e}"))?
            .next()
            .ok_or_else(|| format!("`{authority}` resolves to no address"))?;
        Ok(CoapUri {
            authority: authority.to_string(),
            addr,
            path: path.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::CoapUri;

    #[test]
    fn the_port_defaults_and_the_path_is_kept_as_written() {
        let u = CoapUri::resolve("coap://127.0.0.1/resourcedirectory/").unwrap();
        assert_eq!(u.addr.to_string(), "127.0.0.1:5683");
        assert_eq!(u.path, "/resourcedirectory/");
        let u = CoapUri::resolve("coap://[::1]:5700").unwrap();
        assert_eq!(
            (u.authority.as_str(), u.addr.port(), u.path.as_str()),
            ("[::1]:5700", 5700, "")
        );
    }

    #[test]
    fn what_is_not_a_coap_uri_is_said() {
        for (uri, says) in [
            ("http://x", "is not a coap:// URL"),
            ("coap:///x", "has no host"),
            ("coap://127.0.0.1:99999", "cannot resolve"),
        ] {
            let e = CoapUri::resolve(uri).unwrap_err();
            assert!(e.contains(says), "{uri}: {e}");
        }
    }
}
