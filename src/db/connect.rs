//! Opening the pools. SQLite gets one writer connection on rusqlite (`sqlite_writer`: concurrent
//! writes queue for it instead of failing with "database is locked"), a sqlx connection for
//! schema work, and read-only readers; PostgreSQL gets one pool that serves both.

use std::path::Path;
use std::time::Duration;

use log::LevelFilter;
use sea_orm::{DatabaseConnection, SqlxPostgresConnector, SqlxSqliteConnector};
use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions, PgTransactionManager};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions,
    SqliteSynchronous, SqliteTransactionManager,
};
use sqlx_core::transaction::TransactionManager;
use url::Url;

use super::DbError;
use super::sqlite_reads::{HotReader, ReaderTimings};
use super::sqlite_writer::{SqliteWriter, WriterConfig};

/// How long a request waits for a connection before the database counts as unavailable.
/// SQLite writers queue behind one connection, so they get longer than a pool checkout.
const SQLITE_WRITER_WAIT: Duration = Duration::from_secs(30);
const POOL_WAIT: Duration = Duration::from_secs(5);
/// How long SQLite itself waits on a lock held by another process (a backup, the CLI).
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const SLOW_STATEMENT: Duration = Duration::from_millis(500);

pub(super) struct Pools {
    /// PostgreSQL's pool; on SQLite, one sqlx connection for schema work (SeaORM's migrator
    /// needs one), never for units of work.
    pub writer: DatabaseConnection,
    /// SQLite only: the connection every unit of work writes through (see `sqlite_writer`).
    pub sqlite_writer: Option<SqliteWriter>,
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
        .after_release(|conn, _| Box::pin(sqlite_writer_is_clean(conn)))
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
        .idle_timeout(None)
        .max_lifetime(None)
        // The sqlx readers serve the lighter reads (sign-ins, comments, lists of one user's
        // rows); the hot reads have their own connections. Half SQLite's default page cache
        // each bounds what they hold under load (bench/README.md, "Memory under mixed load").
        .connect_with(options.read_only(true).pragma("cache_size", "-1024"))
        .await
        .map_err(DbError::from_connect)?;
    let timings = ReaderTimings {
        busy_timeout: SQLITE_BUSY_TIMEOUT,
        wait: POOL_WAIT,
        slow: SLOW_STATEMENT,
    };
    let hot_reader = HotReader::open(path, readers, timings)?;
    let sqlite_writer = SqliteWriter::open(WriterConfig {
        path: path.to_path_buf(),
        busy_timeout: SQLITE_BUSY_TIMEOUT,
        wait: SQLITE_WRITER_WAIT,
        slow: SLOW_STATEMENT,
    })?;
    Ok(Pools {
        writer: SqlxSqliteConnector::from_sqlx_sqlite_pool(writer),
        sqlite_writer: Some(sqlite_writer),
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
    //
    // No idle timeout or lifetime, on any pool here: either starts sqlx 0.9's maintenance task,
    // which walks `0..num_idle` without yielding, and `num_idle` wraps below zero for a moment
    // when a checkout races a release (decremented before it was incremented). A walk begun
    // in that moment spins a runtime thread for good (seen in CI: a test process at 100 % CPU,
    // its runtime unable to shut down). Connections are few and kept; PostgreSQL's own
    // `idle_session_timeout` can close idle ones: such a one fails its query and is replaced.
    let pool = PgPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(POOL_WAIT)
        .test_before_acquire(false)
        .idle_timeout(None)
        .max_lifetime(None)
        .after_release(|conn, _| Box::pin(postgres_is_clean(conn)))
        .connect_with(options)
        .await
        .map_err(DbError::from_connect)?;
    let conn = SqlxPostgresConnector::from_sqlx_postgres_pool(pool);
    Ok(Pools {
        writer: conn.clone(),
        sqlite_writer: None,
        reader: conn,
        hot_reader: None,
    })
}

/// Whether the SQLite writer may be lent again: outside any transaction, both by sqlx's count
/// and by SQLite's own autocommit flag.
///
/// The two part ways when a COMMIT or ROLLBACK fails: sqlx lowers its count only when they
/// succeed, while SQLite may already have rolled back by itself (a full disk). sqlx then
/// believes a transaction is open, and the next unit of work would be a SAVEPOINT inside it that
/// never commits: writes acknowledged and lost, the write lock held until a restart. Such a
/// writer is closed instead (closing rolls back whatever it held) and the pool opens a fresh one.
async fn sqlite_writer_is_clean(conn: &mut SqliteConnection) -> Result<bool, sqlx::Error> {
    // Locking the handle goes through the worker's queue, behind the rollback queued when the
    // unit of work was dropped, so the count below is the one after it.
    let mut handle = conn.lock_handle().await?;
    // SAFETY: the locked handle gives this thread sole use of the connection until it drops.
    let autocommit =
        unsafe { rusqlite::ffi::sqlite3_get_autocommit(handle.as_raw_handle().as_ptr()) } != 0;
    drop(handle);
    let depth = SqliteTransactionManager::get_transaction_depth(conn);
    if autocommit && depth == 0 {
        return Ok(true);
    }
    const REOPENED: &str = "the SQLite writer was left inside a transaction after a failed \
                            COMMIT or ROLLBACK; it is closed and a fresh connection opens";
    // A full disk does this to every write it refuses; its episode is logged once already.
    if super::error::in_storage_full_episode() {
        tracing::debug!(
            sqlx_depth = depth,
            sqlite_in_transaction = !autocommit,
            "{REOPENED}"
        );
    } else {
        tracing::warn!(
            sqlx_depth = depth,
            sqlite_in_transaction = !autocommit,
            "{REOPENED}"
        );
    }
    Ok(false)
}

/// Whether a PostgreSQL connection may be lent again: sqlx counts no open transaction. A unit
/// of work dropped mid-COMMIT queues its ROLLBACK and lowers the count; a connection whose
/// count is still up was left by a path that did not, and is closed rather than lent inside a
/// transaction. (A connection whose server went away fails sqlx's own ping after this.)
async fn postgres_is_clean(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    let depth = PgTransactionManager::get_transaction_depth(conn);
    if depth == 0 {
        return Ok(true);
    }
    tracing::warn!(
        sqlx_depth = depth,
        "a PostgreSQL connection was released inside a transaction; it is closed"
    );
    Ok(false)
}
