//! Remote destinations end to end: one dump fanned out to a local folder, a real S3 protocol
//! server (s3s-fs, in process) and a real sshd; a destination that stops; copies deleted or
//! altered behind dbward's back; audit; the catalog rebuilt from each destination; a bucket
//! with Object Lock (moto).

use std::process::Output;

use dbward_destination::testing::{S3Server, Sshd};
use serde_json::Value;

use crate::common::{Env, only_backup, stderr};
use crate::postgres::write_secret;

struct Remote {
    s3: S3Server,
    sshd: Sshd,
}

impl Remote {
    async fn start() -> Remote {
        let s3 = S3Server::start().await;
        s3.create_bucket("backups");
        Remote {
            s3,
            sshd: Sshd::start(),
        }
    }

    /// A SQLite source backed up to `local` (fs), `offsite` (S3) and `nas` (SFTP).
    fn env(&self, extra_schedule: &str) -> Env {
        let sftp = self.sshd.settings("nas");
        let env = Env::new(&format!(
            "state_dir = \"state\"\n\
             [[source]]\nname = \"lite\"\nengine = \"sqlite\"\npath = \"data/app.db\"\n\
             [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n\
             [[destination]]\nname = \"offsite\"\ntype = \"s3\"\nbucket = \"backups\"\nendpoint = \"{}\"\nregion = \"us-east-1\"\nprefix = \"prod/\"\n\
             access_key_id = {{ file = \"s3.key\" }}\nsecret_access_key = {{ file = \"s3.secret\" }}\nverify_upload = \"checksum\"\npart_size = \"5MiB\"\n\
             [[destination]]\nname = \"nas\"\ntype = \"sftp\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"{}\"\nkey_file = \"{}\"\nroot = \"{}\"\n\
             [[schedule]]\nname = \"nightly\"\nsources = [\"lite\"]\ndestinations = [\"local\", \"offsite\", \"nas\"]\n{extra_schedule}",
            self.s3.endpoint(),
            sftp.port.unwrap(),
            sftp.user,
            sftp.key_file.unwrap().display(),
            sftp.root,
        ));
        use dbward_core::secret::ExposeSecret;
        write_secret(&env.path("s3.key"), self.s3.access_key().expose_secret());
        write_secret(&env.path("s3.secret"), self.s3.secret_key().expose_secret());
        std::fs::create_dir(env.path("data")).unwrap();
        rusqlite::Connection::open(env.path("data/app.db"))
            .unwrap()
            .execute_batch(
                "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB);
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 200)
                 INSERT INTO t SELECT i, randomblob(500) FROM n;",
            )
            .unwrap();
        env
    }
}

/// Runs the binary off the async runtime, so the in-process S3 server keeps serving.
async fn run(env: &Env, args: &[&str]) -> Output {
    let mut cmd = env.cmd(args);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

async fn json(env: &Env, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = run(env, &all).await;
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {} {}",
            String::from_utf8_lossy(&out.stdout),
            stderr(&out)
        )
    });
    (out.status.code().unwrap_or(-1), doc)
}

fn copy<'a>(backup: &'a Value, destination: &str) -> &'a Value {
    backup["copies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["destination"] == destination)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_dump_reaches_every_destination_verified() {
    let remote = Remote::start().await;
    let env = remote.env("");
    let (code, doc) = json(&env, &["backup"]).await;
    assert_eq!(code, 0, "{doc:#}");
    let backup = only_backup(&doc);
    for destination in ["local", "offsite", "nas"] {
        assert_eq!(
            copy(backup, destination)["status"],
            "committed",
            "{backup:#}"
        );
    }
    let key = copy(backup, "offsite")["path"].as_str().unwrap();
    assert!(
        remote.s3.root().join("backups/prod").join(key).exists(),
        "not stored under the prefix"
    );
    assert!(remote.sshd.data_dir().join(key).exists());
    let (code, verified) = json(
        &env,
        &[
            "verify",
            backup["id"].as_str().unwrap(),
            "--level",
            "checksum",
        ],
    )
    .await;
    assert_eq!(code, 0, "{verified:#}");
    assert_eq!(
        verified["verifications"][0]["checks"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let (code, audit) = json(&env, &["audit"]).await;
    assert_eq!(code, 0, "{audit:#}");
    for d in audit["destinations"].as_array().unwrap() {
        assert_eq!(d["backups"], 1, "{d:#}");
    }
    let out = run(&env, &["check"]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        crate::common::stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_destination_degrades_the_backup_and_the_others_commit() {
    let mut remote = Remote::start().await;
    let env = remote.env("");
    remote.s3.stop().await;
    let (code, doc) = json(&env, &["backup"]).await;
    assert_eq!(code, 1, "{doc:#}");
    let backup = only_backup(&doc);
    assert_eq!(backup["status"], "degraded");
    let reason = backup["error"].as_str().unwrap();
    assert!(
        reason.contains("offsite") && reason.contains("cannot reach"),
        "{reason}"
    );
    assert_eq!(copy(backup, "local")["status"], "committed");
    assert_eq!(copy(backup, "nas")["status"], "committed");
    assert_eq!(copy(backup, "offsite")["status"], "failed");

    // With min_copies = 2 the same loss is a success that still names the lost copy.
    let env = remote.env("min_copies = 2\n");
    let (code, doc) = json(&env, &["backup"]).await;
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(only_backup(&doc)["status"], "succeeded");
    assert!(
        only_backup(&doc)["warnings"]
            .to_string()
            .contains("offsite"),
        "{doc:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_stopped_mid_upload_leaves_nothing_committed_there() {
    let mut remote = Remote::start().await;
    let env = remote.env("");
    // ~40 MiB of incompressible rows: several 5 MiB parts.
    rusqlite::Connection::open(env.path("data/app.db"))
        .unwrap()
        .execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 40000)
             INSERT INTO t(v) SELECT randomblob(1000) FROM n;",
        )
        .unwrap();
    let mut cmd = env.cmd(&["--json", "backup"]);
    let child = tokio::task::spawn_blocking(move || cmd.output().unwrap());
    // Stop the server as soon as the first part has arrived.
    let store = remote.s3.root().to_path_buf();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !has_files(&store) {
        assert!(
            std::time::Instant::now() < deadline,
            "no part ever reached the S3 server"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    remote.s3.stop().await;
    let out = child.await.unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let backup = only_backup(&doc);
    assert_eq!(backup["status"], "degraded", "{doc:#}");
    assert!(
        backup["error"].as_str().unwrap().contains("offsite"),
        "{doc:#}"
    );
    assert_eq!(copy(backup, "local")["status"], "committed");
    assert_eq!(copy(backup, "nas")["status"], "committed");
    remote.s3.resume().await;
    let key = copy(backup, "offsite")["path"].as_str().unwrap();
    assert!(
        !remote.s3.root().join("backups/prod").join(key).exists(),
        "a half-written object was committed"
    );
}

fn has_files(dir: &std::path::Path) -> bool {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries.flatten().any(|e| {
                let path = e.path();
                if path.is_dir() {
                    has_files(&path)
                } else {
                    true
                }
            })
        })
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_and_altered_copies_are_found_and_restore_uses_a_good_one() {
    let remote = Remote::start().await;
    let env = remote.env("");
    let (_, doc) = json(&env, &["backup"]).await;
    let backup = only_backup(&doc).clone();
    let id = backup["id"].as_str().unwrap();
    let key = copy(&backup, "local")["path"].as_str().unwrap().to_string();

    // Altered on the local disk: checksum verification names it; restore reads another copy.
    let local = env.path("backups").join(&key);
    let mut bytes = std::fs::read(&local).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(&local, &bytes).unwrap();
    let (code, verified) = json(&env, &["verify", id, "--level", "checksum"]).await;
    assert_eq!(code, 1);
    assert!(
        verified["verifications"][0]["error"]
            .as_str()
            .unwrap()
            .starts_with("copy on local"),
        "{verified:#}"
    );
    let (code, restored) = json(&env, &["restore", id, "--to-database", "from_good_copy"]).await;
    assert_eq!(code, 0, "{restored:#}");
    assert_ne!(restored["copy"], "local");

    // Deleted from S3 by a lifecycle rule: audit reports it and the catalog marks it missing.
    std::fs::remove_file(remote.s3.root().join("backups/prod").join(&key)).unwrap();
    let (code, audit) = json(&env, &["audit", "--destination", "offsite"]).await;
    assert_eq!(code, 1, "{audit:#}");
    assert!(
        audit["destinations"][0]["missing"][0]
            .as_str()
            .unwrap()
            .contains(id),
        "{audit:#}"
    );
    let (_, list) = json(&env, &["list"]).await;
    assert_eq!(copy(only_backup(&list), "offsite")["status"], "missing");
    let (code, restored) = json(&env, &["restore", id, "--to-database", "after_loss"]).await;
    assert_eq!(code, 0, "{restored:#}");

    // Status later shows both: the failed checksum verification and the lost copy.
    let (code, status) = json(&env, &["status"]).await;
    assert_eq!(code, 2, "{status:#}");
    let problems = status["problems"].as_array().unwrap();
    let said = |kind: &str, words: &[&str]| {
        problems.iter().any(|p| {
            p["kind"] == kind
                && words
                    .iter()
                    .all(|w| p["message"].as_str().unwrap().contains(w))
        })
    };
    assert!(said("verify_failed", &["checksum", id]), "{status:#}");
    assert!(
        said("missing_copy", &["on offsite is missing", id]),
        "{status:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_is_rebuilt_from_each_destination_and_restores() {
    let remote = Remote::start().await;
    let env = remote.env("");
    let (_, first) = json(&env, &["backup"]).await;
    let (_, second) = json(&env, &["backup"]).await;
    let (_, before) = json(&env, &["list"]).await;
    crate::common::lose_state_keeping_trust(&env);

    let (code, report) = json(&env, &["catalog", "rebuild", "--from", "offsite"]).await;
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["backups_added"], 2);
    let (code, again) = json(&env, &["catalog", "rebuild", "--from", "offsite"]).await;
    assert_eq!(code, 0);
    assert_eq!(
        (
            again["backups_added"].as_u64(),
            again["copies_added"].as_u64()
        ),
        (Some(0), Some(0))
    );
    let (_, report) = json(&env, &["catalog", "rebuild", "--from", "nas"]).await;
    assert_eq!(
        (
            report["backups_added"].as_u64(),
            report["copies_added"].as_u64()
        ),
        (Some(0), Some(2))
    );
    let (_, report) = json(&env, &["catalog", "rebuild", "--from", "local"]).await;
    assert_eq!(report["copies_added"], 2);

    let (_, after) = json(&env, &["list"]).await;
    let ids = |doc: &Value| {
        doc["backups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["id"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&after), ids(&before));
    for field in ["sha256", "stored_bytes", "database", "source"] {
        assert_eq!(
            after["backups"][0][field], before["backups"][0][field],
            "{field}"
        );
    }
    let _ = (first, second);
    let (code, restored) = json(
        &env,
        &[
            "restore",
            "--latest",
            "--source",
            "lite",
            "--database",
            "app",
            "--to-database",
            "rebuilt",
        ],
    )
    .await;
    assert_eq!(code, 0, "{restored:#}");
    let (code, drill) = json(&env, &["verify", "--latest", "--level", "drill"]).await;
    assert_eq!(code, 0, "{drill:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_are_named_by_check_and_backup() {
    let remote = Remote::start().await;
    let env = remote.env("");
    write_secret(&env.path("s3.secret"), "not-the-secret");
    let out = run(&env, &["check"]).await;
    assert_eq!(out.status.code(), Some(1));
    let text = crate::common::stdout(&out);
    let line = text
        .lines()
        .find(|l| l.contains("offsite"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.starts_with("FAIL") && line.contains("credentials"),
        "{line}"
    );
    assert!(!text.contains("not-the-secret"));
    let (code, doc) = json(&env, &["backup"]).await;
    assert_eq!(code, 1);
    assert!(
        only_backup(&doc)["error"]
            .as_str()
            .unwrap()
            .contains("credentials"),
        "{doc:#}"
    );
}

/// An S3 bucket with Object Lock (moto): backups upload into it, `check` passes and says the
/// probe is retained, and a drill restores from it.
#[test]
fn a_bucket_with_object_lock_takes_backups_and_check_passes() {
    use dbward_core::secret::ExposeSecret;
    use dbward_destination::testing::{LockMode, Moto};
    let moto = Moto::start();
    moto.create_locked_bucket("vault", LockMode::Compliance, 1);
    let settings = moto.settings("vault", "vault");
    let env = Env::new(&format!(
        "state_dir = \"state\"\n\
         [[source]]\nname = \"lite\"\nengine = \"sqlite\"\npath = \"app.db\"\n\
         [[destination]]\nname = \"vault\"\ntype = \"s3\"\nbucket = \"vault\"\nendpoint = \"{}\"\nregion = \"us-east-1\"\n\
         access_key_id = {{ file = \"key\" }}\nsecret_access_key = {{ file = \"secret\" }}\nverify_upload = \"checksum\"\n",
        moto.endpoint()
    ));
    write_secret(
        &env.path("key"),
        settings.access_key_id.as_ref().unwrap().expose_secret(),
    );
    write_secret(
        &env.path("secret"),
        settings.secret_access_key.as_ref().unwrap().expose_secret(),
    );
    rusqlite::Connection::open(env.path("app.db"))
        .unwrap()
        .execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1), (2);")
        .unwrap();

    let out = env.run(&["check"]);
    let text = crate::common::stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("vault"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.starts_with("ok") && line.contains("retained"),
        "{line}"
    );

    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}\n{}", moto.log());
    assert_eq!(only_backup(&doc)["status"], "succeeded");
    let (code, drill) = env.json(&["verify", "--latest", "--level", "drill"]);
    assert_eq!(code, 0, "{drill:#}");
}

/// GCS, Azure Blob and WebDAV (their emulators: gcp-storage-emulator, Azurite, WsgiDAV) take
/// the same one-pass backup, and the catalog comes back from each of them alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcs_azure_and_webdav_take_backups_and_rebuild_the_catalog() {
    use dbward_core::secret::ExposeSecret;
    use dbward_destination::testing::{
        AZURITE_ACCOUNT, AZURITE_KEY, Azurite, GcsEmulator, WebdavServer,
    };
    let gcs = GcsEmulator::start("backups");
    let azurite = Azurite::start();
    azurite.create_container("backups");
    let webdav = WebdavServer::start();
    let env = Env::new(&format!(
        "state_dir = \"state\"\n\
         [[source]]\nname = \"lite\"\nengine = \"sqlite\"\npath = \"app.db\"\n\
         [[destination]]\nname = \"gcs\"\ntype = \"gcs\"\nbucket = \"backups\"\nprefix = \"prod\"\nendpoint = \"{}\"\nanonymous = true\n\
         [[destination]]\nname = \"azure\"\ntype = \"azblob\"\ncontainer = \"backups\"\nendpoint = \"{}\"\naccount_name = \"{AZURITE_ACCOUNT}\"\naccount_key = {{ file = \"azure.key\" }}\n\
         [[destination]]\nname = \"dav\"\ntype = \"webdav\"\nendpoint = \"{}\"\nroot = \"/dbward\"\nusername = \"{}\"\npassword = {{ file = \"dav.password\" }}\n\
         [[schedule]]\nname = \"nightly\"\nsources = [\"lite\"]\ndestinations = [\"gcs\", \"azure\", \"dav\"]\n",
        gcs.endpoint(),
        azurite.endpoint(),
        webdav.endpoint(),
        webdav.user(),
    ));
    write_secret(&env.path("azure.key"), AZURITE_KEY);
    write_secret(&env.path("dav.password"), webdav.password().expose_secret());
    rusqlite::Connection::open(env.path("app.db"))
        .unwrap()
        .execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1), (2), (3);")
        .unwrap();
    for _ in 0..2 {
        let (code, doc) = json(&env, &["backup"]).await;
        assert_eq!(code, 0, "{doc:#}\n{}\n{}", gcs.log(), azurite.log());
        let copies = only_backup(&doc)["copies"].as_array().unwrap().clone();
        assert!(
            copies.len() == 3 && copies.iter().all(|c| c["status"] == "committed"),
            "{doc:#}"
        );
    }
    let (_, before) = json(&env, &["list"]).await;
    crate::common::lose_state_keeping_trust(&env);

    let (code, report) = json(&env, &["catalog", "rebuild", "--from", "gcs"]).await;
    assert_eq!(
        (code, report["backups_added"].as_u64()),
        (0, Some(2)),
        "{report:#}"
    );
    for other in ["azure", "dav"] {
        let (code, report) = json(&env, &["catalog", "rebuild", "--from", other]).await;
        assert_eq!(
            (code, report["copies_added"].as_u64()),
            (0, Some(2)),
            "{other}: {report:#}"
        );
    }
    let (_, after) = json(&env, &["list"]).await;
    let ids = |doc: &Value| -> Vec<Value> {
        doc["backups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["id"].clone())
            .collect()
    };
    assert_eq!(ids(&after), ids(&before));
    for from in ["gcs", "azure", "dav"] {
        let (code, restored) = json(
            &env,
            &[
                "restore",
                "--latest",
                "--source",
                "lite",
                "--database",
                "app",
                "--from",
                from,
                "--to-database",
                &format!("from_{from}"),
            ],
        )
        .await;
        assert_eq!(code, 0, "{from}: {restored:#}");
        assert_eq!(restored["rows"], 3, "{from}: {restored:#}");
    }
}
