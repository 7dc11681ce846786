//! The fidelity suite: a database holding every object kind and column type the engine has
//! (tests/fixtures/fidelity/) is backed up with dbward, restored under another name, and the
//! test kit's compare tool must find the copy identical to the source: schema from the
//! catalogs, every row at full text precision, sequences at their current values, history
//! rows of system-versioned tables, large objects, grants and comments.

use dbward_testkit::fidelity::{Database, differences, fingerprint};
use dbward_testkit::{MariaServer, PgServer};

use crate::common::Env;
use crate::postgres::{pg_env, write_secret};

const POSTGRES_FIXTURE: &str = include_str!("../fixtures/fidelity/postgres.sql");
const MARIADB_FIXTURE: &str = include_str!("../fixtures/fidelity/mariadb.sql");

fn assert_identical(source: Database<'_>, copy: Database<'_>) {
    let differ = differences(&fingerprint(source), &fingerprint(copy));
    assert!(
        differ.is_empty(),
        "{copy:?} differs from {source:?}:\n{}",
        differ.join("\n")
    );
}

fn restore_as(env: &Env, source: &str, database: &str, copy: &str) {
    let (code, doc) = env.json(&[
        "restore",
        "--latest",
        "--source",
        source,
        "--database",
        database,
        "--to-database",
        copy,
    ]);
    assert_eq!(code, 0, "{doc:#}");
}

#[test]
fn postgres_fixture_restores_identical_under_another_name() {
    let server = PgServer::shared();
    let db = server.create_database("cli_fidelity");
    db.sql(POSTGRES_FIXTURE);
    let copy = format!("{}_copy", db.name);
    let env = pg_env(server, &[&db.name], "");
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    restore_as(&env, "pg", &db.name, &copy);
    let result = std::panic::catch_unwind(|| {
        assert_identical(Database::Pg(server, &db.name), Database::Pg(server, &copy))
    });
    server.sql("postgres", &format!("DROP DATABASE \"{copy}\""));
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn mariadb_fixture_restores_identical_under_another_name() {
    let server = MariaServer::shared();
    let db = server.create_database("cli_fidelity");
    db.sql(MARIADB_FIXTURE);
    let copy = format!("{}_copy", db.name);
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
    // MariaDB stores `DEFAULT NEXTVAL(ticket_seq)` qualified with the database's name, and
    // no dump option changes that: the backup warns, naming the column.
    let warnings = crate::common::only_backup(&doc)["warnings"].to_string();
    assert!(
        warnings.contains("column `tickets`.`id`: its default"),
        "{doc:#}"
    );
    restore_as(&env, "maria", &db.name, &copy);
    let result = std::panic::catch_unwind(|| {
        let source = fingerprint(Database::Maria(server, &db.name));
        let mut restored = fingerprint(Database::Maria(server, &copy));
        // That warned-about default is the one difference: it still names the source.
        let (qualified, own) = (format!("`{}`.", db.name), "`<database>`.");
        for text in restored.0.values_mut() {
            *text = text.replace(&qualified, own);
        }
        let differ = differences(&source, &restored);
        assert!(differ.is_empty(), "{}", differ.join("\n"));
    });
    server.sql("", &format!("DROP DATABASE `{copy}`"));
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
