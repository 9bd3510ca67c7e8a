//! SQLite's hot reads on rusqlite: one blocking hop per request instead of one per statement.
//!
//! sqlx's SQLite driver gives each connection a thread of its own and sends every statement,
//! and every row back, across threads. Serving books by id on a 2-core machine, a third of
//! folio's CPU went to the scheduler switching those threads (perf; bench/README.md). A hot
//! read here takes one connection of this pool and runs all its statements in one
//! `spawn_blocking`. The statements are still built by SeaORM and sea-query, so the SQL is the
//! ORM's own; only running them and decoding their rows happens here.
//!
//! Writes never come here: they keep SeaORM's unit of work on the single writer connection.
//! The file is in WAL mode, so these readers see every committed write.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use rusqlite::types::{ToSqlOutput, Value as SqlValue};
use rusqlite::{Connection, ErrorCode, OpenFlags, Row};
use sea_orm::sea_query::{OptionEnum, Value};
use sea_orm::{DbErr, RuntimeErr, Statement};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::DbError;

/// Prepared statements kept per connection: the hot paths use a handful, and a page's
/// statement differs with the number of books in it.
const STATEMENT_CACHE: usize = 64;

/// The pool: `size` read-only connections, opened up front.
pub struct SqliteReads {
    path: PathBuf,
    busy_timeout: Duration,
    /// How long a read waits for a connection before the database counts as unavailable.
    wait: Duration,
    slow: Duration,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

/// The timings of [`SqliteReads`], as the sqlx pools have them.
pub(super) struct ReaderTimings {
    pub busy_timeout: Duration,
    pub wait: Duration,
    pub slow: Duration,
}

impl SqliteReads {
    pub(super) fn open(path: &Path, size: u32, timings: ReaderTimings) -> Result<Self, DbError> {
        let pool = Self {
            path: path.to_path_buf(),
            busy_timeout: timings.busy_timeout,
            wait: timings.wait,
            slow: timings.slow,
            idle: Mutex::new(Vec::with_capacity(size as usize)),
            permits: Arc::new(Semaphore::new(size as usize)),
        };
        let connections = (0..size)
            .map(|_| pool.connect())
            .collect::<Result<Vec<_>, _>>()?;
        *pool.idle() = connections;
        Ok(pool)
    }

    fn connect(&self) -> Result<Connection, DbError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)
            .map_err(|e| DbError::Unavailable(e.to_string()))?;
        conn.busy_timeout(self.busy_timeout)
            .and_then(|()| conn.pragma_update(None, "temp_store", "memory"))
            .map_err(|e| DbError::Unavailable(e.to_string()))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }

    /// The idle list is only pushed to and popped from, and nothing there panics: a
    /// poisoned list is still whole.
    fn idle(&self) -> MutexGuard<'_, Vec<Connection>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A connection lent to one read, with the permit it holds. Dropping it gives the connection
/// back, also when the read panicked.
struct Lease {
    conn: Option<Connection>,
    pool: Arc<SqliteReads>,
    _permit: OwnedSemaphorePermit,
}

impl Lease {
    fn new(pool: &Arc<SqliteReads>, permit: OwnedSemaphorePermit) -> Result<Self, DbError> {
        // Every idle connection has a permit; the list is short only after a reconnect failed.
        let conn = match pool.idle().pop() {
            Some(conn) => conn,
            None => pool.connect()?,
        };
        Ok(Self {
            conn: Some(conn),
            pool: pool.clone(),
            _permit: permit,
        })
    }

    fn read<'c>(&'c self, counter: Option<&'c AtomicU64>) -> SqliteRead<'c> {
        SqliteRead {
            conn: self.conn.as_ref().expect("a lease holds its connection"),
            counter,
            slow: self.pool.slow,
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && !self.pool.permits.is_closed()
        {
            self.pool.idle().push(conn);
        }
    }
}

/// The pool as one value of [`super::Database`] holds it: shared connections, and the
/// statement counter of that value, if a test asked for one.
#[derive(Clone)]
pub struct SqliteReader {
    pool: Arc<SqliteReads>,
    counter: Option<Arc<AtomicU64>>,
}

impl SqliteReader {
    pub(super) fn new(pool: SqliteReads) -> Self {
        Self {
            pool: Arc::new(pool),
            counter: None,
        }
    }

    /// Closes the connections, so that the writer, closing last, checkpoints the WAL. Reads
    /// after this fail as unavailable.
    pub(super) fn close(&self) {
        self.pool.permits.close();
        self.pool.idle().clear();
    }

    pub(super) fn count_into(&mut self, counter: Arc<AtomicU64>) {
        self.counter = Some(counter);
    }

    /// Runs `work` on one connection, off the async threads: one hop for all its statements.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&SqliteRead<'_>) -> Result<T, E> + Send + 'static,
    {
        let lease = self.lease().await?;
        let counter = self.counter.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            work(&lease.read(counter.as_deref()))
        })
        .await
        .map_err(|e| DbError::Internal(DbErr::Custom(format!("a read failed: {e}"))))?
    }

    /// Runs `work` on the calling thread when a connection is idle right now, else as
    /// [`Self::run`]. Only for reads of a bounded handful of rows by key (a book by id): they
    /// take tens of microseconds, less than the two thread switches of a hop, and blocking an
    /// async worker that long is no worse than serialising the answer. Anything that scans
    /// goes through [`Self::run`].
    pub async fn run_here<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&SqliteRead<'_>) -> Result<T, E> + Send + 'static,
    {
        let Ok(permit) = self.pool.permits.clone().try_acquire_owned() else {
            return self.run(work).await;
        };
        let lease = Lease::new(&self.pool, permit)?;
        work(&lease.read(self.counter.as_deref()))
    }

    async fn lease(&self) -> Result<Lease, DbError> {
        let permits = self.pool.permits.clone();
        let permit = match tokio::time::timeout(self.pool.wait, permits.acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(DbError::Unavailable("the reader pool is closed".into())),
            Err(_) => {
                return Err(DbError::Unavailable(
                    "no SQLite reader came free in time".into(),
                ));
            }
        };
        Lease::new(&self.pool, permit)
    }
}

/// One connection, lent to a read for its statements.
pub struct SqliteRead<'c> {
    conn: &'c Connection,
    counter: Option<&'c AtomicU64>,
    slow: Duration,
}

impl SqliteRead<'_> {
    /// Runs a statement SeaORM or sea-query built for SQLite, mapping each row with `map`.
    pub fn query<T>(
        &self,
        statement: &Statement,
        mut map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, DbError> {
        if let Some(counter) = self.counter {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        let started = Instant::now();
        let mut prepared = self
            .conn
            .prepare_cached(&statement.sql)
            .map_err(from_sqlite)?;
        let values = statement.values.as_ref().map_or(&[][..], |v| &v.0[..]);
        for (i, value) in values.iter().enumerate() {
            prepared
                .raw_bind_parameter(i + 1, bindable(value)?)
                .map_err(from_sqlite)?;
        }
        let mut rows = prepared.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(from_sqlite)? {
            out.push(map(row).map_err(from_sqlite)?);
        }
        let elapsed = started.elapsed();
        if elapsed >= self.slow {
            tracing::warn!(db.statement = %statement.sql, ?elapsed, "slow statement");
        } else {
            tracing::debug!(db.statement = %statement.sql, rows_returned = out.len(), ?elapsed);
        }
        Ok(out)
    }
}

/// A value as sqlx would have bound it, so that comparisons against stored text (timestamps,
/// dates) match what the ORM wrote.
fn bindable(value: &Value) -> Result<ToSqlOutput<'_>, DbError> {
    let owned = |v: SqlValue| Ok(ToSqlOutput::Owned(v));
    let int = |v: Option<i64>| owned(v.map_or(SqlValue::Null, SqlValue::Integer));
    let text = |v: Option<String>| owned(v.map_or(SqlValue::Null, SqlValue::Text));
    match value {
        Value::Bool(v) => int(v.map(i64::from)),
        Value::TinyInt(v) => int(v.map(i64::from)),
        Value::SmallInt(v) => int(v.map(i64::from)),
        Value::Int(v) => int(v.map(i64::from)),
        Value::BigInt(v) => int(*v),
        Value::TinyUnsigned(v) => int(v.map(i64::from)),
        Value::SmallUnsigned(v) => int(v.map(i64::from)),
        Value::Unsigned(v) => int(v.map(i64::from)),
        Value::BigUnsigned(v) => int(v.map(|v| i64::try_from(v).unwrap_or(i64::MAX))),
        Value::Float(v) => owned(v.map_or(SqlValue::Null, |v| SqlValue::Real(v.into()))),
        Value::Double(v) => owned(v.map_or(SqlValue::Null, SqlValue::Real)),
        Value::String(v) => text(v.clone()),
        Value::Char(v) => text(v.map(String::from)),
        Value::Enum(OptionEnum::Some(v)) => text(Some(v.value.to_string())),
        Value::Enum(OptionEnum::None(_)) => owned(SqlValue::Null),
        Value::Bytes(v) => owned(v.clone().map_or(SqlValue::Null, SqlValue::Blob)),
        Value::ChronoDate(v) => text(v.map(|d| d.format("%F").to_string())),
        Value::ChronoDateTimeUtc(v) => {
            text(v.map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, false)))
        }
        other => Err(DbError::Internal(DbErr::Custom(format!(
            "no SQLite binding for {other:?}"
        )))),
    }
}

/// A timestamp column as sqlx reads it back: RFC 3339, or SQLite's own `YYYY-MM-DD HH:MM:SS`
/// (taken as UTC).
pub fn utc(row: &Row<'_>, index: usize) -> rusqlite::Result<DateTime<Utc>> {
    let text: String = row.get(index)?;
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| NaiveDateTime::parse_from_str(&text, "%F %T%.f").map(|t| t.and_utc()))
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(
                index,
                rusqlite::types::Type::Text,
                Box::new(e),
            )
        })
}

fn from_sqlite(err: rusqlite::Error) -> DbError {
    match err.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::CannotOpen) => {
            DbError::Unavailable(err.to_string())
        }
        _ => DbError::Internal(DbErr::Query(RuntimeErr::Internal(err.to_string()))),
    }
}
