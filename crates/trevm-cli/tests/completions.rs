//! `trevm completions` and `trevm man`: generated from the command line's definition, they know
//! every subcommand, and the shells and `man` accept what they print.

use std::process::{Command, Output};

use trevm_testkit::output_text as text;

fn trevm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trevm"))
        .args(args)
        .output()
        .expect("run trevm")
}

/// Some subcommands, old and new.
const SUBCOMMANDS: &[&str] = &[
    "build",
    "run",
    "push",
    "serve",
    "fleet",
    "new",
    "completions",
    "man",
];

/// Whether `program` runs here (zsh and fish are optional).
fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn completion_scripts_name_the_subcommands_and_parse() {
    let dir = tempfile::tempdir().expect("tempdir");
    // (shell, how it checks a script's syntax without running it)
    for (shell, check) in [
        ("bash", Some(("bash", "-n"))),
        ("zsh", Some(("zsh", "-n"))),
        ("fish", Some(("fish", "--no-execute"))),
        ("elvish", None),
        ("powershell", None),
    ] {
        let o = trevm(&["completions", shell]);
        assert!(o.status.success(), "{shell}: {}", text(&o));
        let script = String::from_utf8_lossy(&o.stdout);
        for sub in SUBCOMMANDS {
            assert!(script.contains(sub), "{shell}: no `{sub}` in:\n{script}");
        }
        let Some((program, flag)) = check else {
            continue;
        };
        // bash is always there; zsh and fish only when installed.
        if program != "bash" && !installed(program) {
            continue;
        }
        let file = dir.path().join(format!("trevm.{shell}"));
        std::fs::write(&file, script.as_bytes()).expect("write the script");
        let o = Command::new(program)
            .arg(flag)
            .arg(&file)
            .output()
            .expect("run the shell");
        assert!(o.status.success(), "{program} {flag}: {}", text(&o));
    }
    // The bash script completes `trevm ne` to `new`.
    let file = dir.path().join("trevm.bash");
    let o = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source '{}'; COMP_WORDS=(trevm ne); COMP_CWORD=1; COMP_LINE='trevm ne'; \
             COMP_POINT=8; _trevm trevm ne trevm; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            file.display()
        ))
        .output()
        .expect("bash");
    assert_eq!(String::from_utf8_lossy(&o.stdout), "new\n", "{}", text(&o));

    let o = trevm(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("invalid value 'tcsh'"), "{}", text(&o));
}

#[test]
fn the_manual_page_is_roff_with_every_subcommand() {
    let o = trevm(&["man"]);
    assert!(o.status.success(), "{}", text(&o));
    let page = String::from_utf8_lossy(&o.stdout);
    assert!(page.contains(".TH trevm 1"), "{page}");
    for sub in SUBCOMMANDS {
        assert!(
            page.contains(&format!("trevm\\-{sub}(1)")),
            "no {sub} in:\n{page}"
        );
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let o = trevm(&["man", "--out-dir", dir.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    for page in [
        "trevm.1",
        "trevm-new.1",
        "trevm-fleet-push.1",
        "trevm-completions.1",
    ] {
        let roff = std::fs::read_to_string(dir.path().join(page))
            .unwrap_or_else(|e| panic!("{page}: {e}; {}", text(&o)));
        let title = page.trim_end_matches(".1");
        assert!(roff.contains(&format!(".TH {title} 1")), "{page}:\n{roff}");
        assert!(
            String::from_utf8_lossy(&o.stdout).contains(page),
            "{}",
            text(&o)
        );
    }
    let new = std::fs::read_to_string(dir.path().join("trevm-new.1")).expect("trevm-new.1");
    assert!(new.contains("\\-\\-world"), "{new}");
}
