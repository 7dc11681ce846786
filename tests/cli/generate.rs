//! Shell completions and the man page come from the parser's own command definition: bash
//! loads the completions and completes a command, and the man page names every command.

use std::process::Command;

use crate::common::{binary, stderr, stdout};

#[test]
fn bash_loads_the_completions_and_completes_a_command() {
    let script = format!(
        "source <('{}' completions bash) && complete -p dbward && \
         COMP_WORDS=(dbward rest) COMP_CWORD=1 && _dbward dbward rest dbward && echo \"${{COMPREPLY[@]}}\"",
        binary().display()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("complete") && text.contains("dbward"),
        "{text}"
    );
    assert!(
        text.lines()
            .last()
            .unwrap_or_default()
            .split_whitespace()
            .any(|w| w == "restore"),
        "{text}"
    );
}

#[test]
fn the_man_page_is_roff_and_names_every_command() {
    let out = Command::new(binary()).arg("man").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let page = stdout(&out);
    assert!(page.contains(".TH dbward 1"), "{page}");
    for command in [
        "init",
        "check",
        "backup",
        "list",
        "show",
        "restore",
        "verify",
        "key",
        "audit",
        "catalog",
        "prune",
        "status",
        "completions",
    ] {
        assert!(
            page.contains(command),
            "the man page does not name {command}"
        );
    }
}
