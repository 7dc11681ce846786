//! `restore --jobs N` on MariaDB: the fidelity fixture plus tables linked by foreign keys,
//! with triggers that would change rows if they fired during the load, restores with four
//! connections identical (by the test kit's compare tool) to the source and to a one-stream
//! restore; a damaged artifact fails before any client starts and leaves an existing
//! database untouched.

use dbward_testkit::MariaServer;
use dbward_testkit::fidelity::{Database, differences, fingerprint};

use crate::common::{Env, only_backup, stderr};
use crate::postgres::write_secret;

const FIXTURE: &str = include_str!("../fixtures/fidelity/mariadb.sql");

/// Tables of several sizes linked by foreign keys (rows of `order_lines` sort before the
/// `orders` they reference), a view over them, and triggers that change or add rows when
/// they fire: a restore that created them before loading the rows would not compare equal.
const ORDERS: &str = "
    CREATE TABLE customers(id INT PRIMARY KEY, name VARCHAR(100)) CHARSET utf8mb4;
    CREATE TABLE orders(id INT PRIMARY KEY, customer INT NOT NULL,
        FOREIGN KEY (customer) REFERENCES customers(id));
    CREATE TABLE order_lines(order_id INT, line INT, qty INT, PRIMARY KEY (order_id, line),
        FOREIGN KEY (order_id) REFERENCES orders(id) ON DELETE CASCADE);
    CREATE TABLE audit(id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(50));
    INSERT INTO customers SELECT seq, CONCAT('customer ', seq, ' 😀') FROM seq_1_to_3000;
    INSERT INTO orders SELECT seq, 1 + seq % 3000 FROM seq_1_to_6000;
    INSERT INTO order_lines SELECT 1 + seq % 6000, seq, seq % 17 FROM seq_1_to_20000;
    INSERT INTO audit(what) VALUES ('created');
    CREATE TRIGGER lines_scale BEFORE INSERT ON order_lines FOR EACH ROW SET NEW.qty = NEW.qty * 10;
    CREATE TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW INSERT INTO audit(what) VALUES ('order');
    CREATE VIEW busy_customers AS SELECT customer, count(*) AS n FROM orders GROUP BY customer;
";

fn maria_env(server: &MariaServer, database: &str) -> Env {
    let env = Env::new(&format!(
        "state_dir = \"state\"\n\
         [[source]]\nname = \"maria\"\nengine = \"mariadb\"\nhost = \"{}\"\nport = {}\nuser = \"{}\"\n\
         password = {{ file = \"maria.secret\" }}\ndatabases = [\"{database}\"]\n\
         [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n",
        server.host, server.port, server.user
    ));
    write_secret(&env.path("maria.secret"), &server.password);
    env
}

fn spool_is_empty(env: &Env) {
    let spool = env.path("state/spool");
    let mut left = Vec::new();
    for run in std::fs::read_dir(&spool).into_iter().flatten().flatten() {
        left.extend(
            std::fs::read_dir(run.path())
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path()),
        );
    }
    assert!(left.is_empty(), "spooled files left behind: {left:?}");
}

/// The copy's fingerprint with the one known difference (a sequence default qualified with
/// the source database's name, see fidelity.rs) written as the source's own.
fn fingerprint_of(
    server: &MariaServer,
    copy: &str,
    source: &str,
) -> dbward_testkit::fidelity::Fingerprint {
    let mut print = fingerprint(Database::Maria(server, copy));
    let (qualified, own) = (format!("`{source}`."), "`<database>`.");
    for text in print.0.values_mut() {
        *text = text.replace(&qualified, own);
    }
    print
}

fn drop_databases(server: &MariaServer, names: &[&str]) {
    for name in names {
        server.sql("", &format!("DROP DATABASE IF EXISTS `{name}`"));
    }
}

#[test]
fn mariadb_restore_with_jobs_is_identical_to_the_source_and_to_one_stream() {
    let server = MariaServer::shared();
    let db = server.create_database("cli_jobs");
    db.sql(FIXTURE);
    db.sql(ORDERS);
    let env = maria_env(server, &db.name);
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let id = only_backup(&doc)["id"].as_str().unwrap().to_string();
    let (parallel, single) = (format!("{}_j4", db.name), format!("{}_j1", db.name));

    let result = std::panic::catch_unwind(|| {
        let out = env.run(&[
            "--json",
            "-v",
            "restore",
            &id,
            "--to-database",
            &parallel,
            "--jobs",
            "4",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        // The rows really were split: every table of the fixture with rows, on four clients.
        assert!(
            stderr(&out).contains("tables on 4 clients"),
            "{}",
            stderr(&out)
        );
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            !summary["warnings"].to_string().contains("--jobs applies"),
            "{summary:#}"
        );
        assert_eq!(summary["target_database"], parallel.as_str());
        spool_is_empty(&env);
        let (code, summary) = env.json(&["restore", &id, "--to-database", &single, "--jobs", "1"]);
        assert_eq!(code, 0, "{summary:#}");

        let source = fingerprint(Database::Maria(server, &db.name));
        let with_jobs = fingerprint_of(server, &parallel, &db.name);
        let one_stream = fingerprint_of(server, &single, &db.name);
        let differ = differences(&source, &with_jobs);
        assert!(
            differ.is_empty(),
            "--jobs 4 vs source:\n{}",
            differ.join("\n")
        );
        let differ = differences(&one_stream, &with_jobs);
        assert!(
            differ.is_empty(),
            "--jobs 4 vs --jobs 1:\n{}",
            differ.join("\n")
        );
        // What the triggers would have changed, asserted directly as well.
        for sql in [
            "SELECT sum(qty) FROM order_lines",
            "SELECT count(*) FROM audit",
            "SELECT count(*) FROM orders",
        ] {
            assert_eq!(server.sql(&parallel, sql), db.sql(sql), "{sql}");
        }
    });
    drop_databases(server, &[&parallel, &single]);
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn mariadb_restore_with_jobs_of_a_damaged_artifact_touches_nothing() {
    let server = MariaServer::shared();
    let db = server.create_database("cli_jobs_bad");
    db.sql(ORDERS);
    let env = maria_env(server, &db.name);
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    let backup = only_backup(&doc);
    let id = backup["id"].as_str().unwrap().to_string();
    let artifact = env
        .path("backups")
        .join(backup["copies"][0]["path"].as_str().unwrap());
    let good = std::fs::read(&artifact).unwrap();
    let existing = format!("{}_existing", db.name);
    let fresh = format!("{}_fresh", db.name);
    server.sql("", &format!("CREATE DATABASE `{existing}`"));
    server.sql(
        &existing,
        "CREATE TABLE keep(id INT PRIMARY KEY); INSERT INTO keep SELECT seq FROM seq_1_to_5;",
    );

    let result = std::panic::catch_unwind(|| {
        let flipped = {
            let mut bytes = good.clone();
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x40;
            bytes
        };
        let truncated = good[..good.len() - good.len() / 3].to_vec();
        for (what, bytes) in [("flipped byte", flipped), ("truncated", truncated)] {
            std::fs::write(&artifact, &bytes).unwrap();
            for (target, force) in [(&existing, true), (&fresh, false)] {
                let mut args = vec!["restore", &id, "--to-database", target, "--jobs", "4"];
                if force {
                    args.push("--force");
                }
                let out = env.run(&args);
                assert_eq!(out.status.code(), Some(1), "{what}: {}", stderr(&out));
                assert!(
                    stderr(&out).contains("no client was started"),
                    "{what}: the damage is found before any client starts: {}",
                    stderr(&out)
                );
                spool_is_empty(&env);
            }
            assert_eq!(
                server.sql(&existing, "SELECT count(*) FROM keep"),
                "5",
                "{what}: the existing database was touched"
            );
            let tables = server.sql(
                "",
                &format!(
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema = '{existing}'"
                ),
            );
            assert_eq!(tables, "1", "{what}: the existing database gained tables");
            let fresh_exists = server.sql(
                "",
                &format!(
                    "SELECT count(*) FROM information_schema.schemata WHERE schema_name = '{fresh}'"
                ),
            );
            assert_eq!(fresh_exists, "0", "{what}: a failed restore left {fresh}");
        }
        // The good copy restores over the existing database with --force.
        std::fs::write(&artifact, &good).unwrap();
        let (code, summary) = env.json(&[
            "restore",
            &id,
            "--to-database",
            &existing,
            "--jobs",
            "4",
            "--force",
        ]);
        assert_eq!(code, 0, "{summary:#}");
        assert_eq!(summary["replaced"], true);
        assert_eq!(
            server.sql(&existing, "SELECT sum(qty) FROM order_lines"),
            db.sql("SELECT sum(qty) FROM order_lines")
        );
        spool_is_empty(&env);
    });
    drop_databases(server, &[&existing, &fresh]);
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
