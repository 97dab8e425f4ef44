//! The files of a new capsule crate, from the templates in `templates/` and the world's WIT.

use std::path::PathBuf;

use super::wit;
use super::worlds::World;

/// `wit-bindgen`'s version in the new crate's `Cargo.toml`: the one `trevm-guest` and the example
/// payloads use (a unit test checks that it matches trevm-guest's).
pub(crate) const WIT_BINDGEN: &str = "0.61";

const CARGO_TOML: &str = include_str!("../../templates/Cargo.toml.in");
const README: &str = include_str!("../../templates/README.md.in");
const CARGO_CONFIG: &str = include_str!("../../templates/cargo-config.toml.in");
const GITIGNORE: &str = include_str!("../../templates/gitignore.in");

/// What a new crate's files are made of.
#[derive(Debug)]
pub(crate) struct Crate<'a> {
    /// The crate's (and the capsule's) name, already checked.
    pub(crate) name: &'a str,
    /// Its world.
    pub(crate) world: &'a World,
    /// `trevm-guest`'s path as its `Cargo.toml` names it.
    pub(crate) trevm_guest: &'a str,
    /// `trevm-coap`'s, for worlds that need it.
    pub(crate) trevm_coap: Option<&'a str>,
}

impl Crate<'_> {
    /// Every file of the crate: (path inside the crate, contents).
    pub(crate) fn files(&self) -> Vec<(PathBuf, String)> {
        let mut files = vec![
            (PathBuf::from("Cargo.toml"), self.fill(CARGO_TOML)),
            (PathBuf::from("README.md"), self.fill(README)),
            (PathBuf::from("src/lib.rs"), self.fill(self.world.lib_rs)),
            (
                PathBuf::from(".cargo/config.toml"),
                CARGO_CONFIG.to_string(),
            ),
            (PathBuf::from(".gitignore"), GITIGNORE.to_string()),
            (
                PathBuf::from(format!("wit/{}.wit", self.world.wit_world)),
                self.world.wit.to_string(),
            ),
        ];
        for (file, text) in wit::ARIEL_DEPS {
            files.push((
                PathBuf::from("wit/deps/ariel").join(file),
                (*text).to_string(),
            ));
        }
        files
    }

    /// `template` with its `{{…}}` placeholders filled in.
    fn fill(&self, template: &str) -> String {
        let w = self.world;
        let extra_deps = match self.trevm_coap {
            Some(path) => format!(
                "# The CoAP message format only (to decode requests): beside trevm-guest.\n\
                 trevm-coap = {{ path = \"{}\", default-features = false }}\n",
                toml_escape(path)
            ),
            None => String::new(),
        };
        let after_push = if w.after_push.is_empty() {
            String::new()
        } else {
            format!(" Then:\n\n```sh\n{}\n```", w.after_push)
        };
        let replacements: [(&str, String); 16] = [
            ("{{trevm_guest}}", toml_escape(self.trevm_guest)),
            ("{{guest_features}}", w.guest_features.to_string()),
            ("{{wit_bindgen}}", WIT_BINDGEN.to_string()),
            ("{{extra_deps}}", extra_deps),
            ("{{initial_memory}}", w.initial_memory.to_string()),
            ("{{stack_size}}", w.stack_size.to_string()),
            ("{{wit_world}}", w.wit_world.to_string()),
            ("{{world}}", w.name.to_string()),
            ("{{summary}}", w.summary.to_string()),
            ("{{run_args}}", w.run_args.to_string()),
            ("{{run_says}}", w.run_says.to_string()),
            ("{{serve_args}}", w.serve_args.to_string()),
            ("{{push_to}}", w.push_to.to_string()),
            ("{{after_push}}", after_push),
            ("{{on_a_device}}", w.on_a_device.to_string()),
            // Last: the texts above may name the crate.
            ("{{name}}", self.name.to_string()),
        ];
        let mut out = template.to_string();
        for (key, value) in &replacements {
            out = out.replace(key, value);
        }
        out
    }
}

/// `s` inside a TOML basic string (`"…"`).
fn toml_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::new::worlds::WORLDS;

    #[test]
    fn every_placeholder_of_every_world_is_filled() {
        for world in WORLDS {
            let krate = Crate {
                name: "hello",
                world,
                trevm_guest: "/t/crates/trevm-guest",
                trevm_coap: world.needs_trevm_coap.then_some("/t/crates/trevm-coap"),
            };
            for (path, text) in krate.files() {
                assert!(
                    !text.contains("{{") && !text.contains("}}"),
                    "{}: {path:?} keeps a placeholder",
                    world.name
                );
            }
            let files = krate.files();
            let lib = &files.iter().find(|(p, _)| p.ends_with("lib.rs")).unwrap().1;
            assert!(
                lib.contains(&format!("world: \"{}\"", world.wit_world))
                    && lib.contains("path: \"wit\""),
                "{}: lib.rs generates another world",
                world.name
            );
            assert!(
                world.wit.contains(&format!("world {} {{", world.wit_world)),
                "{}: the WIT file defines another world",
                world.name
            );
        }
    }

    #[test]
    fn wit_bindgen_is_the_version_trevm_guest_uses() {
        let manifest = include_str!("../../../trevm-guest/Cargo.toml");
        assert!(
            manifest.contains(&format!("wit-bindgen = {{ version = \"{WIT_BINDGEN}\"")),
            "trevm-guest's wit-bindgen is not {WIT_BINDGEN}"
        );
    }
}
