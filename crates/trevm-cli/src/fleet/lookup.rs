//! Which devices exist: RFC 9176 endpoint lookup on the Resource Directory.
//!
//! The lookup resource is the RD URI's path when it has one (`coap://rd/endpoint-lookup/`), else
//! it is discovered from the RD's `/.well-known/core` (the link with `rt="core.rd-lookup-ep"`).
//! Each registration in the answer gives a device: its endpoint name (`ep`) and where it is
//! (`base`). The RD is asked in plain CoAP (securing the RD is not covered: docs/fleet.md).

use anyhow::{Context, Result, anyhow, bail};

use super::link_format::{self, Link};
use trevm_cli::coap_client::{Client, Url};

/// A device as the RD knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// Its endpoint name (`ep`).
    pub(crate) ep: String,
    /// Where it is: `coap://host:port` (its registration's `base`, without a trailing `/`).
    pub(crate) base: String,
    /// All parameters of its registration link (`et`, `lt`, `d`, …), for `--select`.
    pub(crate) params: Vec<(String, Option<String>)>,
}

/// A `--select k=v`: a device matches when its registration parameter `k`, or a field of the same
/// name of one of its capsules in `/status` (`slot`, `name`, `version`, `signer`), equals `v`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filter {
    pub(crate) key: String,
    pub(crate) value: String,
}

impl std::str::FromStr for Filter {
    type Err = String;

    fn from_str(s: &str) -> Result<Filter, String> {
        match s.split_once('=') {
            Some((k, v)) if !k.is_empty() && !k.contains(['&', '?']) && !v.contains('&') => {
                Ok(Filter {
                    key: k.to_string(),
                    value: v.to_string(),
                })
            }
            _ => Err(format!("`{s}`: expected KEY=VALUE, e.g. name=hello")),
        }
    }
}

/// Asks the RD at `rd` for its endpoints, sorted by name (so canaries are the same on a re-run).
///
/// The filters go to the RD as the lookup's Uri-Query (RFC 9176 §6: it answers only the
/// endpoints whose registration or links match), and the caller checks them again on what it
/// learns ([`super::probe::selected`]): the same rule, for an RD that ignores a filter.
pub(crate) fn lookup(rd: &str, filters: &[Filter]) -> Result<Vec<Endpoint>> {
    let url = Url::parse(rd)?;
    // The path as written: aiocoap's RD serves `/endpoint-lookup/` (a last, empty segment)
    // and answers 4.04 for `/endpoint-lookup`, which `Url` would make of it.
    let written = rd
        .strip_prefix("coap://")
        .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
        .filter(|p| *p != "/");
    let mut client = Client::new(url)?;
    let path = match written {
        Some(path) => path.to_string(),
        None => {
            client.set_path(&[".well-known", "core"]);
            let links = get_links(&mut client, rd, "/.well-known/core")?;
            lookup_path(&links).ok_or_else(|| {
                anyhow!("{rd} lists no endpoint lookup (rt=\"core.rd-lookup-ep\") in /.well-known/core: is it a Resource Directory?")
            })?
        }
    };
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    client.set_path(&segments);
    client.set_query(&query(filters));
    let links = get_links(&mut client, rd, "the endpoint lookup")?;
    let mut endpoints = Vec::with_capacity(links.len());
    for link in links {
        match endpoint(&link) {
            Ok(e) => endpoints.push(e),
            Err(e) => eprintln!("warning: {rd}: registration <{}> ignored: {e}", link.target),
        }
    }
    endpoints.sort_by(|a, b| a.ep.cmp(&b.ep));
    endpoints.dedup_by(|a, b| a.ep == b.ep);
    Ok(endpoints)
}

/// The filters as the lookup's Uri-Query options (`name=hello`, one option each, RFC 9176 §6).
fn query(filters: &[Filter]) -> Vec<String> {
    filters
        .iter()
        .map(|f| format!("{}={}", f.key, f.value))
        .collect()
}

/// GETs the client's current path and parses the answer as link-format.
fn get_links(client: &mut Client, rd: &str, what: &str) -> Result<Vec<Link>> {
    let reply = client
        .request(trevm_coap::message::code::GET, Vec::new(), 1024, |_, _| {})
        .with_context(|| format!("asking the RD {rd}"))?;
    if !reply.is_success() {
        bail!("the RD {rd} answered {} for {what}", reply.describe());
    }
    let text = std::str::from_utf8(&reply.payload)
        .map_err(|_| anyhow!("the RD {rd} answered {what} with bytes that are not UTF-8"))?;
    link_format::parse(text).with_context(|| format!("the RD {rd}'s answer for {what}"))
}

/// The path of the endpoint lookup resource among an RD's links: a path (`/endpoint-lookup/`,
/// its empty last segment kept) or the path of a `coap://` URI.
fn lookup_path(links: &[Link]) -> Option<String> {
    let link = links.iter().find(|l| l.lists("rt", "core.rd-lookup-ep"))?;
    let target = link.target.as_str();
    let path = match target.strip_prefix("coap://") {
        Some(rest) => &rest[rest.find('/')?..],
        None => target,
    };
    path.starts_with('/').then(|| path.to_string())
}

/// One registration link as a device.
fn endpoint(link: &Link) -> Result<Endpoint, String> {
    let ep = link.get("ep").ok_or("it has no `ep`")?;
    let base = link.get("base").ok_or("it has no `base`")?;
    if !base.starts_with("coap://") {
        return Err(format!("its base `{base}` is not a coap:// URI"));
    }
    if ep.is_empty() || ep.chars().any(char::is_control) {
        return Err("its `ep` is empty or has control characters".into());
    }
    Ok(Endpoint {
        ep: ep.to_string(),
        base: base.trim_end_matches('/').to_string(),
        params: link.params.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lookup_resource_is_found_among_the_rds_links() {
        let links = link_format::parse(
            "</.well-known/core>;ct=\"40\",</resourcedirectory/>;ct=\"40\";rt=\"core.rd\",\
             </endpoint-lookup/>;ct=\"40\";rt=\"core.rd-lookup-ep\";obs",
        )
        .unwrap();
        assert_eq!(lookup_path(&links).as_deref(), Some("/endpoint-lookup/"));
        let links = link_format::parse("<coap://rd:1/ep-l>;rt=\"x core.rd-lookup-ep\"").unwrap();
        assert_eq!(lookup_path(&links).as_deref(), Some("/ep-l"));
        let links = link_format::parse("</a>;rt=\"core.rd\"").unwrap();
        assert_eq!(lookup_path(&links), None);
    }

    #[test]
    fn registrations_without_a_name_or_a_coap_base_are_refused() {
        let links = link_format::parse(
            "</reg/1/>;ep=\"d1\";base=\"coap://127.0.0.1:5/\",</reg/2/>;base=\"coap://h\",\
             </reg/3/>;ep=\"d3\",</reg/4/>;ep=\"d4\";base=\"http://h\"",
        )
        .unwrap();
        let e = endpoint(&links[0]).unwrap();
        assert_eq!(
            (e.ep.as_str(), e.base.as_str()),
            ("d1", "coap://127.0.0.1:5")
        );
        assert!(endpoint(&links[1]).unwrap_err().contains("no `ep`"));
        assert!(endpoint(&links[2]).unwrap_err().contains("no `base`"));
        assert!(endpoint(&links[3]).unwrap_err().contains("not a coap://"));
    }

    #[test]
    fn filters_are_key_equals_value() {
        let f: Filter = "name=hello".parse().unwrap();
        assert_eq!((f.key.as_str(), f.value.as_str()), ("name", "hello"));
        let g: Filter = "version=2026*".parse().unwrap();
        assert_eq!(query(&[f, g]), ["name=hello", "version=2026*"]);
        assert!("name".parse::<Filter>().is_err());
        assert!("=x".parse::<Filter>().is_err());
        assert!("a=b&c=d".parse::<Filter>().is_err());
    }
}
