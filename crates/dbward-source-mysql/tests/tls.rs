//! TLS between dbward and MariaDB, against a private server that lets TCP clients in only
//! over TLS (dbward-testkit): `check` shows the negotiated protocol under `verify-full`, a
//! dump goes through mariadb-dump with the same settings, and an untrusted CA or `require`
//! against the shared server (no TLS) is refused with a message that says what to fix.

use std::sync::OnceLock;
use std::time::Duration;

use dbward_core::Engine;
use dbward_core::secret::SecretString;
use dbward_core::source::Source;
use dbward_core::tls::{TlsMode, TlsSettings};
use dbward_source_mysql::{MysqlSettings, MysqlSource};
use dbward_testkit::{MariaServer, TestCa};
use tokio::io::AsyncReadExt;

fn tls_server() -> &'static (MariaServer, TestCa) {
    static SERVER: OnceLock<(MariaServer, TestCa)> = OnceLock::new();
    SERVER.get_or_init(|| {
        MariaServer::start_private_tls(std::process::id())
            .unwrap_or_else(|e| panic!("cannot start the TLS test server: {e}"))
    })
}

fn settings(server: &MariaServer, tls: TlsSettings) -> MysqlSettings {
    MysqlSettings {
        name: "maria-tls".into(),
        engine: Engine::Mariadb,
        host: server.host.clone(),
        port: server.port,
        socket: None,
        user: server.user.clone(),
        password: Some(SecretString::from(server.password.clone())),
        tool_dir: None,
        exclude_tables: Vec::new(),
        secret_dir: std::env::temp_dir(),
        connect_timeout: Duration::from_secs(10),
        tls,
    }
}

fn verify_full(ca_file: &std::path::Path) -> TlsSettings {
    TlsSettings {
        mode: TlsMode::VerifyFull,
        ca_file: Some(ca_file.to_path_buf()),
        client: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_checks_and_dumps_over_tls() {
    let (server, ca) = tls_server();
    let db = server.create_database("tls_dump");
    db.sql("CREATE TABLE t (x INT); INSERT INTO t VALUES (1), (2);");
    let source = MysqlSource::new(settings(server, verify_full(&ca.ca_file)));

    let lines = source.check().await;
    let tls = lines.iter().find(|l| l.item == "tls").unwrap();
    let detail = tls.outcome.clone().unwrap();
    assert!(
        detail.starts_with("TLSv1.") && detail.ends_with("(verify-full)"),
        "{detail}"
    );
    assert!(!tls.warning);

    let mut dump = source.dump(&db.name).await.unwrap();
    let mut bytes = Vec::new();
    dump.output.read_to_end(&mut bytes).await.unwrap();
    let report = dump.completion.finish().await.unwrap();
    assert_eq!(report.tables[0].rows, 2);
    assert!(
        dump.info.options.iter().all(|o| !o.starts_with("--ssl")),
        "TLS options are connection settings, not dump options: {:?}",
        dump.info.options
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_ca_and_require_without_tls_are_refused_clearly() {
    let (server, ca) = tls_server();
    let err = MysqlSource::new(settings(server, verify_full(&ca.other_ca_file)))
        .list_databases()
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("check that ca_file holds the CA that signed the server's certificate"),
        "{err}"
    );

    let shared = MariaServer::shared();
    let require = TlsSettings {
        mode: TlsMode::Require,
        ..TlsSettings::default()
    };
    let err = MysqlSource::new(settings(shared, require))
        .list_databases()
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("the server does not offer TLS, and tls = \"require\" requires it"),
        "{err}"
    );
}
