//! Point-in-time recovery of PostgreSQL end to end: a private cluster with `wal_level =
//! replica`, `archive_mode = on` and `archive_command` = this binary's `wal push`; base
//! backups (`pitr = true`), the WAL archive's contract with PostgreSQL, and restores to a
//! moment, checked row by row. As root, the cluster runs as user `postgres`, and so do the
//! commands here (PostgreSQL refuses to run as root), in a folder that user owns.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use dbward_testkit::PgServer;
use serde_json::Value;

use crate::common::{Env, binary, stderr, wait_for};

/// Damages a stored file the way a bad disk would: one byte in its middle flipped.
fn flip_a_byte_in(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xFF;
    std::fs::write(path, &bytes).unwrap();
}

/// The arguments of `dbward restore --source pg --database '*' --to-directory DIR` and `more`.
fn restore_args<'a>(dir: &'a Path, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "restore",
        "--source",
        "pg",
        "--database",
        "*",
        "--to-directory",
        dir.to_str().unwrap(),
    ];
    args.extend_from_slice(more);
    args
}

fn running_as_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// `program args…`, as the user that owns the cluster.
fn as_owner(program: &Path, args: &[&str]) -> Command {
    if running_as_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program).args(args);
        cmd
    } else {
        let mut cmd = Command::new(program);
        cmd.args(args);
        cmd
    }
}

/// A private archiving cluster and a dbward config whose one source is it, with `pitr =
/// true`, backing up to an fs destination.
struct Archiving {
    env: Env,
    pg: PgServer,
    /// The insert position right after each event `write_events` wrote.
    lsns: std::cell::RefCell<Vec<String>>,
}

impl Archiving {
    fn start() -> Archiving {
        Self::start_with(|_| String::new())
    }

    /// Like `start`, with more config (top-level tables) that `extra` writes for the env.
    fn start_with(extra: impl FnOnce(&Env) -> String) -> Archiving {
        let env = Env::new("");
        if running_as_root() {
            let status = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(env.dir.path())
                .status()
                .unwrap();
            assert!(status.success());
        }
        let push = format!(
            "'{}' --config '{}' -q wal push %p",
            binary().display(),
            env.config().display()
        );
        let pg = PgServer::start_private_with(
            std::process::id(),
            &[
                ("wal_level", "replica"),
                ("archive_mode", "on"),
                ("archive_command", &push),
                ("archive_timeout", "0"),
            ],
        )
        .unwrap();
        let config = format!(
            "state_dir = \"state\"\n\
             [[source]]\nname = \"pg\"\nengine = \"postgres\"\nhost = \"127.0.0.1\"\nport = {}\n\
             user = \"postgres\"\npassword = \"{}\"\npitr = true\n\
             [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n",
            pg.port, pg.password
        );
        let config = format!("{config}{}", extra(&env));
        std::fs::write(env.config(), config).unwrap();
        if running_as_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(env.dir.path())
                .status()
                .unwrap();
            assert!(status.success());
        }
        pg.sql(
            "postgres",
            "CREATE TABLE events(id int PRIMARY KEY, at timestamptz NOT NULL)",
        );
        Archiving {
            env,
            pg,
            lsns: Default::default(),
        }
    }

    /// Runs dbward as the cluster's owner.
    fn dbward(&self, args: &[&str]) -> Output {
        let config = self.env.config();
        let mut all = vec!["--config", config.to_str().unwrap()];
        all.extend_from_slice(args);
        as_owner(&binary(), &all).output().unwrap()
    }

    /// `dbward restore --source pg --database '*' --to-directory DIR` and `more`.
    fn restore_into(&self, dir: &Path, more: &[&str]) -> Output {
        self.dbward(&restore_args(dir, more))
    }

    fn dbward_json(&self, args: &[&str]) -> (i32, Value) {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.dbward(&all);
        let value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                stderr(&out)
            )
        });
        (out.status.code().unwrap_or(-1), value)
    }

    /// Switches to a new WAL segment and waits until the old one is archived; returns its
    /// name.
    fn switch_and_archive(&self) -> String {
        let segment = self
            .pg
            .sql("postgres", "SELECT pg_walfile_name(pg_switch_wal())");
        wait_for(
            &format!("{segment} to be archived"),
            Duration::from_secs(60),
            || {
                let archived = self.pg.sql(
                    "postgres",
                    "SELECT coalesce(last_archived_wal, '') || ' ' || failed_count || ' ' || coalesce(last_failed_wal, '') FROM pg_stat_archiver",
                );
                archived.split(' ').next() >= Some(segment.as_str())
            },
        );
        segment
    }

    /// Inserts event `id` in its own transaction and returns the server's clock after its
    /// commit.
    fn write_event(&self, id: u32) -> String {
        self.pg.sql(
            "postgres",
            &format!("INSERT INTO events VALUES ({id}, clock_timestamp())"),
        );
        self.pg.sql("postgres", "SELECT clock_timestamp()")
    }

    /// The WAL files the catalog records as archived: (name, destination, timeline).
    fn catalog_wal_files(&self) -> Vec<(String, String, i64)> {
        let catalog = rusqlite::Connection::open(self.env.path("state/catalog.db")).unwrap();
        let mut query = catalog
            .prepare("SELECT name, destination, timeline FROM wal_files ORDER BY name")
            .unwrap();
        query
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn wal_folder(&self) -> PathBuf {
        self.env.path("backups/pg/.wal")
    }
}

#[test]
fn base_backups_record_their_wal_range_and_the_archive_keeps_each_file_once() {
    let cluster = Archiving::start();
    cluster.write_event(1);
    cluster.switch_and_archive();
    let (code, doc) = cluster.dbward_json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let backup = crate::common::only_backup(&doc);
    assert_eq!(backup["database"], "*");
    let (code, shown) = cluster.dbward_json(&["show", backup["id"].as_str().unwrap()]);
    assert_eq!(code, 0, "{shown:#}");
    let manifest = &shown["manifest"];
    assert_eq!(manifest["dump_tool"], "pg_basebackup", "{manifest:#}");
    assert_eq!(manifest["dump_format"], "base");
    let base = &manifest["base_backup"];
    assert_eq!(base["timeline"], 1, "{manifest:#}");
    let start_file = base["start_wal_file"].as_str().unwrap().to_string();
    assert_eq!(
        cluster.pg.sql(
            "postgres",
            &format!(
                "SELECT pg_walfile_name('{}')",
                base["start_lsn"].as_str().unwrap()
            )
        ),
        start_file
    );
    // The server ended the backup only once its last segment was archived.
    assert!(
        cluster
            .wal_folder()
            .join(format!("{start_file}.json"))
            .is_file()
    );
    // ...and each push recorded the file in the catalog, for status and prune.
    let recorded = cluster.catalog_wal_files();
    assert!(
        recorded.contains(&(start_file.clone(), "local".to_string(), 1)),
        "{recorded:?}"
    );

    // The stored archive is a complete tar of the cluster; a drill refuses it with advice.
    let (code, verified) = cluster.dbward_json(&[
        "verify",
        "--latest",
        "--source",
        "pg",
        "--database",
        "*",
        "--level",
        "structural",
    ]);
    assert_eq!(code, 0, "{verified:#}");
    let detail = verified.to_string();
    assert!(detail.contains("backup_label (start"), "{verified:#}");
    let out = cluster.dbward(&[
        "verify",
        "--latest",
        "--source",
        "pg",
        "--database",
        "*",
        "--level",
        "drill",
    ]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        format!("{}{}", stderr(&out), String::from_utf8_lossy(&out.stdout))
            .contains("--to-directory"),
        "{}",
        stderr(&out)
    );
    assert!(
        format!("{}{}", stderr(&out), String::from_utf8_lossy(&out.stdout))
            .contains("verify --pitr --source pg"),
        "{}",
        stderr(&out)
    );

    // fetch: the archived segment, whole; a name never archived: exit 1 and no file.
    let out_dir = cluster.env.path("fetched");
    std::fs::create_dir(&out_dir).unwrap();
    if running_as_root() {
        Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&out_dir)
            .status()
            .unwrap();
    }
    let fetched = out_dir.join(&start_file);
    let out = cluster.dbward(&["wal", "fetch", &start_file, fetched.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::metadata(&fetched).unwrap().len(), 16 << 20);
    let absent = out_dir.join("0000000100000000000000FF");
    let out = cluster.dbward(&[
        "wal",
        "fetch",
        "0000000100000000000000FF",
        absent.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("not archived: 0000000100000000000000FF"));
    assert!(!absent.exists());

    // push: the same bytes again are already archived; other bytes under the name are refused.
    let out = cluster.dbward(&["wal", "push", fetched.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // A catalog that cannot be opened does not fail the push (the server would keep its WAL
    // until its disk fills): the file is archived, and the push warns.
    use std::os::unix::fs::PermissionsExt;
    let catalog_file = cluster.env.path("state/catalog.db");
    std::fs::set_permissions(&catalog_file, std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = cluster.dbward(&["wal", "push", fetched.to_str().unwrap()]);
    std::fs::set_permissions(&catalog_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("archived, but not recorded in the catalog"),
        "{}",
        stderr(&out)
    );
    let mut bytes = std::fs::read(&fetched).unwrap();
    bytes[100] ^= 0xFF;
    std::fs::write(&fetched, &bytes).unwrap();
    let out = cluster.dbward(&["wal", "push", fetched.to_str().unwrap()]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains(&format!("already holds a different {start_file}")),
        "{}",
        stderr(&out)
    );
    // A damaged stored copy is not delivered: recovery must stop, not end there.
    let stored = std::fs::read_dir(cluster.wal_folder())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(&start_file) && !name.ends_with(".json")
        })
        .unwrap();
    flip_a_byte_in(&stored);
    std::fs::remove_file(&fetched).unwrap();
    let out = cluster.dbward(&["wal", "fetch", &start_file, fetched.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(255), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("failed: {start_file}")),
        "{}",
        stderr(&out)
    );
    assert!(!fetched.exists());
}

impl Archiving {
    /// Writes events `ids` one second apart, switching WAL segments after every second
    /// one; returns each event's time (the server's clock right after its commit).
    fn write_events(&self, ids: std::ops::RangeInclusive<u32>) -> Vec<(u32, String)> {
        let mut times = Vec::new();
        for id in ids {
            std::thread::sleep(Duration::from_millis(1100));
            times.push((id, self.write_event(id)));
            self.lsns.borrow_mut().push(
                self.pg
                    .sql("postgres", "SELECT pg_current_wal_insert_lsn()"),
            );
            if id % 2 == 0 {
                self.switch_and_archive();
            }
        }
        self.switch_and_archive();
        times
    }

    /// A folder the cluster's owner may create the restore directory in.
    fn restore_dir(&self, name: &str) -> PathBuf {
        self.env.path(name)
    }

    /// Starts the restored cluster in `dir` on its own port, reads the events, stops it.
    fn events_in(&self, dir: &Path) -> String {
        let port = dbward_testkit::free_port().to_string();
        let sockets = self.env.path("sock");
        std::fs::create_dir_all(&sockets).unwrap();
        if running_as_root() {
            Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&sockets)
                .status()
                .unwrap();
        }
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c archive_mode=off",
            sockets.display()
        );
        let log = self.env.path("restored-server.log");
        let pg_ctl = self.pg.bin("pg_ctl");
        let dir_arg = dir.to_str().unwrap();
        let out = as_owner(
            &pg_ctl,
            &[
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                dir_arg,
                "-l",
                log.to_str().unwrap(),
                "-o",
                &options,
            ],
        )
        .output()
        .unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            stderr(&out),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        let psql = Command::new(self.pg.bin("psql"))
            .args([
                "-X",
                "-A",
                "-t",
                "-w",
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
            ])
            .args(["-d", "postgres", "-c"])
            .arg("SELECT string_agg(id::text, ',' ORDER BY id) FROM events")
            .env("PGPASSWORD", &self.pg.password)
            .output()
            .unwrap();
        let stop = as_owner(&pg_ctl, &["stop", "-w", "-m", "fast", "-D", dir_arg])
            .output()
            .unwrap();
        assert!(stop.status.success(), "{}", stderr(&stop));
        assert!(psql.status.success(), "{}", stderr(&psql));
        String::from_utf8_lossy(&psql.stdout).trim().to_string()
    }
}

#[test]
fn a_restore_to_a_moment_between_two_writes_holds_exactly_the_rows_written_up_to_it() {
    let cluster = Archiving::start();
    cluster.write_events(1..=2);
    let (code, doc) = cluster.dbward_json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let times = cluster.write_events(3..=7);
    let (_, moment) = &times[1]; // event 4 committed; event 5 a second later
    // Events 1 to 7 in order: event 5's commit is before this position.
    let after_five = cluster.lsns.borrow()[4].clone();
    let dir = cluster.restore_dir("restored");
    let (code, summary) = cluster.dbward_json(&restore_args(&dir, &["--to-time", moment]));
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(summary["recovered"], true, "{summary:#}");
    assert!(
        summary["stopped"]
            .as_str()
            .is_some_and(|s| s.starts_with("recovery stopping before commit")),
        "{summary:#}"
    );
    assert!(dir.join("postgresql.auto.conf").is_file());
    assert!(
        !dir.join("recovery.signal").exists(),
        "promoted at the target"
    );
    assert_eq!(cluster.events_in(&dir), "1,2,3,4");

    // To a WAL location: everything up to it, including event 5's commit.
    let to_lsn = cluster.restore_dir("to-lsn");
    let (code, summary) = cluster.dbward_json(&restore_args(&to_lsn, &["--to-lsn", &after_five]));
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(cluster.events_in(&to_lsn), "1,2,3,4,5");

    // A non-empty directory is refused, and so is a moment before every base backup.
    let out = cluster.restore_into(&dir, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("is not empty"), "{}", stderr(&out));
    let early = cluster.restore_dir("early");
    let out = cluster.restore_into(&early, &["--to-time", "2001-01-01 00:00:00+00"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no base backup of pg ends before"),
        "{}",
        stderr(&out)
    );
    assert!(
        !early.exists(),
        "nothing is created before a base backup is found"
    );

    // --latest replays every archived segment.
    let latest = cluster.restore_dir("latest");
    let (code, summary) = cluster.dbward_json(&restore_args(&latest, &["--latest"]));
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(cluster.events_in(&latest), "1,2,3,4,5,6,7");
}

#[test]
fn a_corrupt_or_missing_segment_stops_the_restore_naming_it() {
    let cluster = Archiving::start();
    cluster.write_events(1..=1);
    let (code, doc) = cluster.dbward_json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    cluster.write_event(2);
    let damaged = cluster.switch_and_archive();
    let times = cluster.write_events(3..=4);
    let target = &times[1].1;

    let stored = cluster.wal_folder().join(format!("{damaged}.wal.zst"));
    flip_a_byte_in(&stored);
    let dir = cluster.restore_dir("corrupt");
    let out = cluster.restore_into(&dir, &["--to-time", target]);
    let said = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains(&format!("WAL file {damaged}")), "{said}");
    assert!(said.contains("the last moment reached is"), "{said}");

    std::fs::remove_file(&stored).unwrap();
    std::fs::remove_file(cluster.wal_folder().join(format!("{damaged}.json"))).unwrap();
    let dir = cluster.restore_dir("missing");
    let out = cluster.restore_into(&dir, &["--to-time", target]);
    let said = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!("WAL file {damaged} is not in the archive")),
        "{said}"
    );
    assert!(said.contains("the last moment reached is"), "{said}");

    // --latest does not take the gap for the end of the archive.
    let dir = cluster.restore_dir("gap");
    let out = cluster.restore_into(&dir, &["--latest"]);
    let said = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!("WAL file {damaged} is missing")),
        "{said}"
    );

    // A damaged base backup is not unpacked, and the directory it made is gone again.
    let artifact = cluster.env.path("backups").join(
        crate::common::only_backup(&doc)["copies"][0]["path"]
            .as_str()
            .unwrap(),
    );
    flip_a_byte_in(&artifact);
    let dir = cluster.restore_dir("damaged-base");
    let out = cluster.restore_into(&dir, &["--to-time", target]);
    let said = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("no copy of base backup"), "{said}");
    assert!(said.contains("copy on local"), "{said}");
    assert!(!dir.exists(), "{said}");
}

#[test]
fn an_encrypted_archive_is_checked_and_recovers_with_the_configured_identity() {
    let cluster = Archiving::start_with(|env| {
        let key = env.path("restore.key");
        let out = Command::new(binary())
            .args(["key", "generate", "--out"])
            .arg(&key)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let recipient = String::from_utf8_lossy(&out.stdout).trim().to_string();
        format!(
            "[encryption]\nrecipients = [\"{recipient}\"]\nidentity = {{ file = \"{}\" }}\n",
            key.display()
        )
    });
    let (code, checked) = cluster.dbward_json(&["check"]);
    let items = checked["items"].as_array().unwrap();
    let item = |name: &str| {
        items
            .iter()
            .find(|i| i["item"] == name)
            .unwrap_or_else(|| panic!("no {name} in {checked:#}"))
    };
    for name in ["archiving", "privileges", "pg_basebackup"] {
        assert_eq!(item(name)["ok"], true, "{checked:#}");
    }
    assert_eq!(code, 0, "{checked:#}");

    cluster.write_events(1..=2);
    let (code, doc) = cluster.dbward_json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let artifact = crate::common::only_backup(&doc)["copies"][0]["path"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(artifact.ends_with(".tar.zst.age"), "{artifact}");
    cluster.write_events(3..=4);
    let sealed = std::fs::read_dir(cluster.wal_folder())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".wal.zst.age"))
        .count();
    assert!(sealed >= 3, "every archived segment is encrypted");
    let dir = cluster.restore_dir("restored");
    let (code, summary) = cluster.dbward_json(&restore_args(&dir, &["--latest"]));
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(cluster.events_in(&dir), "1,2,3,4");

    // Without the catalog: the base backup found by its signed manifest on the destination.
    for file in ["catalog.db", "catalog.db-wal", "catalog.db-shm"] {
        let _ = std::fs::remove_file(cluster.env.path("state").join(file));
    }
    let dir = cluster.restore_dir("from-storage");
    let (code, summary) = cluster.dbward_json(&restore_args(&dir, &["--from", "local"]));
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(cluster.events_in(&dir), "1,2,3,4");
}

/// The WAL folder's committed files (those with an entry), by name.
fn archived_in(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_string_lossy()
                .strip_suffix(".json")
                .map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

#[test]
fn prune_removes_the_wal_no_kept_base_backup_needs_and_the_oldest_kept_still_restores() {
    let cluster = Archiving::start_with(|_| {
        "[[schedule]]\nname = \"base\"\nsources = [\"pg\"]\ndestinations = [\"local\"]\n\
         retention = { last = 1 }\n"
            .to_string()
    });
    cluster.write_events(1..=2);
    let (code, doc) = cluster.dbward_json(&["backup", "--schedule", "base"]);
    assert_eq!(code, 0, "{doc:#}");
    let first = crate::common::only_backup(&doc)["id"]
        .as_str()
        .unwrap()
        .to_string();
    cluster.write_events(3..=4);
    let (code, doc) = cluster.dbward_json(&["backup", "--schedule", "base"]);
    assert_eq!(code, 0, "{doc:#}");
    let kept = crate::common::only_backup(&doc)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, shown) = cluster.dbward_json(&["show", &kept]);
    let kept_start = shown["manifest"]["base_backup"]["start_wal_file"]
        .as_str()
        .unwrap()
        .to_string();
    cluster.write_events(5..=6);
    let before = archived_in(&cluster.wal_folder());
    assert!(
        before.iter().any(|n| n < &kept_start),
        "segments older than the kept backup were archived: {before:?}"
    );

    let (code, dry) = cluster.dbward_json(&["prune", "--dry-run"]);
    assert_eq!(code, 0, "{dry:#}");
    assert_eq!(
        archived_in(&cluster.wal_folder()),
        before,
        "a dry run deletes nothing"
    );

    let (code, pruned) = cluster.dbward_json(&["prune"]);
    assert_eq!(code, 0, "{pruned:#}");
    assert_eq!(pruned["removed"][0]["id"], first.as_str(), "{pruned:#}");
    let after = archived_in(&cluster.wal_folder());
    let expected: Vec<String> = before
        .iter()
        .filter(|n| n.ends_with(".history") || n.as_str() >= kept_start.as_str())
        .cloned()
        .collect();
    assert_eq!(after, expected, "{pruned:#}");
    assert_eq!(dry["wal"][0]["removed"], pruned["wal"][0]["removed"]);
    // The stored bytes went with their entries, and the catalog forgot them.
    let leftovers: Vec<String> = std::fs::read_dir(cluster.wal_folder())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.as_str() < kept_start.as_str() && !n.contains(".history"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let recorded: Vec<String> = cluster
        .catalog_wal_files()
        .into_iter()
        .map(|(name, _, _)| name)
        .collect();
    assert!(
        recorded.iter().all(|n| n.as_str() >= kept_start.as_str()),
        "{recorded:?}"
    );

    // The oldest kept base backup still recovers to the newest write.
    let dir = cluster.restore_dir("after-prune");
    let (code, summary) = cluster.dbward_json(&restore_args(&dir, &["--latest"]));
    assert_eq!(code, 0, "{summary:#}");
    assert_eq!(summary["backup_id"], kept.as_str(), "{summary:#}");
    assert_eq!(cluster.events_in(&dir), "1,2,3,4,5,6");
}

/// One problem of `status --json` of `kind`, if any.
fn problem_of<'a>(status: &'a Value, kind: &str) -> Option<&'a Value> {
    status["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == kind)
}

#[test]
fn status_shows_the_newest_archived_segment_and_reports_a_stopped_archive_and_a_gap() {
    let cluster = Archiving::start();
    cluster.write_events(1..=1);
    let (code, doc) = cluster.dbward_json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    cluster.write_event(2);
    let lost = cluster.switch_and_archive();
    cluster.write_event(3);
    let newest = cluster.switch_and_archive();

    let (code, status) = cluster.dbward_json(&["status"]);
    let wal = &status["wal"][0];
    assert_eq!(wal["source"], "pg", "{status:#}");
    assert_eq!(wal["newest"], newest.as_str(), "{status:#}");
    assert!(wal["age_seconds"].as_i64().unwrap() < 60, "{status:#}");
    assert_eq!(wal["missing_segments"], 0, "{status:#}");
    assert!(problem_of(&status, "archiving").is_none(), "{status:#}");
    assert!(problem_of(&status, "wal_gap").is_none(), "{status:#}");
    // Only the warnings of a single, local copy.
    assert_eq!(code, 1, "{status:#}");

    // A segment that never reached dbward (an archive_command that skipped it, say).
    let catalog = rusqlite::Connection::open(cluster.env.path("state/catalog.db")).unwrap();
    catalog
        .execute("DELETE FROM wal_files WHERE name = ?1", [&lost])
        .unwrap();
    let (code, status) = cluster.dbward_json(&["status"]);
    assert_eq!(code, 2, "{status:#}");
    assert_eq!(status["wal"][0]["missing_segments"], 1, "{status:#}");
    let gap = problem_of(&status, "wal_gap").expect("a wal_gap problem");
    assert_eq!(gap["severity"], "critical");
    assert!(gap["message"].as_str().unwrap().contains(&lost), "{gap:#}");

    // Archiving that stopped: nothing newer than the expected interval.
    let config = std::fs::read_to_string(cluster.env.config()).unwrap();
    std::fs::write(
        cluster.env.config(),
        config.replace(
            "pitr = true\n",
            "pitr = true\nwal_archive_interval = \"1s\"\n",
        ),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(2100));
    let out = cluster.dbward(&["status"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(2), "{text}{}", stderr(&out));
    assert!(
        text.contains("CRITICAL archiving pg/*") && text.contains(&newest),
        "{text}"
    );
    assert!(text.contains("MISSING FILES"), "{text}");

    // /metrics says the same, and passes promtool.
    let daemon = crate::daemon::Daemon::start(&cluster.env, true);
    let metrics = daemon.metrics();
    assert_eq!(
        metrics.get("dbward_wal_missing_segments{source=\"pg\"}"),
        Some(&1.0),
        "{metrics:?}"
    );
    let age = metrics["dbward_wal_archive_age_seconds{source=\"pg\"}"];
    assert!((2.0..600.0).contains(&age), "{metrics:?}");
    assert!(metrics.contains_key("dbward_wal_last_archived_timestamp_seconds{source=\"pg\"}"));
    assert_eq!(
        metrics.get("dbward_health_problems{kind=\"wal_gap\",severity=\"critical\"}"),
        Some(&1.0),
        "{metrics:?}"
    );
}

#[test]
fn the_pitr_drill_recovers_exactly_up_to_its_marker_records_its_rto_and_fails_on_a_lost_segment() {
    let cluster = Archiving::start();
    cluster.write_events(1..=1);
    let (code, doc) = cluster.dbward_json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let base = crate::common::only_backup(&doc)["id"]
        .as_str()
        .unwrap()
        .to_string();
    cluster.write_event(2);
    let config = std::fs::read_to_string(cluster.env.config()).unwrap();
    std::fs::write(
        cluster.env.config(),
        config.replace("pitr = true\n", "pitr = true\npitr_drill_marker = true\n"),
    )
    .unwrap();

    let (code, drilled) = cluster.dbward_json(&["verify", "--pitr", "--source", "pg"]);
    assert_eq!(code, 0, "{drilled:#}");
    let result = &drilled["verifications"][0];
    assert_eq!(result["backup_id"], base.as_str(), "{drilled:#}");
    assert_eq!(result["level"], "drill");
    assert!(result["restore_ms"].as_u64().unwrap() > 0, "{drilled:#}");
    let checks = result["checks"].as_array().unwrap();
    let markers = checks.iter().find(|c| c["name"] == "markers").unwrap();
    assert_eq!(markers["ok"], true, "{drilled:#}");
    // Both markers are on the source; the one after the target was not recovered.
    assert_eq!(
        cluster
            .pg
            .sql("postgres", "SELECT count(*) FROM dbward_pitr_drill.markers"),
        "2"
    );
    let scratch: Vec<_> = std::fs::read_dir(cluster.env.path("state/drills"))
        .unwrap()
        .collect();
    assert!(scratch.is_empty(), "the scratch cluster is removed");
    let (_, status) = cluster.dbward_json(&["status"]);
    assert!(
        !status["databases"][0]["last_drill"].is_null(),
        "{status:#}"
    );

    // The base backup's first WAL file lost from the archive: the drill fails, naming it,
    // and status reports the failed drill.
    let (_, shown) = cluster.dbward_json(&["show", &base]);
    let start_file = shown["manifest"]["base_backup"]["start_wal_file"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::remove_file(cluster.wal_folder().join(format!("{start_file}.json"))).unwrap();
    // What a killed drill left in its directory is removed by the next drill.
    let leftover = cluster.env.path("state/drills/pitr-pg");
    std::fs::create_dir(&leftover).unwrap();
    std::fs::write(leftover.join("PG_VERSION"), "16\n").unwrap();
    if running_as_root() {
        Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&leftover)
            .status()
            .unwrap();
    }
    let (code, drilled) = cluster.dbward_json(&["verify", "--pitr", "--source", "pg"]);
    assert!(!leftover.exists(), "{drilled:#}");
    assert_eq!(code, 1, "{drilled:#}");
    let result = &drilled["verifications"][0];
    assert_eq!(result["ok"], false);
    assert!(
        result["error"].as_str().unwrap().contains(&start_file),
        "{drilled:#}"
    );
    let (code, status) = cluster.dbward_json(&["status"]);
    assert_eq!(code, 2, "{status:#}");
    assert!(problem_of(&status, "verify_failed").is_some(), "{status:#}");

    let out = cluster.dbward(&["verify", "--pitr"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--pitr needs --source"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_daemons_drill_cadence_runs_the_pitr_drill_of_a_pitr_source() {
    let cluster = Archiving::start_with(|_| {
        "[[schedule]]\nname = \"base\"\nsources = [\"pg\"]\ndestinations = [\"local\"]\n\
         drill = \"*/2 * * * * *\"\n"
            .to_string()
    });
    cluster.write_events(1..=1);
    let (code, doc) = cluster.dbward_json(&["backup", "--schedule", "base"]);
    assert_eq!(code, 0, "{doc:#}");
    let base = crate::common::only_backup(&doc)["id"]
        .as_str()
        .unwrap()
        .to_string();

    let log = cluster.env.path("daemon.log");
    let config = cluster.env.config();
    let mut daemon = as_owner(&binary(), &["--config", config.to_str().unwrap(), "daemon"])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let waited = std::panic::catch_unwind(|| {
        wait_for("the daemon's PITR drill", Duration::from_secs(120), || {
            read_log().contains("PITR drill")
        })
    });
    // SIGTERM (runuser passes it on), so that no daemon outlives the test.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(daemon.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let _ = daemon.wait();
    assert!(waited.is_ok(), "{}", read_log());
    assert!(read_log().contains("PITR drill passed"), "{}", read_log());
    let (_, shown) = cluster.dbward_json(&["show", &base]);
    let drills: Vec<&Value> = shown["verifications"]
        .as_array()
        .unwrap_or_else(|| panic!("{shown:#}"))
        .iter()
        .filter(|v| v["level"] == "drill")
        .collect();
    assert!(!drills.is_empty(), "{shown:#}");
    assert_eq!(drills[0]["ok"], true, "{shown:#}");
}

#[test]
fn a_rebuilt_catalog_records_the_archived_wal_so_status_sees_no_gap() {
    let cluster = Archiving::start();
    cluster.write_events(1..=1);
    let (code, doc) = cluster.dbward_json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    cluster.write_event(2);
    cluster.switch_and_archive();
    let newest = cluster.switch_and_archive();
    let archived = archived_in(&cluster.wal_folder()).len();

    for file in ["catalog.db", "catalog.db-wal", "catalog.db-shm"] {
        let _ = std::fs::remove_file(cluster.env.path("state").join(file));
    }
    let (code, rebuilt) = cluster.dbward_json(&["catalog", "rebuild", "--from", "local"]);
    assert_eq!(code, 0, "{rebuilt:#}");
    assert_eq!(rebuilt["wal_files"], archived, "{rebuilt:#}");
    let (_, status) = cluster.dbward_json(&["status"]);
    assert_eq!(status["wal"][0]["newest"], newest.as_str(), "{status:#}");
    assert_eq!(status["wal"][0]["missing_segments"], 0, "{status:#}");
    assert!(problem_of(&status, "wal_gap").is_none(), "{status:#}");

    // An entry no trusted key signed is not recorded.
    let forged = cluster.wal_folder().join(format!("{newest}.json"));
    let mut entry: Value =
        serde_json::from_str(&std::fs::read_to_string(&forged).unwrap()).unwrap();
    entry["bytes"] = Value::from(1);
    std::fs::write(&forged, entry.to_string()).unwrap();
    let out = cluster.dbward(&["catalog", "rebuild", "--from", "local"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("{newest}.json: not recorded")),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
