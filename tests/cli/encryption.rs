//! Encryption end to end: key generation, backups to two recipients that each identity alone
//! restores, wrong and missing identities, damaged ciphertext, the reference `age` CLI
//! restoring an artifact by hand, key drills, passphrase mode and `check`'s warnings.

use std::process::Command;

use dbward_testkit::PgServer;

use crate::common::{Env, only_backup, stderr, stdout};
use crate::postgres::pg_env;

/// Generates an identity with `dbward key generate`; returns (identity path, recipient).
fn generate(env: &Env, name: &str) -> (std::path::PathBuf, String) {
    let path = env.path(name);
    let out = env.run(&["key", "generate", "--out", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    (path, stdout(&out).trim().to_string())
}

fn sqlite_env(encryption: &str) -> Env {
    let env = Env::new(&format!(
        "state_dir = \"state\"\n\
         [[source]]\nname = \"lite\"\nengine = \"sqlite\"\npath = \"data/app.db\"\n\
         [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n{encryption}"
    ));
    std::fs::create_dir(env.path("data")).unwrap();
    rusqlite::Connection::open(env.path("data/app.db"))
        .unwrap()
        .execute_batch(
            "CREATE TABLE secrets(id INTEGER PRIMARY KEY, v TEXT);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 77)
             INSERT INTO secrets SELECT i, 'value ' || i FROM n;",
        )
        .unwrap();
    env
}

fn rows(path: &std::path::Path) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row("SELECT count(*) FROM secrets", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn key_generate_writes_a_private_identity_and_never_overwrites() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new("");
    let (path, recipient) = generate(&env, "dbward.key");
    assert!(recipient.starts_with("age1"), "{recipient}");
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("AGE-SECRET-KEY-1") && text.contains(&recipient));
    let again = env.run(&["key", "generate", "--out", path.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn two_recipients_each_identity_alone_restores_and_others_cannot() {
    let keys = Env::new("");
    let (alice, alice_pub) = generate(&keys, "alice.key");
    let (bob, bob_pub) = generate(&keys, "bob.key");
    let (mallory, _) = generate(&keys, "mallory.key");
    let env = sqlite_env(&format!(
        "[encryption]\nrecipients = [\"{alice_pub}\", \"{bob_pub}\"]\n"
    ));
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let backup = only_backup(&doc);
    let id = backup["id"].as_str().unwrap();
    let artifact = env
        .path("backups")
        .join(backup["copies"][0]["path"].as_str().unwrap());
    assert!(artifact.to_string_lossy().ends_with(".sqlite.zst.age"));
    assert!(
        std::fs::read(&artifact)
            .unwrap()
            .starts_with(b"age-encryption.org/v1")
    );
    let (_, shown) = env.json(&["show", id]);
    let manifest = &shown["manifest"];
    assert_eq!(manifest["encryption"], "age-x25519");
    let fingerprints: Vec<&str> = manifest["encryption_recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(fingerprints.len(), 2);
    let (_, status) = env.json(&["status"]);
    assert_eq!(
        status["databases"][0]["last_good"]["encrypted_copies"], 1,
        "status says the copy is encrypted: {status:#}"
    );
    let manifest_text = manifest.to_string();
    assert!(
        !manifest_text.contains(&alice_pub) && !manifest_text.contains(&bob_pub),
        "keys in the manifest"
    );

    for (name, identity) in [("by_alice", &alice), ("by_bob", &bob)] {
        let (code, summary) = env.json(&[
            "restore",
            id,
            "--to-database",
            name,
            "--identity",
            identity.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{summary:#}");
        assert_eq!(rows(&env.path(&format!("data/{name}.db"))), 77);
    }

    let out = env.run(&[
        "restore",
        id,
        "--to-database",
        "by_mallory",
        "--identity",
        mallory.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("cannot decrypt") && fingerprints.iter().all(|f| err.contains(f)),
        "{err}"
    );
    assert!(!env.path("data/by_mallory.db").exists());

    let out = env.run(&["restore", id, "--to-database", "by_nobody"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--identity"), "{}", stderr(&out));
    assert!(!env.path("data/by_nobody.db").exists());

    let (code, doc) = env.json(&[
        "verify",
        id,
        "--level",
        "structural",
        "--identity",
        alice.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{doc:#}");
}

#[test]
fn altered_or_truncated_ciphertext_restores_nothing() {
    let keys = Env::new("");
    let (alice, alice_pub) = generate(&keys, "alice.key");
    for damage in ["flip", "truncate"] {
        let env = sqlite_env(&format!("[encryption]\nrecipients = [\"{alice_pub}\"]\n"));
        let (_, doc) = env.json(&["backup"]);
        let backup = only_backup(&doc);
        let artifact = env
            .path("backups")
            .join(backup["copies"][0]["path"].as_str().unwrap());
        let mut bytes = std::fs::read(&artifact).unwrap();
        match damage {
            "flip" => {
                let at = bytes.len() - 100;
                bytes[at] ^= 1;
            }
            _ => bytes.truncate(bytes.len() - 200),
        }
        std::fs::write(&artifact, bytes).unwrap();
        let out = env.run(&[
            "restore",
            backup["id"].as_str().unwrap(),
            "--to-database",
            "x",
            "--identity",
            alice.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{damage}: {}", stderr(&out));
        assert!(
            !env.path("data/x.db").exists(),
            "{damage}: something was restored"
        );
    }
}

#[test]
fn the_reference_age_cli_decrypts_and_pg_restore_restores() {
    let server = PgServer::shared();
    let db = server.create_database("cli_age");
    db.sql("CREATE TABLE t(id int, v text); INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, 500) i;");
    let keys = Env::new("");
    let (identity, recipient) = generate(&keys, "k.key");
    let env = pg_env(server, &[&db.name], "");
    let config = std::fs::read_to_string(env.config()).unwrap();
    std::fs::write(
        env.config(),
        format!("{config}\n[encryption]\nrecipients = [\"{recipient}\"]\n"),
    )
    .unwrap();
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let artifact = env
        .path("backups")
        .join(only_backup(&doc)["copies"][0]["path"].as_str().unwrap());
    assert!(artifact.to_string_lossy().ends_with(".dump.zst.age"));

    let target = server.create_database("cli_age_by_hand");
    let by_hand = format!(
        "age -d -i '{}' '{}' | zstd -dc | '{}' --no-owner -h {} -p {} -U {} -d {}",
        identity.display(),
        artifact.display(),
        server.bin("pg_restore").display(),
        server.host,
        server.port,
        server.user,
        target.name
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(&by_hand)
        .env("PGPASSWORD", &server.password)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(target.sql("SELECT count(*) FROM t"), "500");
}

#[test]
fn key_drill_proves_an_identity_and_reports_one_that_matches_nothing() {
    let keys = Env::new("");
    let (alice, alice_pub) = generate(&keys, "alice.key");
    let (mallory, _) = generate(&keys, "mallory.key");
    let env = sqlite_env(&format!("[encryption]\nrecipients = [\"{alice_pub}\"]\n"));
    assert_eq!(env.json(&["backup"]).0, 0);

    let (code, doc) = env.json(&["key", "verify", "--identity", alice.to_str().unwrap()]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["results"][0]["outcome"], "decrypted");
    let (_, list) = env.json(&["list"]);
    let id = only_backup(&list)["id"].as_str().unwrap().to_string();
    let (_, shown) = env.json(&["show", &id]);
    assert_eq!(shown["verifications"][0]["level"], "key", "{shown:#}");
    assert_eq!(shown["verifications"][0]["ok"], true);

    let (code, doc) = env.json(&["key", "verify", "--identity", mallory.to_str().unwrap()]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["results"][0]["outcome"], "failed");
    assert!(
        doc["notes"][0]
            .as_str()
            .unwrap()
            .contains("matches no recipient"),
        "{doc:#}"
    );
}

#[test]
fn passphrase_mode_round_trips_and_check_states_its_trade_off() {
    let env = sqlite_env("[encryption]\npassphrase = { file = \"pass.secret\" }\n");
    crate::postgres::write_secret(&env.path("pass.secret"), "correct horse battery staple");
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let id = only_backup(&doc)["id"].as_str().unwrap().to_string();
    let (code, summary) = env.json(&["restore", &id, "--to-database", "back"]);
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(rows(&env.path("data/back.db")), 77);
    let text = stdout(&env.run(&["check"]));
    let line = text
        .lines()
        .find(|l| l.contains("encryption: mode"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.starts_with("WARN") && line.contains("passphrase"),
        "{line}"
    );
}

#[test]
fn check_warns_about_inline_secrets_in_a_readable_config() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new(
        "state_dir = \"state\"\n[[source]]\nname = \"pg\"\nengine = \"postgres\"\nport = 1\npassword = \"inline-Secret-Value-42\"\n\
         [[destination]]\nname = \"offsite\"\ntype = \"s3\"\nbucket = \"b\"\nendpoint = \"http://127.0.0.1:1\"\n\
         access_key_id = \"AKIA-INLINE\"\nsecret_access_key = \"inline-S3-Secret-43\"\n",
    );
    std::fs::set_permissions(env.config(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.run(&["check"]);
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.contains("inline secrets"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.starts_with("WARN")
            && line.contains("[[source]] \"pg\" password")
            && line.contains("[[destination]] \"offsite\" secret_access_key")
            && line.contains("644"),
        "{line}"
    );
    for secret in ["inline-Secret-Value-42", "inline-S3-Secret-43"] {
        assert!(
            !text.contains(secret) && !stderr(&out).contains(secret),
            "{secret} leaked"
        );
    }
}

#[test]
fn key_drill_reads_another_copy_when_the_first_is_damaged() {
    let keys = Env::new("");
    let (alice, alice_pub) = generate(&keys, "alice.key");
    let env = sqlite_env(&format!(
        "[[destination]]\nname = \"second\"\ntype = \"fs\"\npath = \"second\"\n\
         [encryption]\nrecipients = [\"{alice_pub}\"]\n"
    ));
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let key = only_backup(&doc)["copies"][0]["path"]
        .as_str()
        .unwrap()
        .to_string();
    // Copies are tried in destination order: "local" first.
    let first = env.path("backups").join(&key);
    let mut bytes = std::fs::read(&first).unwrap();
    let at = bytes.len() - 50;
    bytes[at] ^= 1;
    std::fs::write(&first, bytes).unwrap();

    let (code, doc) = env.json(&["key", "verify", "--identity", alice.to_str().unwrap()]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["results"][0]["outcome"], "decrypted", "{doc:#}");
}
