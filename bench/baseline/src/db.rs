//! The database: the sqlx pools opened as folio opens them (src/db/connect.rs), the rusqlite
//! readers that serve the book endpoints on SQLite, and two macros that run one statement on
//! whichever backend the URL chose.
//!
//! SQLite reads for the book endpoints go through [`Readers`], a fixed set of read-only
//! rusqlite connections: each request takes one and runs all its statements (and serialises
//! its answer) in one `spawn_blocking`, so it hops threads once, where sqlx's SQLite driver
//! hops to its connection's worker thread and back for every statement (and sends every row
//! through a channel). DESIGN §6 sets the bar against the best hand-written row for each
//! backend, and for SQLite that is axum + rusqlite. SQLite's writes go through [`Writer`], one
//! rusqlite connection whose transactions run on the request's thread. The sign-in check runs
//! on the rusqlite readers, as folio's does; the comment read back after its write stays on the
//! sqlx readers (folio reads it inside its unit of work). PostgreSQL is sqlx throughout.
//!
//! Statements are written once, as folio sends them to SQLite (`?` placeholders); on
//! PostgreSQL [`Db::sql`] numbers the placeholders `$1…`, as folio's `repo::statement` does.
//! The macros expand to one `match` arm per backend, so each arm is plain sqlx on concrete
//! types: no generic bounds, no `Any` driver converting every row.

use std::error::Error;
use std::fmt::Write;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::http::StatusCode;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, ConnectOptions, Postgres, SqlSafeStr, SqlStr, Transaction};
use tokio::sync::Semaphore;

use crate::ApiError;

/// folio's waits: writers queue behind one SQLite connection, so they wait longer for it.
const SQLITE_WRITER_WAIT: Duration = Duration::from_secs(30);
const POOL_WAIT: Duration = Duration::from_secs(5);
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Statements a reader keeps prepared (rusqlite's default is 16): the three book reads and the
/// parts statement for each number of books a page or a search of 20 can show.
const READER_STATEMENTS: usize = 32;

pub enum Db {
    /// One writer connection, so concurrent writes queue in the pool instead of failing with
    /// "database is locked"; a pool of read-only sqlx readers for the reads inside the write
    /// endpoints (reading a comment back); and the rusqlite readers, as many, for
    /// the book endpoints and the sign-in check.
    Sqlite {
        writer: Writer,
        reader: SqlitePool,
        readers: Readers,
    },
    /// One pool for reads and writes.
    Postgres(PgPool),
}

/// An open write transaction on PostgreSQL.
pub enum Tx {
    Postgres(Transaction<'static, Postgres>),
}

impl Db {
    /// Opens the database `url` names: `sqlite:///abs.db`, `sqlite://relative.db` or
    /// `postgres://…`. `pool_size` is the PostgreSQL pool, or the number of SQLite readers.
    /// The schema must already be there (`folio db init`): the baseline creates nothing.
    pub async fn connect(url: &str, pool_size: u32) -> Result<Self, Box<dyn Error>> {
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.split('?').next().unwrap_or(rest);
            let path = path.strip_prefix("//").unwrap_or(path);
            let options = SqliteConnectOptions::new()
                .filename(path)
                .foreign_keys(true)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .pragma("temp_store", "memory")
                .disable_statement_logging();
            // The writer opens first and switches the file to WAL, as folio's does; the setting
            // persists, so the read-only readers find a WAL database.
            let writer = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .acquire_timeout(SQLITE_WRITER_WAIT)
                .test_before_acquire(false)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options.clone().journal_mode(SqliteJournalMode::Wal))
                .await?;
            // It opened the file and switched it to WAL; the writes go through rusqlite.
            writer.close().await;
            let writer = Writer::open(path)?;
            let reader = SqlitePoolOptions::new()
                .max_connections(pool_size)
                .acquire_timeout(POOL_WAIT)
                .test_before_acquire(false)
                .connect_with(options.read_only(true))
                .await?;
            let readers = Readers::open(path, pool_size)?;
            Ok(Self::Sqlite {
                writer,
                reader,
                readers,
            })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?
                .application_name("folio-baseline")
                .disable_statement_logging();
            let pool = PgPoolOptions::new()
                .max_connections(pool_size)
                .acquire_timeout(POOL_WAIT)
                .test_before_acquire(false)
                .connect_with(options)
                .await?;
            Ok(Self::Postgres(pool))
        } else {
            Err(format!("DATABASE_URL must be sqlite://… or postgres://…, not {url:?}").into())
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }

    /// A statement written with `?` placeholders, in this backend's spelling.
    pub fn sql(&self, text: &'static str) -> SqlStr {
        if self.is_postgres() {
            postgres_sql(text)
        } else {
            text.into_sql_str()
        }
    }

    /// Starts a write transaction on PostgreSQL (SQLite's go through [`Writer`]).
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        match self {
            Self::Sqlite { .. } => unreachable!("SQLite's writes go through its Writer"),
            Self::Postgres(pool) => Ok(Tx::Postgres(pool.begin().await?)),
        }
    }
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Postgres(tx) => tx.commit().await,
        }
    }
}

/// SQLite's one writer connection, on rusqlite, behind an async lock: a write waits its turn
/// (as long as folio's writer waits), takes SQLite's write lock at once (`BEGIN IMMEDIATE`, as
/// folio's units of work do) and runs its statements on the request's thread, where a write's
/// few statements take microseconds: a hop to another thread would cost more than they do.
#[derive(Clone)]
pub struct Writer(Arc<tokio::sync::Mutex<Connection>>);

impl Writer {
    fn open(path: &str) -> rusqlite::Result<Self> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        // folio's writer settings (sqlx's SqliteConnectOptions above).
        conn.busy_timeout(SQLITE_BUSY_TIMEOUT)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "temp_store", "memory")?;
        // As folio's writer and both sides' readers: `LIMIT ?` keeps its plan across bindings.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        conn.set_prepared_statement_cache_capacity(READER_STATEMENTS);
        Ok(Self(Arc::new(tokio::sync::Mutex::new(conn))))
    }

    /// Runs `work` in a transaction: committed when it returns `Ok`, rolled back otherwise.
    pub async fn transaction<T>(
        &self,
        work: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let Ok(mut conn) = tokio::time::timeout(SQLITE_WRITER_WAIT, self.0.lock()).await else {
            eprintln!("database error: the SQLite writer did not come free in time");
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database error",
            ));
        };
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = work(&tx)?;
        tx.commit()?;
        Ok(value)
    }
}

/// A statement written with `?` placeholders, numbered for PostgreSQL.
pub fn postgres_sql(text: &str) -> SqlStr {
    AssertSqlSafe(numbered(text)).into_sql_str()
}

/// `head`, a list of `count` placeholders, and `tail`: folio's `… IN (?, ?, ?) …`.
pub fn in_list(head: &str, count: usize, tail: &str) -> String {
    let list = vec!["?"; count].join(", ");
    format!("{head}{list}{tail}")
}

/// `?` → `$1`, `$2`, … (no statement here has a `?` inside a literal).
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    for (n, part) in sql.split('?').enumerate() {
        if n > 0 {
            write!(out, "${n}").expect("writing to a String cannot fail");
        }
        out.push_str(part);
    }
    out
}

/// A fixed set of read-only rusqlite connections to the SQLite file. A request waits for one
/// (as long as sqlx waits for a pooled connection), then runs all its statements on it in one
/// blocking task. The file is in WAL mode, so the readers see every committed write and never
/// block the writer.
#[derive(Clone)]
pub struct Readers(Arc<Idle>);

/// The idle connections, and a permit for each.
struct Idle {
    connections: Mutex<Vec<Connection>>,
    /// One permit per idle connection, so that waiting is async and a permit always finds one.
    permits: Semaphore,
}

impl Readers {
    /// Opens `count` connections. Read-only, and without SQLite's own mutex: a connection is
    /// used by one thread at a time. URIs off, as the path is a plain file name.
    fn open(path: &str, count: u32) -> rusqlite::Result<Self> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connections = (0..count)
            .map(|_| {
                let conn = Connection::open_with_flags(path, flags)?;
                // The sqlx readers' settings that matter to a reader (foreign keys and
                // synchronous only concern writes).
                conn.busy_timeout(SQLITE_BUSY_TIMEOUT)?;
                conn.pragma_update(None, "temp_store", "memory")?;
                // As folio: `LIMIT ?` would otherwise re-prepare the statement on every binding.
                conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
                conn.set_prepared_statement_cache_capacity(READER_STATEMENTS);
                Ok(conn)
            })
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Self(Arc::new(Idle {
            connections: Mutex::new(connections),
            permits: Semaphore::new(count as usize),
        })))
    }

    /// Runs `work` on a reader, on tokio's blocking pool: one thread hop for the whole request
    /// rather than one per statement. A 503 when no reader comes free in time.
    pub async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
    {
        let waited = tokio::time::timeout(POOL_WAIT, self.0.permits.acquire()).await;
        let Ok(Ok(permit)) = waited else {
            eprintln!("database error: no SQLite reader came free in time");
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database error",
            ));
        };
        // The lease gives the permit back with the connection, whenever the task ends.
        permit.forget();
        let lease = Lease {
            conn: self.0.take(),
            readers: self.clone(),
        };
        tokio::task::spawn_blocking(move || work(lease.conn()))
            .await
            .map_err(|e| {
                eprintln!("database error: {e}");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "database error")
            })?
    }
}

impl Readers {
    /// As folio's `run_here` (src/db/sqlite_reads.rs), for the book by id: when a reader is
    /// idle right now, runs `work` on the calling thread, sparing the hop; otherwise as
    /// [`Readers::run`].
    pub async fn run_here<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
    {
        let Ok(permit) = self.0.permits.try_acquire() else {
            return self.run(work).await;
        };
        permit.forget();
        let lease = Lease {
            conn: self.0.take(),
            readers: self.clone(),
        };
        work(lease.conn())
    }
}

impl Idle {
    fn take(&self) -> Option<Connection> {
        self.lock().pop()
    }

    /// Held only to push or pop, and nothing there panics; a poisoned list is still whole.
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        self.connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// A reader taken from [`Readers`], given back when dropped, even if the work panicked.
struct Lease {
    conn: Option<Connection>,
    readers: Readers,
}

impl Lease {
    fn conn(&self) -> &Connection {
        self.conn
            .as_ref()
            .expect("a permit is only granted while a connection is idle")
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.readers.0.lock().push(conn);
            self.readers.0.permits.add_permits(1);
        }
    }
}

/// Runs one statement on the sqlx reader pool and decodes its rows as the caller's type (a
/// tuple): `read!(db, fetch_optional(sql, a, b))`.
macro_rules! read {
    ($db:expr, $fetch:ident($sql:expr $(, $arg:expr)* $(,)?)) => {{
        let sql = $sql;
        match $db {
            $crate::db::Db::Sqlite { reader, .. } => {
                sqlx::query_as(sql)$(.bind($arg))*.$fetch(reader).await
            }
            $crate::db::Db::Postgres(pool) => {
                sqlx::query_as(sql)$(.bind($arg))*.$fetch(pool).await
            }
        }
    }};
}

/// Runs one statement in a write transaction: `in_tx!(tx, fetch_one(sql, a, b))`.
macro_rules! in_tx {
    ($tx:expr, $fetch:ident($sql:expr $(, $arg:expr)* $(,)?)) => {{
        let sql = $sql;
        match $tx {
            $crate::db::Tx::Postgres(tx) => {
                sqlx::query_as(sql)$(.bind($arg))*.$fetch(&mut **tx).await
            }
        }
    }};
}

pub(crate) use {in_tx, read};
