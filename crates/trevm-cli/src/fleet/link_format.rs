//! RFC 6690 link-format, as a Resource Directory answers a lookup:
//! `</reg/1/>;ep="dev1";base="coap://127.0.0.1:5999";rt="core.rd-ep",</reg/2/>;…`.
//!
//! The answer comes from the network, so the parser never panics and refuses, with the byte
//! offset and what it expected, anything that is not link-format. Values may be quoted (commas,
//! semicolons and `\"` escapes inside quotes are part of the value) or bare tokens; a parameter may
//! have no value (`;obs`). Whitespace (spaces, line breaks) between links and around `;` and `=`
//! is tolerated. Bounds: at most [`MAX_LINKS`] links; every string is a slice of the input's
//! length at most, so memory stays proportional to the (already bounded) answer.

use std::fmt;

/// At most this many links in one document (an RD of a very large fleet answers in pages).
pub(crate) const MAX_LINKS: usize = 100_000;

/// One link: its target and its parameters in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    /// What is between `<` and `>`.
    pub(crate) target: String,
    /// `name` → value (`None` for a parameter without `=`), in the order they came.
    pub(crate) params: Vec<(String, Option<String>)>,
}

impl Link {
    /// The first value of parameter `name` (case-insensitive, as RFC 6690's names are).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_deref())
    }

    /// Whether a space-separated parameter (`rt`, `if`) lists `value`.
    pub(crate) fn lists(&self, name: &str, value: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v.split_ascii_whitespace().any(|t| t == value))
    }
}

/// Why a document is not link-format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkFormatError {
    /// Byte offset in the document.
    pub(crate) offset: usize,
    /// What was expected there.
    pub(crate) expected: &'static str,
}

impl fmt::Display for LinkFormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not link-format: expected {} at byte {}",
            self.expected, self.offset
        )
    }
}

impl std::error::Error for LinkFormatError {}

/// Parses a whole document; an empty (or blank) one has no links.
pub(crate) fn parse(text: &str) -> Result<Vec<Link>, LinkFormatError> {
    let mut p = Parser { text, pos: 0 };
    let mut links = Vec::new();
    p.skip_ws();
    if p.at_end() {
        return Ok(links);
    }
    loop {
        if links.len() == MAX_LINKS {
            return Err(p.error("the end of the document (too many links)"));
        }
        links.push(p.link()?);
        p.skip_ws();
        if p.at_end() {
            return Ok(links);
        }
        p.expect(b',', "`,` between links")?;
        p.skip_ws();
    }
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn error(&self, expected: &'static str) -> LinkFormatError {
        LinkFormatError {
            offset: self.pos,
            expected,
        }
    }

    fn expect(&mut self, byte: u8, what: &'static str) -> Result<(), LinkFormatError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn link(&mut self) -> Result<Link, LinkFormatError> {
        self.expect(b'<', "`<` starting a link")?;
        let start = self.pos;
        while let Some(b) = self.peek() {
            match b {
                b'>' => break,
                b'<' | b'"' | b',' => return Err(self.error("`>` ending the link's target")),
                c if c.is_ascii_whitespace() || c.is_ascii_control() => {
                    return Err(self.error("`>` ending the link's target"));
                }
                _ => self.pos += 1,
            }
        }
        let target = self.text[start..self.pos].to_string();
        self.expect(b'>', "`>` ending the link's target")?;
        let mut params = Vec::new();
        loop {
            self.skip_ws();
            if self.peek() != Some(b';') {
                return Ok(Link { target, params });
            }
            self.pos += 1;
            self.skip_ws();
            params.push(self.param()?);
        }
    }

    fn param(&mut self) -> Result<(String, Option<String>), LinkFormatError> {
        let name = self.token();
        if name.is_empty() {
            return Err(self.error("a parameter name"));
        }
        self.skip_ws();
        if self.peek() != Some(b'=') {
            return Ok((name.to_string(), None));
        }
        self.pos += 1;
        self.skip_ws();
        let value = if self.peek() == Some(b'"') {
            self.quoted()?
        } else {
            let v = self.token();
            if v.is_empty() {
                return Err(self.error("a value (a token or a quoted string)"));
            }
            v.to_string()
        };
        Ok((name.to_string(), Some(value)))
    }

    /// A bare name or value: anything up to a separator, a quote or whitespace.
    fn token(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(|b| {
            !matches!(b, b';' | b',' | b'=' | b'"' | b'<' | b'>')
                && !b.is_ascii_whitespace()
                && !b.is_ascii_control()
        }) {
            self.pos += 1;
        }
        &self.text[start..self.pos]
    }

    fn quoted(&mut self) -> Result<String, LinkFormatError> {
        self.pos += 1; // the opening quote
        let mut value = String::new();
        let mut chars = self.text[self.pos..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(value);
                }
                '\\' => match chars.next() {
                    Some((_, escaped)) => value.push(escaped),
                    None => break,
                },
                c => value.push(c),
            }
        }
        self.pos = self.text.len();
        Err(self.error("`\"` closing a quoted value"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_rd_lookup_answer_parses() {
        let links = parse(
            "</reg/1/>;ep=\"dev1\";et=\"trevm.device\";base=\"coap://127.0.0.1:5999\";\
             rt=\"core.rd-ep\",</reg/2/>;ep=dev2;base=\"coap://[::1]:5683\"",
        )
        .unwrap();
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].target, "/reg/1/");
        assert_eq!(links[0].get("ep"), Some("dev1"));
        assert_eq!(links[0].get("BASE"), Some("coap://127.0.0.1:5999"));
        assert!(links[0].lists("rt", "core.rd-ep"));
        assert_eq!(links[1].get("ep"), Some("dev2"));
        assert_eq!(links[1].get("base"), Some("coap://[::1]:5683"));
    }

    #[test]
    fn separators_and_escapes_inside_quotes_are_part_of_the_value() {
        let links = parse(r#"</a>;title="x, y; z=1 \"q\"";rt="a b",</b>"#).unwrap();
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].get("title"), Some(r#"x, y; z=1 "q""#));
        assert!(links[0].lists("rt", "b"));
        assert!(!links[0].lists("rt", "a b"));
        assert_eq!(links[1].target, "/b");
    }

    #[test]
    fn parameters_without_values_and_whitespace_are_accepted() {
        let links =
            parse("</endpoint-lookup/>;ct=\"40\";rt=\"core.rd-lookup-ep\";obs,\n </x> ; a = 1 \n")
                .unwrap();
        assert_eq!(links[0].params[2], ("obs".into(), None));
        assert_eq!(links[0].get("obs"), None);
        assert_eq!(links[1].get("a"), Some("1"));
        assert_eq!(parse("  \n").unwrap(), Vec::new());
    }

    #[test]
    fn garbage_is_refused_with_where_and_what() {
        for (text, offset) in [
            ("hello", 0),
            ("<a", 2),
            ("</a>;", 5),
            ("</a>;x=", 7),
            ("</a>;x=\"open", 12),
            ("</a> </b>", 5),
            ("</a>,", 5),
            ("</a>;=1", 5),
            ("</a\">", 3),
            ("</a>;x=\"\\", 9),
            ("\u{0}\u{ff}", 0),
        ] {
            let e = parse(text).expect_err(text);
            assert_eq!(e.offset, offset, "{text:?}: {e}");
            assert!(e.to_string().starts_with("not link-format: expected"));
        }
    }

    #[test]
    fn too_many_links_are_refused() {
        let text = vec!["<a>"; MAX_LINKS + 1].join(",");
        let e = parse(&text).unwrap_err();
        assert!(e.to_string().contains("too many links"), "{e}");
        assert_eq!(
            parse(&vec!["<a>"; MAX_LINKS].join(",")).unwrap().len(),
            MAX_LINKS
        );
    }
}
