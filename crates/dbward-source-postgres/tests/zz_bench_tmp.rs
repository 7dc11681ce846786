//! Temporary throughput measurement (removed after use).
use dbward_core::source::Source;
use dbward_source_postgres::{PgFormat, PostgresSettings, PostgresSource};
use tokio::io::AsyncReadExt;
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn bench() {
    let s = PostgresSource::new(PostgresSettings {
        name: "b".into(), host: "127.0.0.1".into(), port: 5432, user: "postgres".into(), password: None,
        maintenance_database: "postgres".into(), format: PgFormat::Custom, tool_dir: None,
        exclude_tables: vec![], connect_timeout: std::time::Duration::from_secs(5),
    });
    let t = std::time::Instant::now();
    let mut d = s.dump("pgx_bench").await.unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    let mut n = 0u64;
    loop { let k = d.output.read(&mut buf).await.unwrap(); if k == 0 { break; } n += k as u64; }
    let r = d.completion.finish().await.unwrap();
    eprintln!("BENCH {} bytes in {:?}: {:?}", n, t.elapsed(), r.tables);
}
