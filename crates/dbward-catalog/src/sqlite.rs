//! `SqliteCatalog`: the embedded catalog, one SQLite file (`state_dir/catalog.db`), created
//! readable by this user only and migrated by `migrations/sqlite`.

use std::path::Path;
use std::str::FromStr;

use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use crate::{CatalogError, Result, refuse_newer};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// A catalog in a SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteCatalog {
    pub(crate) pool: SqlitePool,
}

impl SqliteCatalog {
    /// Opens (creating when absent, readable by this user only) and migrates the catalog.
    /// A catalog migrated by a newer dbward is refused before anything is written.
    pub async fn open(path: &Path) -> Result<SqliteCatalog> {
        let target = path.display().to_string();
        let open_err = |message: String| CatalogError::Open {
            target: target.clone(),
            message,
        };
        if let Some(dir) = path.parent() {
            create_private_dir(dir)
                .map_err(|e| open_err(format!("cannot create {}: {e}", dir.display())))?;
        }
        create_private_file(path).map_err(|e| open_err(e.to_string()))?;
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .map_err(|e| open_err(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(std::time::Duration::from_secs(30))
            .foreign_keys(true);
        // One connection: the bundled SQLite (3.51.1) can deadlock when two connections to
        // the same file close at once in one process (unixClose takes the global VFS mutex
        // then the inode's, a checkpoint-on-close lock takes them the other way round), which
        // hung commands at exit. Writes are serialised by SQLite anyway, and no catalog call
        // holds a connection while it asks for another.
        // No idle timeout and no lifetime: sqlx then starts no pool-maintenance task, which
        // can spin forever at exit (a counter underflow in sqlx 0.9's reaper) and hang a
        // command that has finished its work.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(|e| open_err(e.to_string()))?;
        let migrated = sqlx::query(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_optional(&pool)
        .await?
        .is_some();
        if migrated {
            let applied: Option<i64> =
                sqlx::query("SELECT MAX(version) AS version FROM _sqlx_migrations")
                    .fetch_one(&pool)
                    .await?
                    .try_get("version")?;
            refuse_newer(&target, applied, &MIGRATOR)?;
        }
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| open_err(format!("cannot migrate: {e}")))?;
        let catalog = SqliteCatalog { pool };
        catalog.run_chores().await?;
        Ok(catalog)
    }
}

impl SqliteCatalog {
    /// An empty catalog in memory, for `restore --from` when the catalog cannot be used: the
    /// command runs as usual, and nothing it writes outlives the process.
    pub async fn in_memory() -> Result<SqliteCatalog> {
        let open_err = |message: String| CatalogError::Open {
            target: "(in memory)".into(),
            message,
        };
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(|e| open_err(e.to_string()))?;
        // Each connection to `:memory:` is a database of its own: keep exactly one, forever.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.foreign_keys(true))
            .await
            .map_err(|e| open_err(e.to_string()))?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| open_err(format!("cannot migrate: {e}")))?;
        Ok(SqliteCatalog { pool })
    }
}

crate::sql::sql_catalog!(SqliteCatalog, sqlx::sqlite::SqliteRow);
crate::sql_health::sql_health!(
    SqliteCatalog,
    sqlx::SqliteConnection,
    crate::sql_health::anonymous_placeholders,
    crate::health_doc::SQLITE
);
crate::sql_access::sql_access!(SqliteCatalog, sqlx::sqlite::SqliteRow);
crate::sql_reports::sql_reports!(SqliteCatalog, sqlx::sqlite::SqliteRow);
crate::sql_histories::sql_histories!(
    SqliteCatalog,
    sqlx::sqlite::SqliteRow,
    crate::sql_health::anonymous_placeholders
);
crate::sql_wal::sql_wal!(SqliteCatalog, sqlx::sqlite::SqliteRow);
crate::sql_coordination::sql_coordination!(
    SqliteCatalog,
    sqlx::sqlite::SqliteRow,
    "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
);

/// Creates a folder readable by this user only (state holds catalogs and locks).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

fn create_private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}
