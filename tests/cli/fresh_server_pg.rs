//! The PostgreSQL side of F23's rebuild: a fresh-server drill's private server dies with a
//! killed dbward and the next drill removes what it left; `restore --globals` names a
//! tablespace whose location the target lacks, with the fix, and creates it once it exists.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use dbward_testkit::PgServer;

use crate::common::{all_cmdlines, stderr, wait_for};
use crate::postgres::{pg_env, write_secret};

/// A new empty directory under /tmp that the server's system user can reach (as root the
/// servers run as `postgres`); `owner` takes it over when set.
pub(crate) fn shared_tmp(prefix: &str, owner: Option<&str>, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!(
        "{prefix}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
    if let Some(owner) = owner.filter(|_| nix::unistd::geteuid().is_root()) {
        let status = std::process::Command::new("chown")
            .arg(owner)
            .arg(&dir)
            .status()
            .unwrap();
        assert!(status.success(), "chown {owner} {}", dir.display());
    }
    dir
}

/// The processes whose command line names `dir`.
pub(crate) fn processes_in(dir: &Path) -> Vec<(u32, String)> {
    let needle = dir.to_string_lossy().into_owned();
    all_cmdlines()
        .into_iter()
        .filter(|(_, cmdline)| cmdline.contains(&needle))
        .collect()
}

/// The fresh servers' directories under `dir`.
pub(crate) fn fresh_dir_paths(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("dbward-fresh-"))
        .map(|e| e.path())
        .collect()
}

#[test]
fn a_killed_drill_takes_its_server_along_and_the_next_drill_removes_the_leftover() {
    let server = PgServer::shared();
    let db = server.create_database("cli_fresh_kill");
    // Enough rows that the restore is still running when dbward is killed.
    db.sql(
        "CREATE TABLE big AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 300000) g;",
    );
    let env = pg_env(server, &[&db.name], "globals = true\n");
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    // Its own temporary directory, so that other tests' drills are not in the way.
    let tmp = shared_tmp("dbward-killtest", None, 0o755);
    let drill = [
        "verify",
        "--level",
        "drill",
        "--fresh-server",
        "--source",
        "pg",
    ];

    let mut dbward = env
        .cmd(&drill)
        .env("TMPDIR", &tmp)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(
        "the drill's postgres server",
        Duration::from_secs(60),
        || {
            processes_in(&tmp).iter().any(|(_, cmdline)| {
                cmdline.contains("bin/postgres -D") && !cmdline.contains("setpriv")
            })
        },
    );
    dbward.kill().unwrap(); // SIGKILL: dbward cleans nothing up
    dbward.wait().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !processes_in(&tmp).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the drill's server outlived dbward by 30 s: {:#?}",
            processes_in(&tmp)
                .iter()
                .map(|(pid, cmdline)| (
                    cmdline,
                    std::fs::read_to_string(format!("/proc/{pid}/status"))
                        .unwrap_or_default()
                        .lines()
                        .filter(|l| ["State", "PPid", "Uid"].iter().any(|k| l.starts_with(k)))
                        .collect::<Vec<_>>()
                        .join("; ")
                ))
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let left = fresh_dir_paths(&tmp);
    assert_eq!(left.len(), 1, "dbward left its directory: {left:?}");

    let out = env.cmd(&drill).env("TMPDIR", &tmp).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("removed {}", left[0].display())),
        "{}",
        stderr(&out)
    );
    assert!(
        fresh_dir_paths(&tmp).is_empty(),
        "{:?}",
        fresh_dir_paths(&tmp)
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn restore_globals_names_a_tablespace_whose_location_is_missing_then_creates_it() {
    let source = PgServer::start_private(std::process::id()).expect("a private PostgreSQL server");
    let target = PgServer::start_private(std::process::id()).expect("a private PostgreSQL server");
    let location = shared_tmp("dbward-tablespace", Some("postgres"), 0o700);
    source.sql(
        "postgres",
        &format!(
            "CREATE TABLESPACE fid_space LOCATION '{}'",
            location.display()
        ),
    );
    let env = pg_env(
        &source,
        &[],
        &format!(
            "globals = true\n\
             [[source]]\nname = \"fresh\"\nengine = \"postgres\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\n\
             password = {{ file = \"fresh.secret\" }}\ndatabases = []\n",
            target.host, target.port, target.user
        ),
    );
    write_secret(&env.path("fresh.secret"), &target.password);
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    // The source's machine had the directory; the target's has not.
    source.sql("postgres", "DROP TABLESPACE fid_space");
    std::fs::remove_dir(&location).unwrap();

    let apply = [
        "restore",
        "--globals",
        "--latest",
        "--source",
        "pg",
        "--to-source",
        "fresh",
    ];
    let out = env.run(&apply);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains(&format!(
            "CREATE TABLESPACE fid_space: its location {} does not exist on the target server; create that directory there",
            location.display()
        )),
        "{said}"
    );
    let tablespaces = "SELECT count(*) FROM pg_tablespace WHERE spcname = 'fid_space'";
    assert_eq!(target.sql("postgres", tablespaces), "0");

    // Once the directory exists, the same command creates it.
    let again = shared_tmp("unused", Some("postgres"), 0o700);
    std::fs::rename(&again, &location).unwrap();
    let out = env.run(&apply);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        target.sql(
            "postgres",
            "SELECT pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname = 'fid_space'"
        ),
        location.display().to_string()
    );
    target.sql("postgres", "DROP TABLESPACE fid_space");
    let _ = std::fs::remove_dir_all(&location);
}
