//! Opening the pools. SQLite gets one writer connection and a pool of read-only readers, so
//! concurrent writes queue in the pool instead of failing with "database is locked"; PostgreSQL
//! gets one pool that serves both.

use std::path::Path;
use std::time::Duration;

use log::LevelFilter;
use sea_orm::{DatabaseConnection, SqlxPostgresConnector, SqlxSqliteConnector};
use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use url::Url;

use super::DbError;
use super::sqlite_reads::{HotReader, ReaderTimings};

/// How long a request waits for a connection before the database counts as unavailable.
/// SQLite writers queue behind one connection, so they get longer than a pool checkout.
const SQLITE_WRITER_WAIT: Duration = Duration::from_secs(30);
const POOL_WAIT: Duration = Duration::from_secs(5);
/// How long SQLite itself waits on a lock held by another process (a backup, the CLI).
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const SLOW_STATEMENT: Duration = Duration::from_millis(500);

pub(super) struct Pools {
    pub writer: DatabaseConnection,
    pub reader: DatabaseConnection,
    /// SQLite only: rusqlite connections for the hot reads (see `sqlite_reads`).
    pub hot_reader: Option<HotReader>,
}

pub(super) async fn sqlite(path: &Path, readers: u32) -> Result<Pools, DbError> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .foreign_keys(true)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
        .pragma("temp_store", "memory")
        .log_statements(LevelFilter::Debug)
        .log_slow_statements(LevelFilter::Warn, SLOW_STATEMENT);

    // The writer opens first: it creates the file and switches it to WAL, which persists, so
    // the read-only readers find a WAL database.
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .acquire_timeout(SQLITE_WRITER_WAIT)
        .test_before_acquire(false)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(
            options
                .clone()
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal),
        )
        .await
        .map_err(DbError::from_connect)?;
    let reader = SqlitePoolOptions::new()
        .max_connections(readers)
        .acquire_timeout(POOL_WAIT)
        .test_before_acquire(false)
        .connect_with(options.read_only(true))
        .await
        .map_err(DbError::from_connect)?;
    let timings = ReaderTimings {
        busy_timeout: SQLITE_BUSY_TIMEOUT,
        wait: POOL_WAIT,
        slow: SLOW_STATEMENT,
    };
    let hot_reader = HotReader::open(path, readers, timings)?;
    Ok(Pools {
        writer: SqlxSqliteConnector::from_sqlx_sqlite_pool(writer),
        reader: SqlxSqliteConnector::from_sqlx_sqlite_pool(reader),
        hot_reader: Some(hot_reader),
    })
}

pub(super) async fn postgres(url: &Url, size: u32) -> Result<Pools, DbError> {
    let options = PgConnectOptions::from_url(url)
        .map_err(DbError::from_connect)?
        .application_name("folio")
        .log_statements(LevelFilter::Debug)
        .log_slow_statements(LevelFilter::Warn, SLOW_STATEMENT);
    // No ping on checkout: a dead connection fails its one query, is dropped, and the next
    // checkout opens a fresh one, which is how `/ready` recovers without a restart.
    let pool = PgPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(POOL_WAIT)
        .test_before_acquire(false)
        .connect_with(options)
        .await
        .map_err(DbError::from_connect)?;
    let conn = SqlxPostgresConnector::from_sqlx_postgres_pool(pool);
    Ok(Pools {
        writer: conn.clone(),
        reader: conn,
        hot_reader: None,
    })
}
