//! Alerts end to end against a real HTTP receiver on loopback: a webhook, a Slack webhook and
//! a heartbeat told by `backup`, `status` and `verify` runs — once per change, again when a
//! failed delivery can be retried, never with the URL's token in a message.

use serde_json::Value;

use crate::common::{Env, Receiver, stderr};
use crate::postgres::write_secret;

const TOKEN: &str = "T0KEN-s3cr3t";

fn env(receiver: &Receiver) -> Env {
    let env = Env::new(&format!(
        "state_dir = \"state\"\n\
         [[source]]\nname = \"lite\"\nengine = \"sqlite\"\npath = \"app.db\"\n\
         [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n\
         [[alert]]\nname = \"hook\"\ntype = \"webhook\"\nurl = {{ file = \"hook.url\" }}\non = [\"failed\", \"stale\"]\n\
         [[alert]]\ntype = \"slack\"\nurl = {{ file = \"slack.url\" }}\non = [\"failed\"]\n\
         [[alert]]\ntype = \"heartbeat\"\nurl = \"{}\"\n",
        receiver.url("/ping")
    ));
    write_secret(
        &env.path("hook.url"),
        &receiver.url(&format!("/hook/{TOKEN}")),
    );
    write_secret(
        &env.path("slack.url"),
        &receiver.url(&format!("/slack/{TOKEN}")),
    );
    seed(&env);
    env
}

fn seed(env: &Env) {
    rusqlite::Connection::open(env.path("app.db"))
        .unwrap()
        .execute_batch("CREATE TABLE IF NOT EXISTS t(x); INSERT INTO t VALUES (1);")
        .unwrap();
}

fn paths(received: &[crate::common::Received]) -> Vec<String> {
    received
        .iter()
        .map(|r| format!("{} {}", r.method, r.path.replace(TOKEN, "TOKEN")))
        .collect()
}

#[test]
fn alerts_fire_on_changes_and_heartbeats_on_health() {
    let receiver = Receiver::start();
    let env = env(&receiver);

    // Healthy (3-2-1 warnings are not the hook's kinds): the heartbeat is pinged, no one told.
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(paths(&receiver.take()), ["GET /ping"]);
    assert_eq!(
        doc["alerts"]["sent"],
        serde_json::json!(["heartbeat-3: heartbeat"])
    );

    // A failed backup: the webhook and Slack are told, the heartbeat is not pinged.
    std::fs::rename(env.path("app.db"), env.path("app.db.away")).unwrap();
    let (code, _) = env.json(&["backup"]);
    assert_eq!(code, 1);
    let got = receiver.take();
    assert_eq!(paths(&got), ["POST /hook/TOKEN", "POST /slack/TOKEN"]);
    let hook: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(hook["state"], "critical");
    assert_eq!(hook["firing"][0]["kind"], "failed");
    assert_eq!(hook["firing"][0]["database"], "app");
    assert!(hook["resolved"].as_array().unwrap().is_empty());
    let slack: Value = serde_json::from_str(&got[1].body).unwrap();
    assert!(
        slack["text"]
            .as_str()
            .unwrap()
            .contains("• CRITICAL failed lite/app: latest backup"),
        "{slack:#}"
    );

    // The same failure again: nothing new to tell.
    let (code, _) = env.json(&["backup"]);
    assert_eq!(code, 1);
    assert_eq!(paths(&receiver.take()), Vec::<String>::new());

    // Fixed, while the receiver fails: the deliveries fail loudly, without the token.
    std::fs::rename(env.path("app.db.away"), env.path("app.db")).unwrap();
    receiver.answer(500);
    let out = env.run(&["backup"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("warning: alert hook: the receiver answered HTTP 500"),
        "{err}"
    );
    assert!(!err.contains(TOKEN), "a secret URL in a message: {err}");
    assert_eq!(receiver.take().len(), 3, "hook, slack and heartbeat tried");

    // Up again: the next run (here `status`) delivers what was not delivered.
    receiver.answer(200);
    let (_, status) = env.json(&["status"]);
    let got = receiver.take();
    assert_eq!(
        paths(&got),
        ["POST /hook/TOKEN", "POST /slack/TOKEN", "GET /ping"],
        "{status:#}"
    );
    let hook: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(hook["resolved"], serde_json::json!(["failed|lite|app|-"]));
    assert!(
        serde_json::from_str::<Value>(&got[1].body).unwrap()["text"]
            .as_str()
            .unwrap()
            .contains("• RESOLVED failed lite app -")
    );
    assert_eq!(status["alerts"]["errors"], serde_json::json!([]));
}

#[test]
fn an_alert_with_a_bad_kind_or_url_is_a_config_error() {
    for (alert, expected) in [
        (
            "[[alert]]\ntype = \"webhook\"\nurl = \"ftp://x\"\n",
            "[[alert]] \"webhook-1\": key `url`: expected a URL starting with http:// or https://",
        ),
        (
            "[[alert]]\ntype = \"webhook\"\nurl = \"http://x\"\non = [\"broken\"]\n",
            "[[alert]] \"webhook-1\": key `on`: unknown problem kind \"broken\"",
        ),
        (
            "[[alert]]\ntype = \"email\"\nurl = \"smtp://x\"\nto = [\"ops@example.com\"]\n",
            "[[alert]] \"email-1\": key `from`: required",
        ),
        (
            "[[alert]]\ntype = \"email\"\nurl = \"http://x\"\nfrom = \"a@b\"\nto = [\"ops@example.com\"]\n",
            "[[alert]] \"email-1\": key `url`: expected a URL starting with smtp:// or smtps://",
        ),
        (
            "[[alert]]\ntype = \"slack\"\nurl = \"http://x\"\nto = [\"ops@example.com\"]\n",
            "[[alert]] \"slack-1\": key `to`: only for type \"email\"",
        ),
    ] {
        let env = Env::new(alert);
        let out = env.run(&["check"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains(expected), "{}", stderr(&out));
    }
}

/// `check` says whether each alert's host can be reached, without sending anything.
#[test]
fn check_reaches_each_alert_without_sending() {
    let receiver = Receiver::start();
    let env = env(&receiver);
    let (code, doc) = env.json(&["check"]);
    assert_eq!(code, 0, "{doc:#}");
    let alerts: Vec<&Value> = doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "alert")
        .collect();
    assert_eq!(alerts.len(), 3, "{doc:#}");
    assert!(alerts.iter().all(|a| a["ok"] == true), "{doc:#}");
    assert!(receiver.take().is_empty(), "check sent something");

    // A receiver that is gone: the item fails, naming host and port, never the token.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    write_secret(
        &env.path("hook.url"),
        &format!("http://127.0.0.1:{port}/hook/{TOKEN}"),
    );
    let out = env.run(&["check"]);
    assert_eq!(out.status.code(), Some(1));
    let text = crate::common::stdout(&out);
    assert!(
        text.contains(&format!(
            "FAIL  alert hook: reachable: cannot connect to 127.0.0.1:{port}"
        )),
        "{text}"
    );
    assert!(!text.contains(TOKEN), "{text}");
}

/// A real SMTP server (aiosmtpd from PyPI, installed by scripts/test.sh) that keeps every
/// mail in a maildir.
struct SmtpSink {
    child: std::process::Child,
    port: u16,
    maildir: tempfile::TempDir,
}

impl SmtpSink {
    fn start() -> SmtpSink {
        let program = std::env::var_os("DBWARD_TEST_AIOSMTPD").unwrap_or_else(|| "aiosmtpd".into());
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let maildir = tempfile::tempdir().unwrap();
        let child = std::process::Command::new(&program)
            .args([
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(maildir.path().join("mail"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {program:?} (scripts/test.sh installs it): {e}")
            });
        crate::common::wait_for(
            "aiosmtpd to listen",
            std::time::Duration::from_secs(20),
            || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
        );
        SmtpSink {
            child,
            port,
            maildir,
        }
    }

    /// Every mail received, as text.
    fn mails(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.path().join("mail/new")) else {
            return Vec::new();
        };
        entries
            .flatten()
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn email_alerts_go_through_a_real_smtp_server() {
    let smtp = SmtpSink::start();
    let env = Env::new(
        "state_dir = \"state\"\n\
         [[source]]\nname = \"lite\"\nengine = \"sqlite\"\npath = \"app.db\"\n\
         [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n\
         [[alert]]\nname = \"ops-mail\"\ntype = \"email\"\nurl = { file = \"smtp.url\" }\n\
         from = \"dbward@example.com\"\nto = [\"ops@example.com\", \"dba@example.com\"]\non = [\"failed\"]\n",
    );
    write_secret(
        &env.path("smtp.url"),
        &format!("smtp://127.0.0.1:{}", smtp.port),
    );
    let (code, check) = env.json(&["check"]);
    assert_eq!(code, 1, "no source file yet: {check:#}");
    let mail_item = check["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "alert")
        .unwrap();
    assert_eq!(mail_item["ok"], true, "{check:#}");

    // The SQLite file is missing: the backup fails, and the mail says so.
    let (code, doc) = env.json(&["backup"]);
    assert_eq!(code, 1);
    assert_eq!(
        doc["alerts"]["sent"],
        serde_json::json!(["ops-mail: 1 firing, 0 resolved"]),
        "{doc:#}"
    );
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = &mails[0];
    assert!(mail.contains("Subject: dbward on "), "{mail}");
    assert!(mail.contains(": CRITICAL: 1 firing, 0 resolved"), "{mail}");
    assert!(
        mail.contains("ops@example.com") && mail.contains("dba@example.com"),
        "{mail}"
    );
    assert!(
        mail.contains("CRITICAL failed lite/app: latest backup"),
        "{mail}"
    );
}

/// A mail server that is down: the delivery fails loudly, without the SMTP credentials.
#[test]
fn an_unreachable_smtp_server_is_a_warning_without_its_credentials() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let env = Env::new(
        "state_dir = \"state\"\n\
         [[source]]\nname = \"lite\"\nengine = \"sqlite\"\npath = \"app.db\"\n\
         [[destination]]\nname = \"local\"\ntype = \"fs\"\npath = \"backups\"\n\
         [[alert]]\nname = \"ops-mail\"\ntype = \"email\"\nurl = { file = \"smtp.url\" }\n\
         from = \"dbward@example.com\"\nto = [\"ops@example.com\"]\n",
    );
    write_secret(
        &env.path("smtp.url"),
        &format!("smtp://mailer:{TOKEN}@127.0.0.1:{port}"),
    );
    // No SQLite file: the backup fails, and the alert cannot be delivered.
    let out = env.run(&["--json", "backup"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let error = doc["alerts"]["errors"][0].as_str().unwrap();
    assert!(
        error.starts_with("alert ops-mail: cannot deliver the mail:"),
        "{doc:#}"
    );
    let everything = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(
        !everything.contains(TOKEN),
        "the SMTP password in output: {everything}"
    );
    // With --json the reason is in the document, and in the error log on stderr.
    assert!(
        stderr(&out).contains("alert ops-mail: cannot deliver the mail"),
        "{}",
        stderr(&out)
    );
}

/// Agents sharing a catalog tell alerts one at a time (the catalog's `alerts` lease): a
/// command that finds another agent telling waits for it, then reads what it recorded as
/// told, so a change is told once however many agents judge it.
#[test]
fn agents_sharing_a_catalog_take_turns_to_tell_the_alerts() {
    let receiver = Receiver::start();
    let env = env(&receiver);
    let catalog = dbward_testkit::PgServer::shared().create_database("alerts_turns");
    let mut text = std::fs::read_to_string(env.config()).unwrap();
    text.push_str("[catalog]\nurl = { env = \"DBWARD_CATALOG_URL\" }\nlease_ttl = \"3s\"\n");
    std::fs::write(env.config(), text).unwrap();
    let run = |args: &[&str]| {
        env.cmd(args)
            .env("DBWARD_CATALOG_URL", catalog.url())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let out = run(&["--json", "backup"]).wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    receiver.take();

    // Another agent is telling (it holds the lease for 3 more seconds).
    catalog.sql(
        "INSERT INTO leases (job, agent_id, host, pid, token, acquired_at, expires_at)
         VALUES ('alerts', '01OTHERAGENT', 'other-host', 1, 'tok',
           to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),
           to_char((clock_timestamp() + interval '3 seconds') AT TIME ZONE 'UTC',
                   'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'))",
    );
    std::fs::rename(env.path("app.db"), env.path("app.db.away")).unwrap();
    let started = std::time::Instant::now();
    let first = run(&["--json", "backup"]);
    let second = run(&["--json", "backup"]);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(
        receiver.take().is_empty(),
        "nothing told while the other agent tells"
    );
    // One backs up and fails; the other finds the database busy and skips it.
    let codes: Vec<Option<i32>> = [first, second]
        .into_iter()
        .map(|child| child.wait_with_output().unwrap().status.code())
        .collect();
    assert!(codes.contains(&Some(1)), "{codes:?}");
    assert!(started.elapsed() >= std::time::Duration::from_secs(2));
    let told = paths(&receiver.take());
    assert_eq!(
        told,
        ["POST /hook/TOKEN", "POST /slack/TOKEN"],
        "the failure is told once, by one of the two commands"
    );
    assert_eq!(
        catalog.sql("SELECT count(*) FROM leases WHERE job = 'alerts'"),
        "0",
        "the lease is given up"
    );
}
