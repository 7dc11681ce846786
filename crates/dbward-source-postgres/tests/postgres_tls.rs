//! TLS between dbward and PostgreSQL, against a private server with `ssl = on` that lets TCP
//! clients in only over TLS (dbward-testkit): `verify-full` with the test CA works for
//! dbward's own connections, pg_dump and pg_restore (a real backup and restore); a wrong CA,
//! an address the certificate does not name, and `require` against a server without TLS are
//! refused with messages that say what to fix; a client certificate logs dbward and its tools
//! in where the server asks for one.

use std::sync::OnceLock;
use std::time::Duration;

use dbward_core::restore::RestoreTarget;
use dbward_core::source::Source;
use dbward_core::tls::{ClientCert, TlsMode, TlsSettings};
use dbward_source_postgres::{PgFormat, PostgresSettings, PostgresSource, PostgresTarget};
use dbward_testkit::{PgServer, TestCa};

mod support;

fn tls_server() -> &'static (PgServer, TestCa) {
    static SERVER: OnceLock<(PgServer, TestCa)> = OnceLock::new();
    SERVER.get_or_init(|| {
        PgServer::start_private_tls(std::process::id())
            .unwrap_or_else(|e| panic!("cannot start the TLS test server: {e}"))
    })
}

fn settings(pg: &PgServer, host: &str, tls: TlsSettings) -> PostgresSettings {
    PostgresSettings {
        name: "tls-pg".into(),
        host: host.into(),
        port: pg.port,
        user: pg.user.clone(),
        password: Some(pg.password.clone().into()),
        maintenance_database: "postgres".into(),
        format: PgFormat::Custom,
        pitr: false,
        tool_dir: None,
        exclude_tables: vec![],
        connect_timeout: Duration::from_secs(10),
        tls,
        secret_dir: std::env::temp_dir(),
    }
}

fn verify(mode: TlsMode, ca_file: &std::path::Path) -> TlsSettings {
    TlsSettings {
        mode,
        ca_file: Some(ca_file.to_path_buf()),
        client: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_with_the_ca_backs_up_and_restores_over_tls() {
    let (pg, ca) = tls_server();
    let db = pg.create_database("tls_src");
    db.sql("CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 42);");
    let mut tls = verify(TlsMode::VerifyFull, &ca.ca_file);
    // A client certificate is offered when the server asks; this one does not, and the
    // connection must still work with one configured.
    tls.client = Some(ClientCert {
        cert: ca.client_cert.clone(),
        key: ca.client_key.clone(),
    });
    let settings = settings(pg, "127.0.0.1", tls);

    let lines = PostgresSource::new(settings.clone()).check().await;
    let tls_line = lines.iter().find(|l| l.item == "tls").unwrap();
    let detail = tls_line.outcome.clone().unwrap();
    assert!(
        detail.starts_with("TLSv1.") && detail.ends_with("(verify-full)"),
        "{detail}"
    );
    assert!(!tls_line.warning);
    assert!(lines.iter().all(|l| l.outcome.is_ok()), "{lines:?}");

    // pg_dump and pg_restore can only get in over TLS (pg_hba has hostssl lines only).
    let (bytes, manifest) = support::dump(settings.clone(), &db.name).await;
    assert_eq!(manifest.tables[0].rows, 42);
    let spool = tempfile::tempdir().unwrap();
    let target = PostgresTarget::new(settings, spool.path().to_path_buf());
    let restored = format!("{}_restored", db.name);
    let result = target
        .restore(&restored, &manifest, Box::pin(std::io::Cursor::new(bytes)))
        .await;
    let count = pg.try_sql(&restored, "SELECT count(*) FROM t");
    target.drop_database(&restored).await.unwrap();
    result.unwrap();
    assert_eq!(count.unwrap(), "42");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_ca_or_a_name_outside_the_certificate_is_refused() {
    let (pg, ca) = tls_server();
    let cases = [
        (
            "wrong CA",
            settings(
                pg,
                "127.0.0.1",
                verify(TlsMode::VerifyFull, &ca.other_ca_file),
            ),
            "check that ca_file holds the CA that signed the server's certificate",
        ),
        (
            "address not in the certificate",
            settings(pg, "127.0.0.2", verify(TlsMode::VerifyFull, &ca.ca_file)),
            "that the certificate names 127.0.0.2",
        ),
        (
            "no CA file: not the system's roots either",
            settings(
                pg,
                "127.0.0.1",
                TlsSettings {
                    mode: TlsMode::VerifyFull,
                    ..TlsSettings::default()
                },
            ),
            "TLS handshake failed (tls = \"verify-full\")",
        ),
    ];
    for (name, settings, want) in cases {
        let err = PostgresSource::new(settings)
            .list_databases()
            .await
            .expect_err(name);
        let text = err.to_string();
        assert!(text.contains(want), "{name}: {text}");
        assert!(!text.contains(&pg.password), "{name}: {text}");
    }
    // verify-ca checks the signature, not the name.
    let names = PostgresSource::new(settings(
        pg,
        "127.0.0.2",
        verify(TlsMode::VerifyCa, &ca.ca_file),
    ))
    .list_databases()
    .await;
    assert!(names.is_ok(), "{names:?}");
    // Without TLS this server lets no one in.
    let plain = TlsSettings {
        mode: TlsMode::Disable,
        ..TlsSettings::default()
    };
    let err = PostgresSource::new(settings(pg, "127.0.0.1", plain))
        .list_databases()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no encryption"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_logs_in_dbward_and_its_tools() {
    let (pg, ca) = tls_server();
    // pg_hba lets this role in by certificate only.
    pg.sql("postgres", "CREATE ROLE dbward_client LOGIN SUPERUSER");
    let db = pg.create_database("tls_cert");
    db.sql("CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2), (3);");
    let mut settings = settings(pg, "127.0.0.1", verify(TlsMode::VerifyFull, &ca.ca_file));
    settings.user = "dbward_client".into();
    settings.password = None;

    let err = PostgresSource::new(settings.clone())
        .list_databases()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("certificate"), "{err}");

    settings.tls.client = Some(ClientCert {
        cert: ca.client_cert.clone(),
        key: ca.client_key.clone(),
    });
    let (bytes, manifest) = support::dump(settings.clone(), &db.name).await;
    let spool = tempfile::tempdir().unwrap();
    let target = PostgresTarget::new(settings, spool.path().to_path_buf());
    let restored = format!("{}_restored", db.name);
    let result = target
        .restore(&restored, &manifest, Box::pin(std::io::Cursor::new(bytes)))
        .await;
    let count = pg.try_sql(&restored, "SELECT count(*) FROM t");
    target.drop_database(&restored).await.unwrap();
    result.unwrap();
    assert_eq!(count.unwrap(), "3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_against_a_server_without_tls_is_refused_clearly() {
    // The shared server runs with ssl off.
    let pg = PgServer::shared();
    assert_eq!(pg.sql("postgres", "SHOW ssl"), "off");
    let tls = TlsSettings {
        mode: TlsMode::Require,
        ..TlsSettings::default()
    };
    let source = PostgresSource::new(settings(pg, &pg.host, tls));
    let err = source.list_databases().await.unwrap_err();
    assert!(
        err.to_string().contains(
            "the server does not offer TLS, and tls = \"require\" requires it: enable TLS on the server, or set tls = \"prefer\""
        ),
        "{err}"
    );
    let check = source.check().await;
    assert!(check[0].outcome.is_err(), "{check:?}");
}
