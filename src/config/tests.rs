//! Config validation, table-driven: each bad input yields a message naming the key.

use std::path::Path;

use super::*;

const GOOD: &str = r#"
state_dir = "state"
[[source]]
name = "pg"
engine = "postgres"
password = { file = "pg.secret" }
databases = ["app_*"]
[[source]]
name = "lite"
engine = "sqlite"
path = "data/app.db"
[[destination]]
name = "local"
type = "fs"
path = "/var/backups/dbward"
[[schedule]]
name = "nightly"
cron = "0 2 * * *"
timezone = "Europe/Berlin"
sources = ["pg", "lite"]
destinations = ["local"]
retention = { last = 3, daily = 7 }
rpo = "26h"
"#;

/// Parses as a command that connects does: unreadable secrets are errors.
fn parse(text: &str) -> Result<Config, String> {
    let config =
        Config::parse(Path::new("/etc/dbward/test.toml"), text).map_err(|e| e.to_string())?;
    config.require_secrets().map_err(|e| e.to_string())?;
    Ok(config)
}

#[test]
fn a_full_config_validates_and_anchors_relative_paths() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pg.secret"), "pw-from-file\n").unwrap();
    let config = Config::parse(&dir.path().join("dbward.toml"), GOOD).unwrap();
    assert_eq!(config.state_dir, dir.path().join("state"));
    match &config.sources[0].connection {
        Connection::Server { password, .. } => {
            use dbward_core::secret::ExposeSecret;
            assert_eq!(password.as_ref().unwrap().expose_secret(), "pw-from-file");
        }
        other => panic!("{other:?}"),
    }
    match &config.sources[1].connection {
        Connection::File { path } => assert_eq!(path, &dir.path().join("data/app.db")),
        other => panic!("{other:?}"),
    }
    let schedule = &config.schedules[0];
    assert_eq!(schedule.compression, Compression::Zstd { level: 3 });
    assert_eq!(
        schedule.rpo,
        Some(std::time::Duration::from_secs(26 * 3600))
    );
    assert!(!format!("{config:?}").contains("pw-from-file"));
}

#[test]
fn errors_name_the_key_and_what_is_expected() {
    let cases: &[(&str, &str)] = &[
        ("colour = 1", "unknown field `colour`"),
        (
            "[[source]]\nname = \"a\"\nengine = \"oracle\"",
            "[[source]] \"a\": key `engine`: unknown engine \"oracle\"",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"postgres\"\nport = \"x\"",
            "invalid type: string \"x\", expected u16",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"postgres\"\npassword = { env = \"DBWARD_SURELY_UNSET_VAR\" }",
            "[[source]] \"a\": key `password`: environment variable DBWARD_SURELY_UNSET_VAR is not set",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"postgres\"\npassword = { file = \"/nonexistent/pw\" }",
            "key `password`: cannot read secret file /nonexistent/pw",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"sqlite\"",
            "[[source]] \"a\": key `path`: required for engine sqlite",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"sqlite\"\npath = \"x\"\nhost = \"h\"",
            "key `host`: not used by engine sqlite",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"postgres\"\nformat = \"tar\"",
            "key `format`: expected \"custom\" or \"plain\"",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"mariadb\"\npitr = true\npitr_drill_marker = true\ndatabases = [\"shop\"]\n[[destination]]\nname = \"d\"\ntype = \"fs\"\npath = \"/x\"\n[[schedule]]\nname = \"n\"\nsources = [\"a\"]\ndestinations = [\"d\"]\nverify = \"drill\"\n[[source]]\nname = \"b\"\nengine = \"sqlite\"\npath = \"x\"\npitr = true",
            "[[source]] \"b\": key `pitr`: not used by engine sqlite; remove it",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"sqlite\"\npath = \"x\"\npitr = false",
            "[[source]] \"a\": key `pitr`: not used by engine sqlite; remove it",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"postgres\"\npitr = true\ndatabases = [\"shop\"]",
            "[[source]] \"a\": key `databases`: not used with pitr = true (a base backup holds the whole cluster); remove it",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"postgres\"\npitr = true\n[[destination]]\nname = \"d\"\ntype = \"fs\"\npath = \"/x\"\n[[schedule]]\nname = \"n\"\nsources = [\"a\"]\ndestinations = [\"d\"]\nverify = \"drill\"",
            "[[schedule]] \"n\": key `verify`: \"drill\" cannot restore the base backups of source \"a\" (pitr = true) into a database",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"postgres\"\npitr = true\nformat = \"plain\"",
            "key `format`: not used with pitr = true",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"postgres\"\nwal_archive_interval = \"5m\"",
            "[[source]] \"a\": key `wal_archive_interval`: only used with pitr = true; remove it or set pitr = true",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"postgres\"\npitr = true\nwal_archive_interval = \"soon\"",
            "[[source]] \"a\": key `wal_archive_interval`: ",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"mariadb\"\npitr_drill_marker = true",
            "[[source]] \"a\": key `pitr_drill_marker`: only used with pitr = true; remove it or set pitr = true",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"sqlite\"\npath = \"x\"\nexclude_tables = [\"t\"]",
            "key `exclude_tables`: not used by engine sqlite",
        ),
        (
            "[catalog]\nurl = \"mysql://u:hunter2@h/db\"",
            "[catalog] key `url`: expected postgres://user:password@host:port/database",
        ),
        (
            "[catalog]\nurl = { env = \"DBWARD_TEST_UNSET_CATALOG_URL\" }",
            "[catalog] key `url`: environment variable DBWARD_TEST_UNSET_CATALOG_URL is not set",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"sqlite\"\npath = \"x\"\n[[destination]]\nname = \"d\"\ntype = \"fs\"\npath = \"/x\"\n[[schedule]]\nname = \"n\"\nsources = [\"a\"]\ndestinations = [\"d\"]\n[[schedule.assert]]\nsql = \"SELECT 1\"",
            "key `assert`: \"SELECT 1\" needs `min` or `equals`",
        ),
        (
            "[drill]\npostgres = { host = \"h\", socket = \"/s\" }",
            "[drill] key `postgres`: `socket` is not used by engine postgres",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"sqlite\"\npath = \"x\"\ntls = \"require\"",
            "[[source]] \"a\": key `tls`: not used by engine sqlite; remove it",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"postgres\"\ntls = \"verify\"",
            "[[source]] \"a\": key `tls`: expected \"disable\", \"prefer\", \"require\", \"verify-ca\" or \"verify-full\", found \"verify\"",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"mariadb\"\ntls = \"verify-full\"",
            "[[source]] \"a\": key `ca_file`: required with tls = \"verify-full\": the CA certificate (PEM) that signed the server's certificate",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"postgres\"\nca_file = \"ca.pem\"",
            "[[source]] \"a\": key `ca_file`: used only with tls = \"verify-ca\" or \"verify-full\"",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"postgres\"\ntls = \"require\"\nclient_cert = \"c.pem\"",
            "[[source]] \"a\": key `client_key`: required with client_cert",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"mysql\"\ntls = \"disable\"\nclient_cert = \"c.pem\"\nclient_key = \"k.pem\"",
            "[[source]] \"a\": key `client_cert`: not used with tls = \"disable\"",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"postgres\"\ntls = \"verify-ca\"\nca_file = \"/nonexistent/ca.pem\"",
            "[[source]] \"a\": key `ca_file`: cannot read /nonexistent/ca.pem:",
        ),
        (
            "[drill]\npostgres = { host = \"h\", tls = \"verify-ca\" }",
            "[drill] key `postgres`: `ca_file`: required with tls = \"verify-ca\"",
        ),
        (
            "[[destination]]\nname = \"d\"\ntype = \"ftp\"",
            "[[destination]] \"d\": key `type`: unknown type \"ftp\"",
        ),
        (
            "[[destination]]\nname = \"d\"\ntype = \"fs\"\npath = \"/x\"\nverify_upload = \"md5\"",
            "key `verify_upload`: expected \"size\" or \"checksum\"",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"sqlite\"\npath = \"x\"\n[[source]]\nname = \"a\"\nengine = \"sqlite\"\npath = \"y\"",
            "[[source]] name \"a\" is used twice",
        ),
        (
            "[[schedule]]\nname = \"n\"\ncron = \"0 2 * * *\"\nsources = [\"nope\"]\ndestinations = []",
            "[[schedule]] \"n\": key `sources`: no [[source]] named \"nope\"",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"sqlite\"\npath = \"x\"\n[[destination]]\nname = \"d\"\ntype = \"fs\"\npath = \"/x\"\n[[schedule]]\nname = \"n\"\ncron = \"61 * * * *\"\nsources = [\"a\"]\ndestinations = [\"d\"]",
            "[[schedule]] \"n\": key `cron`: invalid cron expression \"61 * * * *\"",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"sqlite\"\npath = \"x\"\n[[destination]]\nname = \"d\"\ntype = \"fs\"\npath = \"/x\"\n[[schedule]]\nname = \"n\"\ndrill = \"every sunday\"\nsources = [\"a\"]\ndestinations = [\"d\"]",
            "[[schedule]] \"n\": key `drill`: invalid cron expression \"every sunday\"",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"sqlite\"\npath = \"x\"\n[[destination]]\nname = \"d\"\ntype = \"fs\"\npath = \"/x\"\n[[schedule]]\nname = \"n\"\nverify = \"full\"\nsources = [\"a\"]\ndestinations = [\"d\"]",
            "[[schedule]] \"n\": key `verify`: expected \"checksum\", \"structural\" or \"drill\", found \"full\"",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"sqlite\"\npath = \"x\"\n[[destination]]\nname = \"d\"\ntype = \"fs\"\npath = \"/x\"\n[[schedule]]\nname = \"n\"\nrto = \"an hour\"\nsources = [\"a\"]\ndestinations = [\"d\"]",
            "[[schedule]] \"n\": key `rto`: invalid duration \"an hour\"",
        ),
        (
            "[[destination]]\nname = \"g\"\ntype = \"gcs\"\nbucket = \"b\"\nanonymous = true\ncredential = \"{}\"",
            "[[destination]] \"g\": key `anonymous`: unsigned requests take no credential or credential_path",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"sqlite\"\npath = \"x\"\n[[destination]]\nname = \"d\"\ntype = \"fs\"\npath = \"/x\"\n[[schedule]]\nname = \"n\"\nverify = \"drill\"\nsources = [\"a\"]\ndestinations = [\"d\"]\n[encryption]\nrecipients = [\"age1eyr59z63tkg7ps4zs038dn7y768zcyn95k94yj8xhc8zx68awuhqja3qjq\"]",
            "[[schedule]] \"n\": key `verify`: \"drill\" reads the encrypted backups, and [encryption] has only public recipients",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"sqlite\"\npath = \"x\"\n[[destination]]\nname = \"d\"\ntype = \"fs\"\npath = \"/x\"\n[[schedule]]\nname = \"n\"\ntimezone = \"Mars/Olympus\"\nsources = [\"a\"]\ndestinations = [\"d\"]",
            "key `timezone`: unknown time zone \"Mars/Olympus\"",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"sqlite\"\npath = \"x\"\n[[destination]]\nname = \"d\"\ntype = \"fs\"\npath = \"/x\"\n[[schedule]]\nname = \"n\"\nsources = [\"a\"]\ndestinations = [\"d\"]\nretention = {}",
            "key `retention`: keeps nothing",
        ),
        (
            "[[source]]\nname = \"a\"\nengine = \"sqlite\"\npath = \"x\"\n[[destination]]\nname = \"d\"\ntype = \"fs\"\npath = \"/x\"\n[[schedule]]\nname = \"n\"\nsources = [\"a\"]\ndestinations = [\"d\"]\nrpo = \"soon\"",
            "key `rpo`: invalid duration \"soon\"",
        ),
        (
            "[integrity]\ntrusted_keys = [\"ssh-ed25519 AAAA\"]",
            "[integrity] key `trusted_keys` entry 1: \"ssh-ed25519 AAAA\" is not a dbward public key: expected dbward-ed25519: and 64 hex digits",
        ),
        (
            "[integrity]\nsigning_keys = \"k\"",
            "unknown field `signing_keys`",
        ),
        (
            "[[source]]\nname = \"m\"\nengine = \"sqlite\"\npath = \"x\"\nglobals = true",
            "[[source]] \"m\": key `globals`: not used by engine sqlite",
        ),
        (
            "[[source]]\nname = \"p\"\nengine = \"postgres\"\npitr = true\nglobals = true",
            "[[source]] \"p\": key `globals`: not used with pitr = true",
        ),
        (
            "[[source]]\nname = \"p\"\nengine = \"postgres\"\nglobals_passwords = false",
            "[[source]] \"p\": key `globals_passwords`: only used with globals = true",
        ),
    ];
    for (text, expected) in cases {
        let err = parse(text).expect_err(text);
        assert!(
            err.starts_with("/etc/dbward/test.toml: "),
            "file not named: {err}"
        );
        assert!(
            err.contains(expected),
            "for {text:?}\n got: {err}\nwant: {expected}"
        );
    }
}

#[test]
fn compression_levels_by_table() {
    let base = "[[source]]\nname = \"lite\"\nengine = \"sqlite\"\npath = \"a.db\"\n\
                [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"b\"\n\
                [[schedule]]\nname = \"n\"\nsources = [\"lite\"]\ndestinations = [\"local\"]\n";
    let cases: &[(&str, Result<Compression, &str>)] = &[
        ("", Ok(Compression::Zstd { level: 3 })),
        ("compression_level = 7", Ok(Compression::Zstd { level: 7 })),
        ("compression_level = \"auto\"", Ok(Compression::ZstdAuto)),
        (
            "compression = \"zstd\"\ncompression_level = \"auto\"",
            Ok(Compression::ZstdAuto),
        ),
        ("compression = \"gzip\"", Ok(Compression::Gzip { level: 6 })),
        (
            "compression_level = 20",
            Err("key `compression_level`: zstd takes 1 to 19"),
        ),
        (
            "compression_level = \"fast\"",
            Err("key `compression_level`: expected 1 to 19 or \"auto\", found \"fast\""),
        ),
        (
            "compression = \"gzip\"\ncompression_level = \"auto\"",
            Err("key `compression_level`: expected a number, found \"auto\""),
        ),
    ];
    for (keys, expected) in cases {
        let parsed = parse(&format!("{base}{keys}\n")).map(|c| c.schedules[0].compression);
        match (parsed, expected) {
            (Ok(found), Ok(want)) => assert_eq!(found, *want, "{keys}"),
            (Err(found), Err(want)) => assert!(found.contains(want), "{keys}: {found}"),
            (found, want) => panic!("{keys}: {found:?}, expected {want:?}"),
        }
    }
}

#[test]
fn integrity_defaults_to_a_key_in_the_state_dir_and_parses_trusted_keys() {
    let config = parse("state_dir = \"/var/lib/dbward\"").unwrap();
    assert_eq!(
        config.integrity.signing_key,
        Path::new("/var/lib/dbward/keys/signing.key")
    );
    assert!(config.integrity.trusted_keys.is_empty());
    let key = dbward_core::signing::SigningKey::generate()
        .unwrap()
        .public();
    let config = parse(&format!(
        "[integrity]\nsigning_key = \"keys/host.key\"\ntrusted_keys = [\"{key}\"]"
    ))
    .unwrap();
    assert_eq!(
        config.integrity.signing_key,
        Path::new("/etc/dbward/keys/host.key")
    );
    assert_eq!(config.integrity.trusted_keys, [key]);
}

#[test]
fn a_config_without_schedules_backs_up_every_source_to_every_destination() {
    let config = parse(
        "[[source]]\nname = \"a\"\nengine = \"sqlite\"\npath = \"x\"\n[[destination]]\nname = \"d\"\ntype = \"fs\"\npath = \"/x\"",
    )
    .unwrap();
    assert_eq!(config.schedules.len(), 1);
    assert_eq!(config.schedules[0].sources, ["a"]);
    assert_eq!(config.schedules[0].destinations, ["d"]);
}

#[test]
fn inline_secrets_never_show_in_debug() {
    let config =
        parse("[[source]]\nname = \"a\"\nengine = \"postgres\"\npassword = \"hunter2-inline\"")
            .unwrap();
    assert!(!format!("{config:?}").contains("hunter2"));
}

#[test]
fn tls_settings_default_to_prefer_and_anchor_their_files_at_the_config() {
    use dbward_core::tls::{TlsMode, TlsSettings};
    let dir = tempfile::tempdir().unwrap();
    for file in ["ca.pem", "client.pem", "client.key"] {
        std::fs::write(dir.path().join(file), "x").unwrap();
    }
    let config = Config::parse(
        &dir.path().join("dbward.toml"),
        "[[source]]\nname = \"pg\"\nengine = \"postgres\"\n\
         tls = \"verify-full\"\nca_file = \"ca.pem\"\n\
         client_cert = \"client.pem\"\nclient_key = \"client.key\"\n\
         [[source]]\nname = \"m\"\nengine = \"mariadb\"\n\
         [drill]\nmysql = { host = \"h\", tls = \"require\" }",
    )
    .unwrap();
    let tls = |c: &Connection| match c {
        Connection::Server { tls, .. } => tls.clone(),
        other => panic!("{other:?}"),
    };
    let pg = tls(&config.sources[0].connection);
    assert_eq!(pg.mode, TlsMode::VerifyFull);
    assert_eq!(pg.ca_file, Some(dir.path().join("ca.pem")));
    let client = pg.client.unwrap();
    assert_eq!(
        (client.cert, client.key),
        (dir.path().join("client.pem"), dir.path().join("client.key"))
    );
    assert_eq!(tls(&config.sources[1].connection), TlsSettings::default());
    assert_eq!(
        tls(config.drill.mysql.as_ref().unwrap()).mode,
        TlsMode::Require
    );
}

#[test]
fn the_catalog_url_never_shows_in_debug_and_is_named_as_inline() {
    let config =
        parse("[catalog]\nurl = \"postgres://dbward:hunter3-pw@db.example.com/dbward\"").unwrap();
    assert!(config.catalog_url.is_some());
    let debug = format!("{config:?}");
    assert!(
        !debug.contains("hunter3") && !debug.contains("db.example.com"),
        "{debug}"
    );
    assert_eq!(config.inline_secrets, ["[catalog] url"]);
}

#[test]
fn connection_secrets_are_deferred_until_required() {
    let config = Config::parse(
        Path::new("/etc/dbward/test.toml"),
        "[[source]]\nname = \"a\"\nengine = \"postgres\"\npassword = { env = \"DBWARD_SURELY_UNSET_VAR\" }\n\
         [[destination]]\nname = \"s\"\ntype = \"s3\"\nbucket = \"b\"\n\
         access_key_id = { env = \"DBWARD_SURELY_UNSET_KEY\" }\nsecret_access_key = { file = \"/nonexistent/sk\" }",
    )
    .expect("loads without the secrets");
    assert_eq!(
        config.unresolved_secrets,
        [
            "[[source]] \"a\": key `password`: environment variable DBWARD_SURELY_UNSET_VAR is not set",
            "[[destination]] \"s\": key `access_key_id`: environment variable DBWARD_SURELY_UNSET_KEY is not set",
            "[[destination]] \"s\": key `secret_access_key`: cannot read secret file /nonexistent/sk: No such file or directory (os error 2)",
        ]
    );
    let err = config.require_secrets().unwrap_err().to_string();
    assert_eq!(
        err,
        "/etc/dbward/test.toml: [[source]] \"a\": key `password`: environment variable DBWARD_SURELY_UNSET_VAR is not set"
    );
}

#[test]
fn daemon_and_http_errors_name_the_key() {
    let cases: &[(&str, &str)] = &[
        (
            "[daemon]\nmax_jobs = 0",
            "[daemon] key `max_jobs`: expected at least 1",
        ),
        (
            "[daemon]\nmax_jobs_per_source = 0",
            "[daemon] key `max_jobs_per_source`: expected at least 1",
        ),
        (
            "[daemon]\nmax_jobs_per_destination = 0",
            "[daemon] key `max_jobs_per_destination`: expected at least 1",
        ),
        (
            "[daemon]\naudit = \"daily\"",
            "[daemon] key `audit`: invalid cron expression \"daily\"",
        ),
        (
            "[daemon]\ngrace = \"soon\"",
            "[daemon] key `grace`: invalid duration \"soon\"",
        ),
        (
            "[daemon]\nstatus_every = \"0s\"",
            "[daemon] key `status_every`: expected at least 1s",
        ),
        (
            "[daemon]\ntimezone = \"Mars/Olympus\"",
            "[daemon] key `timezone`: unknown time zone \"Mars/Olympus\"",
        ),
        (
            "[daemon]\nlabels = [\"eu west\"]",
            "[daemon] key `labels`: \"eu west\": expected letters",
        ),
        (
            "[http]\nlisten = \"localhost:9187\"",
            "[http] key `listen`: \"localhost:9187\" is not an address to listen on",
        ),
        ("[daemon]\nworkers = 2", "unknown field `workers`"),
    ];
    for (text, expected) in cases {
        let err = parse(text).unwrap_err();
        assert!(err.contains(expected), "{text}: {err}");
    }
}

#[test]
fn daemon_defaults_and_the_http_listener() {
    let config = parse("parallelism = 3").unwrap();
    let daemon = &config.daemon;
    assert_eq!(daemon.max_jobs, 3);
    assert_eq!(daemon.max_jobs_per_source, 1);
    assert_eq!(daemon.max_jobs_per_destination, None);
    assert_eq!(daemon.catch_up, None);
    assert_eq!(daemon.grace, std::time::Duration::from_secs(300));
    assert_eq!(daemon.status_every, std::time::Duration::from_secs(300));
    assert!(daemon.audit.is_some() && daemon.prune.is_some());
    assert_eq!(config.http, None);
    let config = parse("[http]\n[daemon]\naudit = \"off\"\ncatch_up = \"2h\"").unwrap();
    assert_eq!(
        config.http.map(|h| h.listen.to_string()).as_deref(),
        Some("127.0.0.1:9187")
    );
    assert!(config.daemon.audit.is_none());
    assert_eq!(
        config.daemon.catch_up,
        Some(std::time::Duration::from_secs(7200))
    );
    let config = parse("[http]\nlisten = \"0.0.0.0:9000\"").unwrap();
    assert_eq!(config.http.unwrap().listen.to_string(), "0.0.0.0:9000");
}
