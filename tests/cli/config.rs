//! Bad configuration and bad usage: exit 2 with a message naming the file and the key.

use crate::common::{Env, stderr};

fn assert_config_error(config: &str, args: &[&str], expected: &[&str]) {
    let env = Env::new(config);
    let out = env.run(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for needle in expected {
        assert!(err.contains(needle), "missing {needle:?} in: {err}");
    }
}

#[test]
fn unknown_key_is_exit_2_naming_file_and_key() {
    assert_config_error(
        "state_dir = \"s\"\ncolour = \"blue\"\n",
        &["check"],
        &["dbward.toml", "unknown field `colour`", "line 2"],
    );
}

#[test]
fn wrong_type_is_exit_2_naming_the_key() {
    assert_config_error(
        "[[source]]\nname = \"a\"\nengine = \"postgres\"\nport = \"fivefourthreetwo\"\n",
        &["backup"],
        &["dbward.toml", "port", "expected u16"],
    );
}

#[test]
fn unset_secret_variable_is_exit_2_naming_the_key() {
    assert_config_error(
        "[[source]]\nname = \"a\"\nengine = \"postgres\"\npassword = { env = \"DBWARD_CLI_TEST_UNSET_VARIABLE\" }\n",
        &["backup"],
        &[
            "[[source]] \"a\": key `password`",
            "DBWARD_CLI_TEST_UNSET_VARIABLE is not set",
        ],
    );
}

#[test]
fn missing_config_file_is_exit_2() {
    let env = Env::new("");
    let out = std::process::Command::new(crate::common::binary())
        .args(["--config"])
        .arg(env.path("nope.toml"))
        .arg("list")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("nope.toml: cannot read config file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unknown_schedule_and_source_are_usage_errors() {
    let config = "state_dir = \"state\"\n[[source]]\nname = \"a\"\nengine = \"sqlite\"\npath = \"a.db\"\n[[destination]]\nname = \"d\"\ntype = \"fs\"\npath = \"b\"\n";
    assert_config_error(
        config,
        &["backup", "--schedule", "weekly"],
        &["no [[schedule]] named \"weekly\""],
    );
    assert_config_error(
        config,
        &["backup", "--source", "zzz"],
        &["no [[source]] named \"zzz\""],
    );
    assert_config_error(
        config,
        &["list", "--status", "great"],
        &["--status \"great\""],
    );
}

#[test]
fn init_writes_a_valid_private_config_and_never_overwrites() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new("");
    let target = env.path("new.toml");
    let out = std::process::Command::new(crate::common::binary())
        .arg("init")
        .arg(&target)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::metadata(&target).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let again = std::process::Command::new(crate::common::binary())
        .arg("init")
        .arg(&target)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("exists already"));
}
