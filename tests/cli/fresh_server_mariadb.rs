//! The fresh-server disaster drill of a MariaDB source (F23): an empty private MariaDB gets
//! the users, roles and grants, then every database, each compared with its manifest; the
//! whole rebuild is the measured RTO, and the server and its directory are gone afterwards.

use std::path::Path;

use dbward_testkit::MariaServer;
use serde_json::Value;

use crate::common::{Env, stderr};
use crate::postgres::write_secret;

const DRILL: [&str; 6] = [
    "verify",
    "--level",
    "drill",
    "--fresh-server",
    "--source",
    "maria",
];

/// Runs the drill with `tmp` as the temporary directory, where the fresh server lives.
fn drill(env: &Env, tmp: &Path) -> (i32, Value) {
    let mut args = vec!["--json"];
    args.extend_from_slice(&DRILL);
    let out = env.cmd(&args).env("TMPDIR", tmp).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {stdout}\n{}", stderr(&out)));
    (out.status.code().unwrap_or(-1), value)
}

fn fresh_dirs(tmp: &Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("dbward-fresh-"))
        .collect()
}

/// Two databases and a user whose grants on both come through a role and directly: the
/// drill rebuilds all of it on an empty server and passes; with one database's backup lost
/// from storage it fails naming that database; without the server programs it refuses.
#[test]
fn a_mariadb_fresh_server_drill_rebuilds_users_and_databases_and_names_a_missing_one() {
    let server = MariaServer::shared();
    let first = server.create_database("cli_fresh_maria_a");
    let second = server.create_database("cli_fresh_maria_b");
    let user = format!("{}_u", first.name);
    let role = format!("{}_r", first.name);
    server.sql(
        "mysql",
        &format!(
            "CREATE USER '{user}'@'%' IDENTIFIED BY 'fresh-secret-1'; CREATE ROLE {role};
             GRANT SELECT ON `{0}`.* TO {role}; GRANT {role} TO '{user}'@'%';
             GRANT ALL ON `{1}`.* TO '{user}'@'%'; SET DEFAULT ROLE {role} FOR '{user}'@'%';",
            first.name, second.name
        ),
    );
    first.sql(
        "CREATE TABLE t(x int PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3);
         CREATE VIEW v AS SELECT x FROM t;",
    );
    second.sql("CREATE TABLE u(y varchar(10)); INSERT INTO u VALUES ('a'), ('b');");
    let env = Env::new(&format!(
        "state_dir = \"state\"\n\
         [[source]]\nname = \"maria\"\nengine = \"mariadb\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\n\
         password = {{ file = \"maria.secret\" }}\ndatabases = [\"{}\", \"{}\"]\nglobals = true\n\
         [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n",
        server.host, server.port, server.user, first.name, second.name
    ));
    write_secret(&env.path("maria.secret"), &server.password);
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let tmp = tempfile::tempdir().unwrap();
    // As root the server runs as the system user mysql, which must reach its directory.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    }

    let (code, drilled) = drill(&env, tmp.path());
    assert_eq!(code, 0, "{drilled:#}");
    let results = drilled["verifications"].as_array().unwrap();
    let databases: Vec<&str> = results
        .iter()
        .map(|r| r["database"].as_str().unwrap())
        .collect();
    assert_eq!(databases[0], "*globals*", "{drilled:#}");
    assert_eq!(results.len(), 3, "globals and both databases: {drilled:#}");
    for database in [&first.name, &second.name] {
        assert!(databases.contains(&database.as_str()), "{databases:?}");
    }
    for result in results {
        assert_eq!(result["ok"], true, "{result:#}");
        assert!(result["restore_ms"].as_u64().is_some(), "{result:#}");
    }
    let checks = results[0]["checks"].as_array().unwrap();
    let check = |name: &str| {
        checks
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no check {name}: {checks:#?}"))["detail"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(!check("roles").starts_with("created 0 "), "{checks:#?}");
    check(&format!("database {}", first.name));
    check(&format!("database {}", second.name));
    assert!(check("rebuild").contains("measured RTO"), "{checks:#?}");
    assert_eq!(check("fresh server"), "stopped and removed");
    let database_checks: Vec<&str> = results
        .iter()
        .skip(1)
        .flat_map(|r| r["checks"].as_array().unwrap())
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for expected in ["restore", "table t", "table u", "objects"] {
        assert!(database_checks.contains(&expected), "{database_checks:?}");
    }
    assert_eq!(
        fresh_dirs(tmp.path()),
        Vec::<String>::new(),
        "the server's directory is removed"
    );

    // The second database's artifact is lost from storage: a rebuild would lack it.
    let path = doc["backups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["database"] == second.name.as_str())
        .unwrap()["copies"][0]["path"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::remove_file(env.path("backups").join(path)).unwrap();
    let (code, failed) = drill(&env, tmp.path());
    assert_eq!(code, 1, "{failed:#}");
    let whole = &failed["verifications"][0];
    assert_eq!(whole["ok"], false, "{failed:#}");
    let error = whole["error"].as_str().unwrap();
    assert!(
        error.contains(&format!("database {}", second.name)),
        "{whole:#}"
    );
    assert_eq!(
        fresh_dirs(tmp.path()),
        Vec::<String>::new(),
        "the server's directory is removed after a failed drill too"
    );

    // A source that selects none of the server's databases has nothing to rebuild: no pass.
    let config = std::fs::read_to_string(env.config()).unwrap();
    let selecting_none = config.replacen(
        &format!("databases = [\"{}\", \"{}\"]", first.name, second.name),
        "databases = [\"no_such_database_*\"]",
        1,
    );
    std::fs::write(env.config(), selecting_none).unwrap();
    let (code, empty_drill) = drill(&env, tmp.path());
    assert_eq!(code, 1, "{empty_drill:#}");
    let error = empty_drill["verifications"][0]["error"].as_str().unwrap();
    assert!(
        error.starts_with("databases: ") && error.contains("lists no database"),
        "{empty_drill:#}"
    );
    std::fs::write(env.config(), &config).unwrap();

    // Without the server programs the drill refuses, naming them and what to do.
    let empty = tempfile::tempdir().unwrap();
    let with_tool_dir = config.replacen(
        "globals = true\n",
        &format!(
            "globals = true\ntool_dir = \"{}\"\n",
            empty.path().display()
        ),
        1,
    );
    std::fs::write(env.config(), with_tool_dir).unwrap();
    let out = env.cmd(&DRILL).env("TMPDIR", tmp.path()).output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    let said = stderr(&out);
    assert!(
        said.contains("mariadbd") && said.contains("install the mariadb-server package"),
        "{said}"
    );
    assert_eq!(fresh_dirs(tmp.path()), Vec::<String>::new());
}

/// A MariaDB drill server dies with a killed dbward; the next drill removes its directory.
#[test]
fn a_killed_mariadb_drill_takes_its_server_along_and_the_next_drill_removes_the_leftover() {
    use crate::fresh_server_pg::{fresh_dir_paths, processes_in, shared_tmp};
    let server = MariaServer::shared();
    let db = server.create_database("cli_fresh_maria_kill");
    db.sql("CREATE TABLE t(x int); INSERT INTO t VALUES (1), (2);");
    let env = Env::new(&format!(
        "state_dir = \"state\"\n\
         [[source]]\nname = \"maria\"\nengine = \"mariadb\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\n\
         password = {{ file = \"maria.secret\" }}\ndatabases = [\"{}\"]\nglobals = true\n\
         [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n",
        server.host, server.port, server.user, db.name
    ));
    write_secret(&env.path("maria.secret"), &server.password);
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let tmp = shared_tmp("dbward-maria-killtest", None, 0o711);

    let mut dbward = env
        .cmd(&DRILL)
        .env("TMPDIR", &tmp)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The server itself (mariadb-install-db's bootstrap has no init file), once setpriv has
    // become it.
    crate::common::wait_for(
        "the drill's mariadbd",
        std::time::Duration::from_secs(60),
        || {
            processes_in(&tmp).iter().any(|(_, cmdline)| {
                cmdline.contains("--init-file=") && !cmdline.contains("setpriv")
            })
        },
    );
    dbward.kill().unwrap();
    dbward.wait().unwrap();
    crate::common::wait_for(
        "the drill's server to die with dbward",
        std::time::Duration::from_secs(20),
        || processes_in(&tmp).is_empty(),
    );
    let left = fresh_dir_paths(&tmp);
    assert_eq!(left.len(), 1, "dbward left its directory: {left:?}");

    let out = env.cmd(&DRILL).env("TMPDIR", &tmp).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("removed {}", left[0].display())),
        "{}",
        stderr(&out)
    );
    assert!(fresh_dir_paths(&tmp).is_empty());
    std::fs::remove_dir_all(&tmp).unwrap();
}
