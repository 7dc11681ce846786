//! The "14-byte backup" incident end to end under `dbward daemon`: the source's password is
//! rotated on the server and nobody tells dbward. Every scheduled backup then fails with the
//! authentication error, `dbward status` turns CRITICAL naming it, and exactly one alert
//! reaches a real HTTP receiver however many fires fail. Once the new password is in the
//! secret file and the daemon reloaded (SIGHUP: file secrets are read at load), the next
//! fire succeeds and exactly one recovery is delivered.

use dbward_testkit::PgServer;
use serde_json::Value;

use crate::common::{Env, Received, Receiver, wait_for};
use crate::daemon::{DEADLINE, Daemon};
use crate::postgres::write_secret;

const OLD_PASSWORD: &str = "0ld-Pa55word-Lynx";
const NEW_PASSWORD: &str = "N3w-Pa55word-Otter";

/// Waits for `check`, looking at most four times a second: each look runs `dbward list`.
fn poll(what: &str, mut check: impl FnMut() -> bool) {
    wait_for(what, DEADLINE, || {
        std::thread::sleep(std::time::Duration::from_millis(200));
        check()
    });
}

fn backups(env: &Env) -> Vec<Value> {
    let (code, doc) = env.json(&["list", "--limit", "1000"]);
    assert_eq!(code, 0, "{doc:#}");
    doc["backups"].as_array().unwrap().clone()
}

/// Backups with `status`, started after the `after` newest ones were listed.
fn newer_with(env: &Env, after: usize, status: &str) -> Vec<Value> {
    let all = backups(env);
    let newer = all.len().saturating_sub(after);
    all.into_iter()
        .take(newer)
        .filter(|b| b["status"] == status)
        .collect()
}

/// What the receiver got so far, added to `seen`; the webhook's deliveries as JSON.
fn deliveries(receiver: &Receiver, seen: &mut Vec<Received>) -> Vec<Value> {
    seen.extend(receiver.take());
    seen.iter()
        .map(|r| {
            assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/hook"));
            serde_json::from_str(&r.body).unwrap()
        })
        .collect()
}

#[test]
fn a_rotated_password_fails_the_scheduled_backups_alerts_once_and_recovers_once() {
    let server = PgServer::shared();
    let db = server.create_database("cli_incident");
    let role = format!("{}_backup", db.name);
    server.sql(
        "postgres",
        &format!("CREATE ROLE {role} LOGIN PASSWORD '{OLD_PASSWORD}'"),
    );
    db.sql(&format!(
        "CREATE TABLE orders(id int); INSERT INTO orders SELECT generate_series(1, 50);
         ALTER TABLE orders OWNER TO {role};"
    ));
    let receiver = Receiver::start();
    let env = Env::new(&format!(
        "state_dir = \"state\"\n\
         [[source]]\nname = \"pg\"\nengine = \"postgres\"\nhost = \"{}\"\nport = {}\nuser = \"{role}\"\n\
         password = {{ file = \"pg.secret\" }}\ndatabases = [\"{}\"]\n\
         [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n\
         [[schedule]]\nname = \"every\"\ncron = \"*/2 * * * * *\"\nsources = [\"pg\"]\ndestinations = [\"local\"]\n\
         [[alert]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{}\"\non = [\"failed\"]\n\
         [daemon]\nstatus_every = \"1s\"\naudit = \"off\"\nprune = \"off\"\n",
        server.host,
        server.port,
        db.name,
        receiver.url("/hook")
    ));
    write_secret(&env.path("pg.secret"), OLD_PASSWORD);
    let mut seen = Vec::new();

    let mut daemon = Daemon::start(&env, false);
    poll("a first scheduled backup to succeed", || {
        !newer_with(&env, 0, "succeeded").is_empty()
    });
    assert!(deliveries(&receiver, &mut seen).is_empty(), "{seen:?}");

    // The DBA rotates the password; dbward's secret file still holds the old one.
    server.sql(
        "postgres",
        &format!("ALTER ROLE {role} PASSWORD '{NEW_PASSWORD}'"),
    );
    let before = backups(&env).len();
    poll("the alert and three failed fires", || {
        newer_with(&env, before, "failed").len() >= 3
            && !deliveries(&receiver, &mut seen).is_empty()
    });
    for failed in newer_with(&env, before, "failed") {
        let reason = failed["error"].as_str().unwrap();
        assert!(
            reason.contains("password authentication failed"),
            "{failed:#}"
        );
    }
    let (code, status) = env.json(&["status"]);
    assert_eq!(code, 2, "{status:#}");
    assert_eq!(status["state"], "critical", "{status:#}");
    let problems = status["problems"].as_array().unwrap();
    assert!(
        problems.iter().any(|p| p["kind"] == "failed"
            && p["severity"] == "critical"
            && p["message"]
                .as_str()
                .unwrap()
                .contains("password authentication failed")),
        "{status:#}"
    );
    // More fires fail after the alert, and tell nobody again.
    let failed_so_far = newer_with(&env, before, "failed").len();
    poll("two more failed fires", || {
        newer_with(&env, before, "failed").len() >= failed_so_far + 2
    });
    let told = deliveries(&receiver, &mut seen);
    assert_eq!(told.len(), 1, "{told:#?}");
    let alert = &told[0];
    assert_eq!(alert["state"], "critical", "{alert:#}");
    assert_eq!(alert["firing"].as_array().unwrap().len(), 1, "{alert:#}");
    assert_eq!(alert["firing"][0]["kind"], "failed", "{alert:#}");
    assert_eq!(
        alert["firing"][0]["database"],
        db.name.as_str(),
        "{alert:#}"
    );
    assert!(
        alert["firing"][0]["message"]
            .as_str()
            .unwrap()
            .contains("password authentication failed"),
        "{alert:#}"
    );
    assert!(
        alert["resolved"].as_array().unwrap().is_empty(),
        "{alert:#}"
    );

    // The fix: the new password in the secret file, and a reload to read it.
    write_secret(&env.path("pg.secret"), NEW_PASSWORD);
    daemon.signal(nix::sys::signal::Signal::SIGHUP);
    daemon.wait_log("reloaded");
    let before = backups(&env).len();
    poll(
        "a scheduled backup to succeed again and the recovery",
        || {
            !newer_with(&env, before, "succeeded").is_empty()
                && deliveries(&receiver, &mut seen).len() >= 2
        },
    );
    let succeeded_so_far = newer_with(&env, before, "succeeded").len();
    poll("two more succeeded fires", || {
        newer_with(&env, before, "succeeded").len() >= succeeded_so_far + 2
    });
    let told = deliveries(&receiver, &mut seen);
    assert_eq!(told.len(), 2, "{told:#?}");
    let recovery = &told[1];
    assert!(
        recovery["firing"].as_array().unwrap().is_empty(),
        "{recovery:#}"
    );
    let resolved = recovery["resolved"].as_array().unwrap();
    assert_eq!(resolved.len(), 1, "{recovery:#}");
    assert!(
        resolved[0]
            .as_str()
            .unwrap()
            .starts_with(&format!("failed|pg|{}|", db.name)),
        "{recovery:#}"
    );
    let (code, status) = env.json(&["status"]);
    assert!(
        !status["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["kind"] == "failed"),
        "{code} {status:#}"
    );

    daemon.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(daemon.wait_exit().success(), "{}", daemon.log());
    // The passwords are in no log line and no catalog row.
    let mut haystacks = vec![daemon.log()];
    for file in env.files("state") {
        haystacks.push(
            String::from_utf8_lossy(&std::fs::read(env.path("state").join(&file)).unwrap())
                .into_owned(),
        );
    }
    for text in haystacks {
        for password in [OLD_PASSWORD, NEW_PASSWORD] {
            assert!(!text.contains(password), "password leaked: {text}");
        }
    }
}
