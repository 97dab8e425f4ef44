//! Whether a name can be the new crate's (and so the capsule's) name.

/// The longest name accepted (crates.io's limit).
const MAX_LEN: usize = 64;

/// Names a library crate cannot have: Rust keywords, and the crates of the standard library
/// (a capsule named `core` would shadow it).
const RESERVED: &[&str] = &[
    "as",
    "async",
    "await",
    "break",
    "const",
    "continue",
    "crate",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "fn",
    "for",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "match",
    "mod",
    "move",
    "mut",
    "pub",
    "ref",
    "return",
    "self",
    "Self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
    "abstract",
    "become",
    "box",
    "do",
    "final",
    "gen",
    "macro",
    "override",
    "priv",
    "try",
    "typeof",
    "unsized",
    "virtual",
    "yield",
    "alloc",
    "core",
    "proc_macro",
    "proc-macro",
    "std",
    "test",
];

/// `Ok` when `name` is a valid crate name: 1 to 64 ASCII letters, digits, `-` and `_`,
/// starting with a letter, and not a Rust keyword or a standard library crate. The error says
/// what is wrong.
pub(crate) fn check(name: &str) -> Result<(), String> {
    let Some(first) = name.chars().next() else {
        return Err("the name is empty".into());
    };
    if name.len() > MAX_LEN {
        return Err(format!("`{name}` is longer than {MAX_LEN} characters"));
    }
    if !first.is_ascii_alphabetic() {
        return Err(format!("`{name}` must start with a letter"));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(format!(
            "`{name}` has `{bad}`: a crate name has only letters, digits, `-` and `_`"
        ));
    }
    if RESERVED.contains(&name) {
        return Err(format!(
            "`{name}` is a Rust keyword or a standard library crate"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn crate_names_are_checked() {
        for good in ["hello", "my-capsule", "a_b", "x1", "Blinky"] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("1st", "start with a letter"),
            ("-x", "start with a letter"),
            ("héllo", "has `é`"),
            ("two words", "has ` `"),
            ("a/b", "has `/`"),
            ("core", "standard library"),
            ("fn", "keyword"),
        ] {
            let err = check(bad).expect_err(bad);
            assert!(err.contains(why), "{bad}: {err}");
        }
        assert!(check(&"a".repeat(65)).is_err_and(|e| e.contains("longer than 64")));
        assert_eq!(check(&"a".repeat(64)), Ok(()));
    }
}
