//! Stored bytes are not trusted before they are proven: a tampered artifact never reaches a
//! loader (MariaDB and PostgreSQL, real servers), and manifests read from storage must be
//! signed by a trusted key and sit at their own key (restore --from, catalog rebuild, audit);
//! `--allow-unsigned`, `key generate --signing` and `check`'s signing key line.

use std::path::Path;
use std::process::{Command, Output};

use dbward_testkit::{MariaServer, PgServer};
use serde_json::Value;

use crate::common::{Env, binary, only_backup, stderr, stdout, unzstd};
use crate::postgres::{pg_env, write_secret};

/// Replaces a zstd artifact with one whose SQL starts with `prefix`, then the original dump.
fn prepend_sql(artifact: &Path, prefix: &str) {
    let plain = artifact.with_extension("plain");
    unzstd(artifact, &plain);
    let mut sql = prefix.as_bytes().to_vec();
    sql.extend(std::fs::read(&plain).unwrap());
    std::fs::write(&plain, sql).unwrap();
    let status = Command::new("zstd")
        .args(["-q", "-f", "-o"])
        .arg(artifact)
        .arg(&plain)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::remove_file(&plain).unwrap();
}

fn artifact_of(env: &Env, backup: &Value) -> std::path::PathBuf {
    env.path("backups")
        .join(backup["copies"][0]["path"].as_str().unwrap())
}

fn manifest_of(env: &Env, backup: &Value) -> std::path::PathBuf {
    let artifact = backup["copies"][0]["path"].as_str().unwrap();
    let (stem, _) = artifact
        .rsplit_once('/')
        .unwrap()
        .1
        .split_once('.')
        .unwrap();
    let folder = artifact.rsplit_once('/').unwrap().0;
    env.path("backups")
        .join(format!("{folder}/{stem}.manifest.json"))
}

/// Rewrites a stored manifest through `edit` (as JSON).
fn edit_manifest(path: &Path, edit: impl FnOnce(&mut Value)) {
    let mut manifest: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    edit(&mut manifest);
    std::fs::write(path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
}

#[test]
fn a_tampered_mariadb_artifact_never_reaches_the_server() {
    let server = MariaServer::shared();
    let db = server.create_database("cli_tamper");
    // About 1.3 MB of random bytes: the artifact spans many reads, so a reader that checks
    // only at the end passes the first ones to the loader.
    db.sql("CREATE TABLE t(id INT, b BLOB); INSERT INTO t SELECT seq, UNHEX(SHA2(seq, 512)) FROM seq_1_to_20000;");
    let env = Env::new(&format!(
        "state_dir = \"state\"\n\
         [[source]]\nname = \"maria\"\nengine = \"mariadb\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\n\
         password = {{ file = \"maria.secret\" }}\ndatabases = [\"{}\"]\n\
         [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n",
        server.host, server.port, server.user, db.name
    ));
    write_secret(&env.path("maria.secret"), &server.password);
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let backup = only_backup(&doc).clone();
    let marker = format!("{}_pwned", db.name);
    let target = format!("{}_restored", db.name);
    prepend_sql(
        &artifact_of(&env, &backup),
        &format!("CREATE DATABASE {marker};\n"),
    );

    let out = env.run(&[
        "restore",
        backup["id"].as_str().unwrap(),
        "--to-database",
        &target,
    ]);
    let exists = |name: &str| {
        server.sql(
            "",
            &format!(
                "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = '{name}'"
            ),
        )
    };
    let (marker_exists, target_exists) = (exists(&marker), exists(&target));
    server.sql("", &format!("DROP DATABASE IF EXISTS {marker}"));
    server.sql("", &format!("DROP DATABASE IF EXISTS {target}"));
    assert_eq!(marker_exists, "0", "the tampered SQL ran: {}", stderr(&out));
    assert_eq!(target_exists, "0", "a half-restored database was left");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("chunk 0 has sha256"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_tampered_postgres_plain_artifact_runs_no_shell_command() {
    let server = PgServer::shared();
    let db = server.create_database("cli_tamper_pg");
    db.sql("CREATE TABLE t(id int, b bytea); INSERT INTO t SELECT i, sha512(i::text::bytea) FROM generate_series(1, 20000) i;");
    let env = pg_env(server, &[&db.name], "format = \"plain\"");
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let backup = only_backup(&doc).clone();
    let pwned = env.path("pwned");
    prepend_sql(
        &artifact_of(&env, &backup),
        &format!("\\! touch {}\n", pwned.display()),
    );
    let target = format!("{}_restored", db.name);
    let out = env.run(&[
        "restore",
        backup["id"].as_str().unwrap(),
        "--to-database",
        &target,
    ]);
    assert!(
        !pwned.exists(),
        "psql ran the tampered shell command: {}",
        stderr(&out)
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("chunk 0 has sha256"),
        "{}",
        stderr(&out)
    );
}

const LITE: &str = "state_dir = \"state\"\n\
    [[source]]\nname = \"lite\"\nengine = \"sqlite\"\npath = \"data/app.db\"\n\
    [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n";

/// A backed-up SQLite database (`lite/app`, 5 rows) under `extra` config.
fn lite(extra: &str) -> (Env, Value) {
    let env = Env::new(&format!("{LITE}{extra}"));
    std::fs::create_dir(env.path("data")).unwrap();
    rusqlite::Connection::open(env.path("data/app.db"))
        .unwrap()
        .execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1),(2),(3),(4),(5);")
        .unwrap();
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let backup = only_backup(&doc).clone();
    (env, backup)
}

fn restore_from(config: &Path, id: &str, to: &str, extra: &[&str]) -> Output {
    Command::new(binary())
        .arg("--config")
        .arg(config)
        .args(["restore", id, "--from", "local", "--to-database", to])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn a_manifest_pointing_at_another_database_is_refused() {
    let (env, backup) = lite("");
    let id = backup["id"].as_str().unwrap();
    let manifest = manifest_of(&env, &backup);
    edit_manifest(&manifest, |m| m["database"] = "other".into());
    let out = env.run(&["restore", id, "--from", "local"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("lite/other/") && stderr(&out).contains("refused"),
        "{}",
        stderr(&out)
    );
    assert!(!env.path("data/other.db").exists());

    // A genuine, signed manifest moved (with its artifact) under another database's folder.
    let (env, backup) = lite("");
    let artifact = artifact_of(&env, &backup);
    let manifest = manifest_of(&env, &backup);
    let folder = manifest.parent().unwrap();
    let elsewhere = env
        .path("backups/lite/other")
        .join(folder.strip_prefix(env.path("backups/lite/app")).unwrap());
    std::fs::create_dir_all(&elsewhere).unwrap();
    for file in [&artifact, &manifest] {
        std::fs::rename(file, elsewhere.join(file.file_name().unwrap())).unwrap();
    }
    let out = env.run(&[
        "restore",
        "--latest",
        "--source",
        "lite",
        "--database",
        "other",
        "--from",
        "local",
        "--to-database",
        "other",
        "--allow-unsigned",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("belongs at lite/app/"),
        "{}",
        stderr(&out)
    );
    assert!(!env.path("data/other.db").exists());
}

#[test]
fn a_manifest_claiming_no_encryption_is_refused() {
    let (env, backup) = lite("[encryption]\npassphrase = \"correct horse\"\n");
    let id = backup["id"].as_str().unwrap();
    edit_manifest(&manifest_of(&env, &backup), |m| {
        assert_eq!(m["encryption"], "age-scrypt");
        m["encryption"] = Value::Null;
    });
    for extra in [&[][..], &["--allow-unsigned"]] {
        let out = restore_from(&env.config(), id, "plain", extra);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(stderr(&out).contains("altered"), "{}", stderr(&out));
    }
    assert!(!env.path("data/plain.db").exists());
}

#[test]
fn an_unsigned_manifest_needs_allow_unsigned() {
    let (env, backup) = lite("");
    let id = backup["id"].as_str().unwrap();
    edit_manifest(&manifest_of(&env, &backup), |m| {
        m.as_object_mut().unwrap().remove("signature");
    });
    let out = restore_from(&env.config(), id, "copy", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("unsigned") && stderr(&out).contains("--allow-unsigned"),
        "{}",
        stderr(&out)
    );
    assert!(!env.path("data/copy.db").exists());

    let out = restore_from(&env.config(), id, "copy", &["--allow-unsigned"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("is unsigned"), "{}", stderr(&out));
    assert!(env.path("data/copy.db").exists());

    // A format-2 manifest (no chunks) restores through the older check, with a warning.
    edit_manifest(&manifest_of(&env, &backup), |m| {
        m["format_version"] = 2.into();
        let m = m.as_object_mut().unwrap();
        m.remove("chunk_size");
        m.remove("chunks");
    });
    let out = restore_from(&env.config(), id, "old", &["--allow-unsigned"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("(manifest format 2)")
            && stderr(&out).contains("reach the loader before they are proven"),
        "{}",
        stderr(&out)
    );
    assert!(env.path("data/old.db").exists());
}

#[test]
fn a_manifest_signed_by_an_untrusted_key_is_refused_until_trusted() {
    let (env, backup) = lite("");
    let id = backup["id"].as_str().unwrap();
    let public = public_key(&env.path("state/keys/signing.key"));
    // Another host: its own state and key, the same destination.
    std::fs::create_dir_all(env.path("other/keys")).unwrap();
    let out = env.run(&[
        "key",
        "generate",
        "--signing",
        "--out",
        env.path("other/keys/signing.key").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let other = LITE.replace("state_dir = \"state\"", "state_dir = \"other\"");
    std::fs::write(env.path("other.toml"), &other).unwrap();

    let out = restore_from(&env.path("other.toml"), id, "copy", &["--allow-unsigned"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&public) && stderr(&out).contains("trusted_keys"),
        "{}",
        stderr(&out)
    );
    assert!(!env.path("data/copy.db").exists());

    std::fs::write(
        env.path("other.toml"),
        format!("{other}[integrity]\ntrusted_keys = [\"{public}\"]\n"),
    )
    .unwrap();
    let out = restore_from(&env.path("other.toml"), id, "copy", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(env.path("data/copy.db").exists());
}

/// The public key a key file names on its `# public key:` line.
fn public_key(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_string()
}

#[test]
fn rebuild_and_audit_report_tampered_and_unsigned_manifests() {
    let (env, first) = lite("");
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let second = only_backup(&doc).clone();
    edit_manifest(&manifest_of(&env, &first), |m| {
        m["tables"][0]["rows"] = 6.into();
    });
    edit_manifest(&manifest_of(&env, &second), |m| {
        m.as_object_mut().unwrap().remove("signature");
    });

    let (code, audit) = env.json(&["audit"]);
    assert_eq!(code, 1, "{audit:#}");
    let untrusted = audit["destinations"][0]["untrusted"].to_string();
    assert!(
        untrusted.contains("altered") && untrusted.contains("unsigned"),
        "{audit:#}"
    );

    std::fs::remove_file(env.path("state/catalog.db")).unwrap();
    let (code, report) = env.json(&["catalog", "rebuild", "--from", "local"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["backups_added"], 0, "{report:#}");
    assert_eq!(
        report["problems"].as_array().unwrap().len(),
        2,
        "{report:#}"
    );
    let (code, report) = env.json(&["catalog", "rebuild", "--from", "local", "--allow-unsigned"]);
    assert_eq!(code, 1, "the altered one is still refused: {report:#}");
    assert_eq!(report["backups_added"], 1, "{report:#}");
    assert!(report["warnings"][0].as_str().unwrap().contains("unsigned"));
    let (_, list) = env.json(&["list"]);
    assert_eq!(only_backup(&list)["id"], second["id"]);
}

#[test]
fn key_generate_signing_and_check_show_the_key() {
    let (env, _) = lite("");
    let path = env.path("host.key");
    let out = env.run(&[
        "key",
        "generate",
        "--signing",
        "--out",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let public = stdout(&out).trim().to_string();
    assert!(public.starts_with("dbward-ed25519:"), "{public}");
    assert_eq!(public_key(&path), public);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let out = env.run(&[
        "key",
        "generate",
        "--signing",
        "--out",
        path.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "never overwrites: {}",
        stderr(&out)
    );

    let own = env.path("state/keys/signing.key");
    assert_eq!(
        std::fs::metadata(&own).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(own.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    let line = |env: &Env| {
        let (_, doc) = env.json(&["check"]);
        doc["items"]
            .as_array()
            .or(doc.as_array())
            .unwrap()
            .iter()
            .find(|i| i["kind"] == "integrity")
            .cloned()
            .unwrap_or_else(|| panic!("{doc:#}"))
    };
    let item = line(&env);
    assert!(
        item["detail"].as_str().unwrap().contains(&public_key(&own)),
        "{item:#}"
    );
    assert_eq!(item["warning"], false);
    std::fs::set_permissions(&own, std::fs::Permissions::from_mode(0o644)).unwrap();
    let item = line(&env);
    assert_eq!(item["warning"], true, "{item:#}");
    assert!(
        item["detail"].as_str().unwrap().contains("chmod 600"),
        "{item:#}"
    );
}
