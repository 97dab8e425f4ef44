//! `--credentials FILE.diag`: the client credentials file `aiocoap-client --credentials` reads, in
//! CBOR diagnostic notation, so one file serves both clients.
//!
//! ```text
//! {"coap://127.0.0.1:5683/*": {"edhoc-oscore": {
//!   "suite": 2, "method": 3,
//!   "own_cred_style": "by-key-id",            // or "by-value"
//!   "own_cred": {14: {2: "admin", 8: {1: {1: 2, 2: h'2b', -1: 1, -2: h'…', -3: h'…'}}}},
//!   "private_key_file": "admin.cosekey",      // relative to this file; or "private_key": {…}
//!   "peer_cred": {14: {8: {1: {…}}}}          // the device's identity; or {"unauthenticated": true}
//! }}}
//! ```
//!
//! Keys are URI patterns: one ending in `*` matches every URL starting with what precedes it,
//! others match exactly; the longest matching pattern wins. Only EDHOC (method 3, cipher suite 2)
//! with OSCORE is supported. The private key is a COSE_Key as `aiocoap-keygen` writes it
//! (`{1: 2, -1: 1, -4: h'<d>'}`, more keys allowed). Every field is checked with a one-line error
//! naming the file and the field: this file is user input.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use ciborium::Value;
use trevm_coap::client::Credentials;

/// What the device must present as its credential: exactly a CCS (as the device prints it,
/// `CoAP server identity: …`), or whatever it sends by value (encryption without authenticating
/// it).
pub use trevm_coap::client::PeerCred;

/// The EDHOC + OSCORE credentials for one URL.
#[derive(Debug, Clone)]
pub struct EdhocCredentials {
    /// The pattern of the entry that matched (for messages).
    pub pattern: String,
    /// Our CCS and private key, how we send it, and what the device must present (its `Debug`
    /// never prints the key).
    pub edhoc: Credentials,
}

/// Reads `path` and returns the credentials for `url` (a `coap://` URL as sent).
pub fn load(path: &Path, url: &str) -> Result<EdhocCredentials> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read credentials {}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse(&text, url, base).map_err(|e| anyhow!("credentials {}: {e}", path.display()))
}

/// Parses the text of a credentials file (`base`: where relative `private_key_file`s are).
pub fn parse(text: &str, url: &str, base: &Path) -> Result<EdhocCredentials> {
    let root = diag_to_value(text)?;
    let Value::Map(entries) = root else {
        bail!(
            "expected a map from URI patterns to credentials, found {}",
            kind(&root)
        );
    };
    let mut best: Option<(&str, &Value)> = None;
    for (key, value) in &entries {
        let Value::Text(pattern) = key else {
            bail!("keys must be URI patterns in quotes, found {}", kind(key));
        };
        let matches = match pattern.strip_suffix('*') {
            Some(prefix) => url.starts_with(prefix),
            None => url == pattern,
        };
        if matches && best.is_none_or(|(b, _)| pattern.len() > b.len()) {
            best = Some((pattern, value));
        }
    }
    let Some((pattern, entry)) = best else {
        let known: Vec<String> = entries
            .iter()
            .filter_map(|(k, _)| k.as_text().map(|t| format!("\"{t}\"")))
            .collect();
        bail!(
            "no entry matches {url} (entries: {})",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        );
    };
    entry_credentials(pattern, entry, base).map_err(|e| anyhow!("\"{pattern}\": {e}"))
}

/// Diagnostic notation → CBOR → a value, with the position of a syntax error.
fn diag_to_value(text: &str) -> Result<Value> {
    let item = cbor_edn::StandaloneItem::parse(text).map_err(|e| {
        anyhow!(
            "not valid CBOR diagnostic notation (line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    let cbor = item
        .to_cbor()
        .map_err(|e| anyhow!("cannot be encoded as CBOR: {e}"))?;
    ciborium::from_reader(cbor.as_slice()).map_err(|e| anyhow!("cannot decode its CBOR: {e}"))
}

/// Fields of `"edhoc-oscore"` aiocoap knows; anything else is a typo.
const FIELDS: [&str; 7] = [
    "suite",
    "method",
    "own_cred_style",
    "own_cred",
    "private_key_file",
    "private_key",
    "peer_cred",
];

fn entry_credentials(pattern: &str, entry: &Value, base: &Path) -> Result<EdhocCredentials> {
    let Value::Map(kinds) = entry else {
        bail!(
            "expected a map like {{\"edhoc-oscore\": {{…}}}}, found {}",
            kind(entry)
        );
    };
    let Some(eo) = text_key(kinds, "edhoc-oscore") else {
        let names: Vec<String> = kinds.iter().map(|(k, _)| describe_key(k)).collect();
        bail!(
            "no \"edhoc-oscore\" credentials (found {}); only EDHOC + OSCORE is supported",
            if names.is_empty() {
                "nothing".into()
            } else {
                names.join(", ")
            }
        );
    };
    let Value::Map(fields) = eo else {
        bail!("\"edhoc-oscore\": expected a map, found {}", kind(eo));
    };
    let eo_err = |name: &str, e: anyhow::Error| anyhow!("\"edhoc-oscore\" \"{name}\": {e}");
    for (k, _) in fields {
        match k.as_text() {
            Some(name) if FIELDS.contains(&name) => {}
            _ => bail!(
                "\"edhoc-oscore\": unknown field {} (known: {})",
                describe_key(k),
                FIELDS.join(", ")
            ),
        }
    }
    let required = |name: &str| {
        text_key(fields, name).ok_or_else(|| anyhow!("\"edhoc-oscore\": \"{name}\" is missing"))
    };

    let suite = required("suite")?;
    if suite.as_integer() != Some(2.into()) {
        return Err(eo_err(
            "suite",
            anyhow!(
                "only cipher suite 2 (AES-CCM-16-64-128, SHA-256, P-256) is supported, found {}",
                show(suite)
            ),
        ));
    }
    let method = required("method")?;
    if method.as_integer() != Some(3.into()) {
        return Err(eo_err(
            "method",
            anyhow!(
                "only method 3 (static-static keys) is supported, found {}",
                show(method)
            ),
        ));
    }
    let own_by_value = match required("own_cred_style")? {
        Value::Text(s) if s == "by-key-id" => false,
        Value::Text(s) if s == "by-value" => true,
        other => {
            return Err(eo_err(
                "own_cred_style",
                anyhow!(
                    "expected \"by-key-id\" or \"by-value\", found {}",
                    show(other)
                ),
            ));
        }
    };
    let own_cred = kccs(required("own_cred")?).map_err(|e| eo_err("own_cred", e))?;
    let own = lakers::Credential::parse_ccs(&own_cred).map_err(|e| {
        eo_err(
            "own_cred",
            anyhow!("not a CCS with a P-256 key (lakers: {e:?})"),
        )
    })?;
    if !own_by_value && own.kid.is_none() {
        return Err(eo_err(
            "own_cred_style",
            anyhow!("\"by-key-id\" needs a key id (2: h'…') in own_cred's key"),
        ));
    }
    let private_key = match (
        text_key(fields, "private_key_file"),
        text_key(fields, "private_key"),
    ) {
        (Some(_), Some(_)) => {
            bail!("\"edhoc-oscore\": give \"private_key_file\" or \"private_key\", not both")
        }
        (None, None) => {
            bail!("\"edhoc-oscore\": \"private_key_file\" (or \"private_key\") is missing")
        }
        (Some(file), None) => {
            let Value::Text(name) = file else {
                return Err(eo_err(
                    "private_key_file",
                    anyhow!("expected a file name in quotes, found {}", show(file)),
                ));
            };
            let path = base.join(name);
            let bytes = std::fs::read(&path).map_err(|e| {
                eo_err(
                    "private_key_file",
                    anyhow!("cannot read {}: {e}", path.display()),
                )
            })?;
            let key: Value = ciborium::from_reader(bytes.as_slice()).map_err(|_| {
                eo_err(
                    "private_key_file",
                    anyhow!("{} is not a CBOR COSE_Key", path.display()),
                )
            })?;
            cose_private_key(&key)
                .map_err(|e| eo_err("private_key_file", anyhow!("{}: {e}", path.display())))?
        }
        (None, Some(key)) => cose_private_key(key).map_err(|e| eo_err("private_key", e))?,
    };
    check_key_pair(&private_key, &own.key).map_err(|e| eo_err("own_cred", e))?;
    let peer = peer_cred(required("peer_cred")?).map_err(|e| eo_err("peer_cred", e))?;
    Ok(EdhocCredentials {
        pattern: pattern.to_string(),
        edhoc: Credentials {
            own_cred,
            own_by_value,
            private_key,
            peer,
        },
    })
}

/// `{14: CCS}` → the CCS's CBOR.
fn kccs(value: &Value) -> Result<Vec<u8>> {
    match value {
        Value::Map(m) if m.len() == 1 && m[0].0.as_integer() == Some(14.into()) => {
            let ccs = &m[0].1;
            if !ccs.is_map() {
                bail!(
                    "expected {{14: {{…}}}} with a CCS map, found 14: {}",
                    kind(ccs)
                );
            }
            let mut out = Vec::new();
            ciborium::into_writer(ccs, &mut out).map_err(|e| anyhow!("cannot encode: {e}"))?;
            Ok(out)
        }
        other => bail!(
            "expected a credential {{14: {{…}}}} (a CCS, as aiocoap-keygen prints), found {}",
            show(other)
        ),
    }
}

fn peer_cred(value: &Value) -> Result<PeerCred> {
    if let Value::Map(m) = value
        && let Some(u) = text_key(m, "unauthenticated")
    {
        if m.len() != 1 || u != &Value::Bool(true) {
            bail!(
                "expected {{\"unauthenticated\": true}}, found {}",
                show(value)
            );
        }
        return Ok(PeerCred::Unauthenticated);
    }
    let ccs = kccs(value).map_err(|e| anyhow!("{e} (or {{\"unauthenticated\": true}})"))?;
    lakers::Credential::parse_ccs(&ccs)
        .map_err(|e| anyhow!("not a CCS with a P-256 key (lakers: {e:?})"))?;
    Ok(PeerCred::Pinned(ccs))
}

/// The `d` of an EC2 P-256 COSE_Key.
fn cose_private_key(value: &Value) -> Result<[u8; 32]> {
    let Value::Map(m) = value else {
        bail!(
            "expected a COSE_Key map {{1: 2, -1: 1, -4: h'…'}}, found {}",
            kind(value)
        );
    };
    let get = |label: i64| {
        m.iter()
            .find(|(k, _)| k.as_integer() == Some(label.into()))
            .map(|(_, v)| v)
    };
    if get(1).and_then(Value::as_integer) != Some(2.into()) {
        bail!("the COSE_Key is not an EC2 key (1: 2)");
    }
    if let Some(crv) = get(-1)
        && crv.as_integer() != Some(1.into())
    {
        bail!(
            "the COSE_Key is not on curve P-256 (-1: 1), found -1: {}",
            show(crv)
        );
    }
    match get(-4) {
        Some(Value::Bytes(d)) => <[u8; 32]>::try_from(d.as_slice()).map_err(|_| {
            anyhow!(
                "the COSE_Key's private key (-4) has {} bytes, 32 expected",
                d.len()
            )
        }),
        Some(other) => bail!(
            "the COSE_Key's private key (-4) is {}, not bytes",
            kind(other)
        ),
        None => bail!("the COSE_Key has no private key (-4)"),
    }
}

/// Whether `d`'s public key is the one in our credential.
fn check_key_pair(d: &[u8; 32], key: &lakers::CredentialKey) -> Result<()> {
    use p256::elliptic_curve::sec1::ToEncodedPoint as _;
    let lakers::CredentialKey::EC2Compact(x) = key else {
        bail!("its key is not a P-256 public key");
    };
    let secret = p256::SecretKey::from_slice(d)
        .map_err(|_| anyhow!("the private key is not a valid P-256 private key"))?;
    let public = secret.public_key().to_encoded_point(false);
    if public.x().map(|px| px.as_slice()) != Some(x.as_slice()) {
        bail!("its public key does not belong to the private key");
    }
    Ok(())
}

fn text_key<'a>(map: &'a [(Value, Value)], name: &str) -> Option<&'a Value> {
    map.iter()
        .find(|(k, _)| k.as_text() == Some(name))
        .map(|(_, v)| v)
}

fn describe_key(k: &Value) -> String {
    match k {
        Value::Text(t) => format!("\"{t}\""),
        other => show(other),
    }
}

/// A short rendering of a value for messages.
fn show(v: &Value) -> String {
    match v {
        Value::Integer(i) => i128::from(*i).to_string(),
        Value::Text(t) => format!("\"{t}\""),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        other => kind(other).into(),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Integer(_) => "an integer",
        Value::Bytes(_) => "a byte string",
        Value::Float(_) => "a float",
        Value::Text(_) => "a text string",
        Value::Bool(_) => "a boolean",
        Value::Null => "null",
        Value::Tag(..) => "a tagged value",
        Value::Array(_) => "an array",
        Value::Map(_) => "a map",
        _ => "an unknown value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key pair made by `aiocoap-keygen generate admin.cosekey --kid 2b --subject admin`.
    const D: &str = "bdf6f24cf53496891d073171736a9d26566be6669c84c8a63d8e1f352541f7be";
    const OWN: &str = "{14:{2:\"admin\",8:{1:{1:2,2:h'2b',-1:1,\
        -2:h'51bf1462327ff335098aa19a802ac400c21368becceac832bf4536a7a016bbe6',\
        -3:h'5ff1ef8e008b48017656aedc28b728444acd85da385205d94433386d24ff9301'}}}}";
    const PEER: &str = "{14: {8: {1: {1: 2, 2: h'', -1: 1, \
        -2: h'51bf1462327ff335098aa19a802ac400c21368becceac832bf4536a7a016bbe6'}}}}";

    fn diag(fields: &str) -> String {
        format!(r#"{{"coap://h:1/*": {{"edhoc-oscore": {{ {fields} }}}}}}"#)
    }

    fn good(extra: &str) -> String {
        diag(&format!(
            r#""suite": 2, "method": 3, "own_cred_style": "by-key-id", "own_cred": {OWN},
               "private_key": {{1: 2, -1: 1, -4: h'{D}'}} {extra}"#
        ))
    }

    fn err(text: &str) -> String {
        let e = parse(text, "coap://h:1/x", Path::new(".")).expect_err("should fail");
        let s = format!("{e:#}");
        assert!(!s.contains('\n'), "one line: {s}");
        s
    }

    #[test]
    fn a_full_entry_parses() {
        let c = parse(
            &good(&format!(r#", "peer_cred": {PEER}"#)),
            "coap://h:1/sandbox/x",
            Path::new("."),
        )
        .unwrap();
        assert!(!c.edhoc.own_by_value);
        assert!(matches!(c.edhoc.peer, PeerCred::Pinned(_)));
        assert_eq!(c.pattern, "coap://h:1/*");
        let c = parse(
            &good(r#", "peer_cred": {"unauthenticated": true}"#),
            "coap://h:1/",
            Path::new("."),
        )
        .unwrap();
        assert_eq!(c.edhoc.peer, PeerCred::Unauthenticated);
    }

    #[test]
    fn malformed_fields_get_one_line_errors() {
        let peer = format!(r#", "peer_cred": {PEER}"#);
        assert!(err("{").contains("diagnostic notation"));
        assert!(err("[1]").contains("expected a map"));
        assert!(err(r#"{"coap://other/*": {}}"#).contains("no entry matches"));
        assert!(err(r#"{"coap://h:1/*": {"oscore": {}}}"#).contains("edhoc-oscore"));
        assert!(err(&good("")).contains("\"peer_cred\" is missing"));
        assert!(err(&good(r#", "peer_cred": 7"#)).contains("peer_cred"));
        assert!(err(&good(r#", "peer_cred": {"unauthenticated": false}"#)).contains("true"));
        assert!(err(&good(&format!("{peer}, \"colour\": 1"))).contains("unknown field"));
        let swap = |from: &str, to: &str| err(&good(&peer).replace(from, to));
        assert!(swap("\"suite\": 2", "\"suite\": 6").contains("suite"));
        assert!(swap("\"method\": 3", "\"method\": 0").contains("method"));
        assert!(swap("by-key-id", "by-name").contains("own_cred_style"));
        assert!(swap("{14:{2:", "{15:{2:").contains("own_cred"));
        assert!(swap(&format!("-4: h'{D}'"), "-4: h'00'").contains("32 expected"));
        assert!(swap(&format!("-4: h'{D}'"), "-3: h'00'").contains("no private key"));
        assert!(swap(&D[..4], "0000").contains("does not belong"));
        let file = good(&peer).replace(
            &format!("\"private_key\": {{1: 2, -1: 1, -4: h'{D}'}}"),
            "\"private_key_file\": \"missing.cosekey\"",
        );
        assert!(err(&file).contains("cannot read"));
    }

    #[test]
    fn the_longest_pattern_wins_and_exact_patterns_match_exactly() {
        let entry = |style: &str| {
            format!(
                r#"{{"edhoc-oscore": {{"suite": 2, "method": 3, "own_cred_style": "{style}",
                   "own_cred": {OWN}, "private_key": {{1: 2, -1: 1, -4: h'{D}'}},
                   "peer_cred": {{"unauthenticated": true}}}}}}"#
            )
        };
        let text = format!(
            r#"{{"coap://h:1/*": {}, "coap://h:1/a/*": {}, "coap://h:1/exact": 1}}"#,
            entry("by-key-id"),
            entry("by-value")
        );
        let at = |url: &str| parse(&text, url, Path::new("."));
        assert!(!at("coap://h:1/b").unwrap().edhoc.own_by_value);
        assert!(at("coap://h:1/a/b").unwrap().edhoc.own_by_value);
        assert!(format!("{:#}", at("coap://h:1/exact").unwrap_err()).contains("expected a map"));
    }
}
