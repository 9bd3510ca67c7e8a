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
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use rusqlite::types::{ToSqlOutput, Value as SqlValue};
use rusqlite::{Connection, ErrorCode, OpenFlags, Row};
use sea_orm::sea_query::{OptionEnum, Value};
use sea_orm::{DbErr, RuntimeErr, Statement};
use tokio::sync::Semaphore;

use super::DbError;

/// Prepared statements kept per connection: the hot paths use a handful, and a page's
/// statement differs with the number of books in it.
const STATEMENT_CACHE: usize = 64;

/// The pool: `size` read-only connections, opened up front.
pub struct SqliteReads {
    path: PathBuf,
    busy_timeout: Duration,
    slow: Duration,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

impl SqliteReads {
    pub(super) fn open(
        path: &Path,
        size: u32,
        busy_timeout: Duration,
        slow: Duration,
    ) -> Result<Self, DbError> {
        let pool = Self {
            path: path.to_path_buf(),
            busy_timeout,
            slow,
            idle: Mutex::new(Vec::with_capacity(size as usize)),
            permits: Semaphore::new(size as usize),
        };
        let connections = (0..size)
            .map(|_| pool.connect())
            .collect::<Result<Vec<_>, _>>()?;
        *pool.idle.lock().expect("reader pool lock") = connections;
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
        self.pool.idle.lock().expect("reader pool lock").clear();
    }

    pub(super) fn count_into(&mut self, counter: Arc<AtomicU64>) {
        self.counter = Some(counter);
    }

    /// Runs `work` on one connection, off the async threads. Waits for a free connection
    /// first; a panic in `work` costs that connection, and the next request opens a new one.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&SqliteRead<'_>) -> Result<T, E> + Send + 'static,
    {
        let _permit = self
            .pool
            .permits
            .acquire()
            .await
            .map_err(|_| DbError::Unavailable("the reader pool is closed".into()))?;
        let taken = self.pool.idle.lock().expect("reader pool lock").pop();
        let conn = match taken {
            Some(conn) => conn,
            None => self.pool.connect()?,
        };
        let (pool, counter) = (self.pool.clone(), self.counter.clone());
        let span = tracing::Span::current();
        let (conn, result) = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let read = SqliteRead {
                conn: &conn,
                counter: counter.as_deref(),
                slow: pool.slow,
            };
            let result = work(&read);
            (conn, result)
        })
        .await
        .map_err(|e| DbError::Internal(DbErr::Custom(format!("a read failed: {e}"))))?;
        self.pool.idle.lock().expect("reader pool lock").push(conn);
        result
    }
}

impl SqliteReader {
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
        let Ok(_permit) = self.pool.permits.try_acquire() else {
            return self.run(work).await;
        };
        let taken = self.pool.idle.lock().expect("reader pool lock").pop();
        let conn = match taken {
            Some(conn) => conn,
            None => self.pool.connect()?,
        };
        let read = SqliteRead {
            conn: &conn,
            counter: self.counter.as_deref(),
            slow: self.pool.slow,
        };
        let result = work(&read);
        self.pool.idle.lock().expect("reader pool lock").push(conn);
        result
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
