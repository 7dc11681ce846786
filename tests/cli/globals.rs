//! Server-wide objects (F23): `globals = true` backs up roles, memberships and database
//! owners; `restore --globals` rebuilds them on a fresh private server, keeping what exists;
//! a restore onto a server without the owner role refuses and names the command to run.

use dbward_testkit::PgServer;
use serde_json::Value;

use crate::common::{Env, stderr, stdout};
use crate::postgres::{pg_env, write_secret};

/// A role-owned database on the shared server, backed up with `globals = true`, and a
/// second source `fresh`: a private server started empty for this test.
struct Rebuild {
    env: Env,
    fresh: PgServer,
    database: String,
    owner: String,
    reader: String,
    _db: dbward_testkit::TestDb,
}

const OWNER_PASSWORD: &str = "owner-secret-1";

fn rebuild_setup(prefix: &str) -> Rebuild {
    let server = PgServer::shared();
    let db = server.create_database(prefix);
    // Unique like the database's name, which they extend.
    let owner = format!("{}_owner", db.name);
    let reader = format!("{}_reader", db.name);
    server.sql(
        "postgres",
        &format!(
            "CREATE ROLE {owner} LOGIN PASSWORD '{OWNER_PASSWORD}'; CREATE ROLE {reader};
             GRANT {reader} TO {owner}; ALTER DATABASE {0} OWNER TO {owner};
             ALTER DATABASE {0} SET work_mem = '7MB';
             ALTER DATABASE {0} SET search_path = app, \"My Schema\", public;",
            db.name
        ),
    );
    db.sql(&format!(
        "CREATE TABLE t(x int); INSERT INTO t VALUES (1), (2), (3);
         ALTER TABLE t OWNER TO {owner}; GRANT SELECT ON t TO {reader};"
    ));
    let fresh = PgServer::start_private(std::process::id()).expect("a private PostgreSQL server");
    let extra = format!(
        "globals = true\n\
         [[source]]\nname = \"fresh\"\nengine = \"postgres\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\n\
         password = {{ file = \"fresh.secret\" }}\ndatabases = []\n",
        fresh.host, fresh.port, fresh.user
    );
    let env = pg_env(server, &[&db.name], &extra);
    write_secret(&env.path("fresh.secret"), &fresh.password);
    Rebuild {
        env,
        fresh,
        database: db.name.clone(),
        owner,
        reader,
        _db: db,
    }
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// Whether `role` logs in to `server` with `password`.
fn logs_in(server: &PgServer, role: &str, password: &str) -> bool {
    let mut login = server.with_password(password);
    login.user = role.to_string();
    login.try_sql("postgres", "SELECT 1").is_ok()
}

#[test]
fn globals_rebuild_a_role_owned_database_on_a_fresh_server() {
    let setup = rebuild_setup("cli_globals");
    let (env, fresh) = (&setup.env, &setup.fresh);
    let out = env.run(&["check"]);
    let globals_line = stdout(&out)
        .lines()
        .find(|l| l.contains("source pg: globals"))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("{}", stdout(&out)));
    assert!(
        globals_line.starts_with("ok") && globals_line.contains("pg_dumpall"),
        "{globals_line}"
    );
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let backups = doc["backups"].as_array().unwrap();
    let globals = backups
        .iter()
        .find(|b| b["database"] == "*globals*")
        .unwrap_or_else(|| panic!("a globals backup: {doc:#}"));
    assert_eq!(globals["status"], "succeeded", "{globals:#}");
    let (_, shown) = env.json(&["show", globals["id"].as_str().unwrap()]);
    let manifest = &shown["manifest"];
    let roles = strings(&manifest["globals"]["roles"]);
    assert!(
        roles.contains(&setup.owner) && roles.contains(&setup.reader),
        "{manifest:#}"
    );
    assert_eq!(manifest["globals"]["passwords"], true);
    let owners = manifest["globals"]["databases"].as_array().unwrap();
    assert!(
        owners
            .iter()
            .any(|d| d["database"] == setup.database.as_str() && d["owner"] == setup.owner.as_str()),
        "{manifest:#}"
    );
    let (code, verified) = env.json(&[
        "verify",
        globals["id"].as_str().unwrap(),
        "--level",
        "drill",
    ]);
    assert_eq!(code, 0, "{verified:#}");

    // Without the roles, the database restore refuses before creating anything.
    let restore_db = [
        "restore",
        "--latest",
        "--source",
        "pg",
        "--database",
        &setup.database,
        "--to-source",
        "fresh",
    ];
    let out = env.run(&restore_db);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains(&format!("role \"{}\" does not exist", setup.owner)),
        "{said}"
    );
    assert!(
        said.contains("dbward restore --globals --latest --source pg --to-source fresh"),
        "{said}"
    );
    assert_eq!(
        fresh.sql(
            "postgres",
            &format!(
                "SELECT count(*) FROM pg_database WHERE datname = '{}'",
                setup.database
            )
        ),
        "0"
    );

    let apply = [
        "restore",
        "--globals",
        "--latest",
        "--source",
        "pg",
        "--to-source",
        "fresh",
    ];
    let (code, applied) = env.json(&apply);
    assert_eq!(code, 0, "{applied:#}");
    let created = strings(&applied["created"]);
    assert!(
        created.contains(&setup.owner) && created.contains(&setup.reader),
        "{applied:#}"
    );
    assert!(
        strings(&applied["kept"]).contains(&"postgres".to_string()),
        "{applied:#}"
    );
    assert!(
        logs_in(fresh, &setup.owner, OWNER_PASSWORD),
        "the owner logs in with its old password"
    );
    assert_eq!(
        fresh.sql(
            "postgres",
            &format!(
                "SELECT pg_has_role('{}', '{}', 'MEMBER')",
                setup.owner, setup.reader
            )
        ),
        "t"
    );

    let (code, restored) = env.json(&restore_db);
    assert_eq!(code, 0, "{restored:#}");
    assert_eq!(
        fresh.sql(
            &setup.database,
            "SELECT tableowner || ' ' || count(*) OVER () FROM pg_tables WHERE tablename = 't'"
        ),
        format!("{} 1", setup.owner)
    );

    // Run again once the database exists: its owner and settings apply, every role is kept
    // as the target has it — its password, and its memberships too.
    fresh.sql(
        "postgres",
        &format!(
            "ALTER ROLE {0} PASSWORD 'changed-on-target'; REVOKE {1} FROM {0};",
            setup.owner, setup.reader
        ),
    );
    let (code, again) = env.json(&apply);
    assert_eq!(code, 0, "{again:#}");
    assert!(strings(&again["created"]).is_empty(), "{again:#}");
    assert!(strings(&again["kept"]).contains(&setup.owner), "{again:#}");
    assert!(
        strings(&again["databases"]).contains(&setup.database),
        "{again:#}"
    );
    assert_eq!(
        fresh.sql("postgres", &format!(
            "SELECT pg_get_userbyid(datdba) || ' ' || (SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting s WHERE s.setdatabase = d.oid AND s.setrole = 0) FROM pg_database d WHERE datname = '{}'",
            setup.database
        )),
        format!(
            "{} work_mem=7MB,search_path=app, \"My Schema\", public",
            setup.owner
        )
    );
    assert!(
        logs_in(fresh, &setup.owner, "changed-on-target"),
        "an existing role's password is kept"
    );
    assert_eq!(
        fresh.sql(
            "postgres",
            &format!(
                "SELECT pg_has_role('{}', '{}', 'MEMBER')",
                setup.owner, setup.reader
            )
        ),
        "f",
        "an existing role gains no membership"
    );
    assert!(
        strings(&again["skipped"])
            .iter()
            .any(|s| s.contains(&format!(
                "role {} exists on the target and is not changed",
                setup.owner
            ))),
        "{again:#}"
    );

    let out = env.run(&[
        "restore",
        "--globals",
        "--latest",
        "--source",
        "pg",
        "--to-source",
        "fresh",
        "--overwrite-passwords",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("set the password of role {}", setup.owner)),
        "{}",
        stdout(&out)
    );
    assert!(
        logs_in(fresh, &setup.owner, OWNER_PASSWORD),
        "--overwrite-passwords sets it back"
    );
    assert!(!stdout(&out).contains("SCRAM"), "no hash is ever printed");
}

#[test]
fn globals_and_database_backups_are_not_interchangeable_and_globals_need_no_catalog() {
    let setup = rebuild_setup("cli_globals_kinds");
    let env = &setup.env;
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let id_of = |database: &str| {
        doc["backups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["database"] == database)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let out = env.run(&[
        "restore",
        "--globals",
        &id_of(&setup.database),
        "--to-source",
        "fresh",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("restore it without --globals"),
        "{}",
        stderr(&out)
    );

    let globals = id_of("*globals*");
    let out = env.run(&[
        "restore",
        &globals,
        "--to-source",
        "fresh",
        "--to-database",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("dbward restore --globals {globals}")),
        "{}",
        stderr(&out)
    );

    // The lost machine: no catalog, the roles come back from the destination's manifests.
    crate::common::lose_state_keeping_trust(env);
    let (code, applied) = env.json(&[
        "restore",
        "--globals",
        "--latest",
        "--source",
        "pg",
        "--to-source",
        "fresh",
        "--from",
        "local",
    ]);
    assert_eq!(code, 0, "{applied:#}");
    assert_eq!(applied["backup_id"], globals.as_str(), "{applied:#}");
    assert!(
        strings(&applied["created"]).contains(&setup.owner),
        "{applied:#}"
    );
}

/// The disaster drill: an empty private server gets the roles, then the database, which
/// must come back whole with its owner; the whole rebuild is the measured RTO. With the
/// database's backup gone from storage the drill fails, naming it.
#[test]
fn a_fresh_server_drill_rebuilds_the_source_and_fails_when_a_database_is_missing() {
    let setup = rebuild_setup("cli_globals_fresh");
    let env = &setup.env;
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let drill = [
        "verify",
        "--level",
        "drill",
        "--fresh-server",
        "--source",
        "pg",
    ];
    let (code, drilled) = env.json(&drill);
    assert_eq!(code, 0, "{drilled:#}");
    let results = drilled["verifications"].as_array().unwrap();
    assert_eq!(results.len(), 2, "globals and the database: {drilled:#}");
    assert_eq!(results[0]["database"], "*globals*");
    assert_eq!(results[1]["database"], setup.database.as_str());
    for result in results {
        assert_eq!(result["ok"], true, "{result:#}");
        assert!(result["restore_ms"].as_u64().is_some(), "{result:#}");
    }
    let names: Vec<&str> = results[0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    let database_check = format!("database {}", setup.database);
    for expected in [
        "roles",
        &database_check,
        "database owners and settings",
        "rebuild",
        "fresh server",
    ] {
        assert!(names.contains(&expected), "{expected}: {names:?}");
    }
    // The fresh server took the source's encoding and locale (the shared server's template1,
    // read here independently), not a fixed C.UTF-8.
    let server = PgServer::shared();
    let source_locale = server.sql(
        "postgres",
        "SELECT '--encoding=' || pg_encoding_to_char(encoding) || ' --lc-collate=' || datcollate || ' --lc-ctype=' || datctype FROM pg_database WHERE datname = 'template1'",
    );
    let fresh_check = results[0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "fresh server")
        .unwrap();
    assert_eq!(
        fresh_check["detail"],
        format!("initialised with the source's {source_locale}; stopped and removed"),
        "{fresh_check:#}"
    );
    let leftovers = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("dbward-fresh-"))
        .count();
    assert_eq!(leftovers, 0, "the fresh server's directory is removed");

    // The database's artifact is lost from storage: a rebuild would lack it.
    let id = doc["backups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["database"] == setup.database.as_str())
        .unwrap()["copies"][0]["path"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::remove_file(env.path("backups").join(id)).unwrap();
    let (code, failed) = env.json(&drill);
    assert_eq!(code, 1, "{failed:#}");
    let whole = &failed["verifications"][0];
    assert_eq!(whole["ok"], false, "{failed:#}");
    assert!(
        whole["error"].as_str().unwrap().contains(&database_check),
        "{whole:#}"
    );
}

/// MariaDB: users, roles, grants and default roles come back on a server that lost them,
/// with the users' password hashes; an account the server has keeps its password unless
/// `--overwrite-passwords`.
#[test]
fn mariadb_users_roles_and_grants_round_trip() {
    use dbward_testkit::MariaServer;
    let server = MariaServer::shared();
    let db = server.create_database("cli_globals_maria");
    let user = format!("{}_u", db.name);
    let role = format!("{}_r", db.name);
    let password = "maria-secret-1";
    server.sql(
        "mysql",
        &format!(
            "CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'; CREATE ROLE {role};
             GRANT SELECT ON `{0}`.* TO {role}; GRANT {role} TO '{user}'@'%';
             GRANT INSERT ON `{0}`.* TO '{user}'@'%'; SET DEFAULT ROLE {role} FOR '{user}'@'%';",
            db.name
        ),
    );
    db.sql("CREATE TABLE t(x int); INSERT INTO t VALUES (1);");
    let env = Env::new(&format!(
        "state_dir = \"state\"\n\
         [[source]]\nname = \"maria\"\nengine = \"mariadb\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\n\
         password = {{ file = \"maria.secret\" }}\ndatabases = [\"{}\"]\nglobals = true\n\
         [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n",
        server.host, server.port, server.user, db.name
    ));
    write_secret(&env.path("maria.secret"), &server.password);
    let checked = stdout(&env.run(&["check"]));
    assert!(
        checked
            .lines()
            .any(|l| l.starts_with("ok") && l.contains("source maria: globals")),
        "{checked}"
    );
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let globals = doc["backups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["database"] == "*globals*")
        .unwrap_or_else(|| panic!("{doc:#}"));
    let id = globals["id"].as_str().unwrap();
    let (_, shown) = env.json(&["show", id]);
    let accounts = strings(&shown["manifest"]["globals"]["roles"]);
    assert!(
        accounts.contains(&format!("{user}@%")) && accounts.contains(&role),
        "{shown:#}"
    );
    let (code, verified) = env.json(&["verify", id, "--level", "drill"]);
    assert_eq!(code, 0, "{verified:#}");

    let logs_in = |pw: &str| {
        let mut login = server.with_password(pw);
        login.user = user.clone();
        login.try_sql(&db.name, "SELECT count(*) FROM t").is_ok()
    };
    server.sql(
        "mysql",
        &format!("DROP USER '{user}'@'%'; DROP ROLE {role};"),
    );
    assert!(!logs_in(password));
    let apply = ["restore", "--globals", "--latest", "--source", "maria"];
    let (code, applied) = env.json(&apply);
    assert_eq!(code, 0, "{applied:#}");
    let created = strings(&applied["created"]);
    assert!(
        created.contains(&format!("{user}@%")) && created.contains(&role),
        "{applied:#}"
    );
    assert!(
        strings(&applied["kept"])
            .iter()
            .any(|a| a.starts_with("root@")),
        "{applied:#}"
    );
    assert!(
        logs_in(password),
        "the user logs in with its old password, through its role"
    );

    server.sql(
        "mysql",
        &format!(
            "SET PASSWORD FOR '{user}'@'%' = PASSWORD('changed'); REVOKE INSERT ON `{}`.* FROM '{user}'@'%';",
            db.name
        ),
    );
    let (code, again) = env.json(&apply);
    assert_eq!(code, 0, "{again:#}");
    assert!(
        strings(&again["kept"]).contains(&format!("{user}@%")),
        "{again:#}"
    );
    assert!(logs_in("changed"), "an existing account's password is kept");
    let grants = server.sql("mysql", &format!("SHOW GRANTS FOR '{user}'@'%'"));
    assert!(
        !grants.contains("INSERT"),
        "an existing account gains no grant: {grants}"
    );
    let out = env.run(&[
        "restore",
        "--globals",
        "--latest",
        "--source",
        "maria",
        "--overwrite-passwords",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(logs_in(password), "--overwrite-passwords sets it back");
    server.sql(
        "mysql",
        &format!("DROP USER '{user}'@'%'; DROP ROLE {role};"),
    );
}

/// Only a superuser may read the password hashes: `check` fails the globals line for another
/// user unless `globals_passwords = false`, which pg_dumpall can do from `pg_roles`.
#[test]
fn password_hashes_need_a_superuser_and_check_says_so() {
    let server = PgServer::shared();
    let db = server.create_database("cli_globals_nosu");
    let user = format!("{}_backup", db.name);
    let password = "backup-secret-1";
    server.sql(
        "postgres",
        &format!("CREATE ROLE {user} LOGIN PASSWORD '{password}' IN ROLE pg_read_all_data"),
    );
    let mut login = server.with_password(password);
    login.user = user.clone();
    for (passwords, ok) in [("", false), ("globals_passwords = false\n", true)] {
        let env = pg_env(&login, &[&db.name], &format!("globals = true\n{passwords}"));
        let out = env.run(&["check"]);
        let text = stdout(&out);
        let line = text
            .lines()
            .find(|l| l.contains("source pg: globals"))
            .unwrap_or_else(|| panic!("{text}"));
        assert_eq!(line.starts_with("ok"), ok, "{passwords}: {line}");
        if !ok {
            assert!(line.contains("globals_passwords = false"), "{line}");
            continue;
        }
        let (code, doc) = env.json(&["backup"]);
        assert_eq!(code, 0, "{doc:#}");
        let globals = doc["backups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["database"] == "*globals*")
            .unwrap();
        let (_, shown) = env.json(&["show", globals["id"].as_str().unwrap()]);
        assert_eq!(
            shown["manifest"]["globals"]["passwords"], false,
            "{shown:#}"
        );
        assert!(
            strings(&shown["manifest"]["options"]).contains(&"--no-role-passwords".to_string()),
            "{shown:#}"
        );
    }
    drop(db);
    server.sql("postgres", &format!("DROP ROLE {user}"));
}
