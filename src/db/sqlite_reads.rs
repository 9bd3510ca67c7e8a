//! SQLite's hot reads on rusqlite: one blocking hop per request instead of one per statement.
//!
//! sqlx's SQLite driver gives each connection a thread of its own and sends every statement,
//! and every row back, across threads. Serving books by id on a 2-core machine, a third of
//! folio's CPU went to the scheduler switching those threads (perf; bench/README.md). A hot
//! read here takes one connection of this pool and runs all its statements in one
//! `spawn_blocking`, or none: a read bounded by keys and a limit runs on the request's thread
//! when a connection is idle. Repo functions do not know they run here: they read through
//! [`super::Read`], which sends their statements to [`HotRead::query`].
//!
//! Writes never come here: they go through SQLite's writer, a connection of its own
//! (`sqlite_writer`), which runs its statements through the same loop ([`rows_on`]).
//! The file is in WAL mode, so these readers see every committed write.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use rusqlite::config::DbConfig;
use rusqlite::types::{ToSqlOutput, Value as SqlValue};
use rusqlite::{Connection, OpenFlags, Row};
use sea_orm::DbErr;
use sea_orm::sea_query::{OptionEnum, Value};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::DbError;
use crate::telemetry::metrics::{PoolMetrics, PoolStats};

/// Prepared statements kept per connection: the hot paths use a handful, and a page's
/// statement differs with the number of books in it.
const STATEMENT_CACHE: usize = 64;

/// The pool: `size` read-only connections, opened up front.
struct ReadPool {
    path: PathBuf,
    size: u32,
    busy_timeout: Duration,
    /// How long a read waits for a connection before the database counts as unavailable.
    wait: Duration,
    slow: Duration,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
    /// Leases so far: whether reads ran since the last look (see `Database::trim_when_idle`).
    leases: AtomicU64,
}

/// The timings of the hot readers, as the sqlx pools have them.
pub(super) struct ReaderTimings {
    pub busy_timeout: Duration,
    pub wait: Duration,
    pub slow: Duration,
}

impl ReadPool {
    fn connect(&self) -> Result<Connection, DbError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)
            .map_err(|e| DbError::Unavailable(e.to_string()))?;
        // A 1 MiB page cache (half SQLite's default): the upper levels of the indexes the hot
        // reads walk fit, the rest comes from the operating system's cache. It served the
        // 1,000,000-book bench as fast as 2 MiB and took the server's peak under mixed load
        // from 59 to 43 MiB (bench/README.md, "Memory under mixed load").
        // The query planner's stability guarantee: without it SQLite plans `LIMIT ?` from the
        // value bound, so every new binding threw the cached statement away and prepared it
        // again; a page of 20 went from ~5,100 to ~7,500 requests/s (bench/README.md).
        conn.busy_timeout(self.busy_timeout)
            .and_then(|()| conn.pragma_update(None, "temp_store", "memory"))
            .and_then(|()| conn.pragma_update(None, "cache_size", -1024))
            .and_then(|()| conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true))
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
/// back, also when the read panicked, unless it is left inside a transaction. The connection
/// sits in a mutex only so that a [`HotRead`] may be shared with the read's future (which
/// must be `Send`, as every read's future is); nothing else ever contends for it.
struct Lease {
    conn: Option<Mutex<Connection>>,
    pool: Arc<ReadPool>,
    _permit: OwnedSemaphorePermit,
}

impl Lease {
    fn new(pool: &Arc<ReadPool>, permit: OwnedSemaphorePermit) -> Result<Self, DbError> {
        pool.leases.fetch_add(1, Ordering::Relaxed);
        let idle = pool.idle().pop();
        // Every permit finds an idle connection, but for one dropped mid-transaction.
        let conn = match idle {
            Some(conn) => conn,
            None => pool.connect()?,
        };
        Ok(Self {
            conn: Some(Mutex::new(conn)),
            pool: pool.clone(),
            _permit: permit,
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        lock(self.conn.as_ref().expect("a lease holds its connection"))
    }

    fn read<'c>(&'c self, counter: Option<&'c AtomicU64>) -> HotRead<'c> {
        HotRead {
            conn: self.conn.as_ref().expect("a lease holds its connection"),
            counter,
            slow: self.pool.slow,
            busy: AtomicBool::new(false),
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        let conn = conn.into_inner().unwrap_or_else(PoisonError::into_inner);
        // A read that began a transaction would pin its snapshot and hold back checkpoints.
        if conn.is_autocommit() && !self.pool.permits.is_closed() {
            self.pool.idle().push(conn);
        }
    }
}

/// The hot-read pool as one value of [`super::Database`] holds it: shared connections, and
/// the statement counter of that value, if a test asked for one.
#[derive(Clone)]
pub(super) struct HotReader {
    pool: Arc<ReadPool>,
    counter: Option<Arc<AtomicU64>>,
    metrics: PoolMetrics,
}

/// The rusqlite readers' name in the metrics.
const POOL: &str = "sqlite_readers";

impl HotReader {
    pub(super) fn open(path: &Path, size: u32, timings: ReaderTimings) -> Result<Self, DbError> {
        let pool = ReadPool {
            path: path.to_path_buf(),
            size,
            busy_timeout: timings.busy_timeout,
            wait: timings.wait,
            slow: timings.slow,
            idle: Mutex::new(Vec::with_capacity(size as usize)),
            permits: Arc::new(Semaphore::new(size as usize)),
            leases: AtomicU64::new(0),
        };
        let connections = (0..size)
            .map(|_| pool.connect())
            .collect::<Result<Vec<_>, _>>()?;
        *pool.idle() = connections;
        Ok(Self {
            pool: Arc::new(pool),
            counter: None,
            metrics: PoolMetrics::new(POOL),
        })
    }

    /// Waits (as long as a read would) for the connections lent out to come back, then closes
    /// them all, so that the writer, closing last, checkpoints the WAL: a read-only
    /// connection cannot. Reads after this fail as unavailable.
    pub(super) async fn close(&self) {
        let permits = self.pool.permits.clone();
        let all = permits.acquire_many_owned(self.pool.size);
        let _all = tokio::time::timeout(self.pool.wait, all).await;
        self.pool.permits.close();
        self.pool.idle().clear();
    }

    /// The readers as a pool, for the metrics.
    pub(super) fn stats(&self) -> PoolStats {
        let free = self.pool.permits.available_permits() as u32;
        PoolStats {
            pool: POOL,
            size: self.pool.size,
            max: self.pool.size,
            in_use: self.pool.size.saturating_sub(free),
        }
    }

    /// How many reads have taken a connection so far.
    pub(super) fn leases(&self) -> u64 {
        self.pool.leases.load(Ordering::Relaxed)
    }

    /// Frees the page caches of the connections no read holds (`sqlite3_db_release_memory`);
    /// the next reads fill them again from the operating system's cache.
    pub(super) fn release_idle_memory(&self) {
        for conn in self.pool.idle().iter() {
            let _ = conn.release_memory();
        }
    }

    pub(super) fn count_into(&mut self, counter: Arc<AtomicU64>) {
        self.counter = Some(counter);
    }

    /// Whether a reader comes free and answers (the readiness probe).
    pub(super) async fn ping(&self) -> Result<(), DbError> {
        self.run(|read| -> Result<(), DbError> {
            read.query("SELECT 1", &[], |_| Ok(()))?;
            Ok(())
        })
        .await
    }

    /// Runs `work` on one connection, off the async threads: one hop for all its statements.
    pub(super) async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&HotRead<'_>) -> Result<T, E> + Send + 'static,
    {
        let lease = self.lease().await?;
        let interrupt = Interrupt::new(&lease);
        let counter = self.counter.clone();
        let span = tracing::Span::current();
        let finished = interrupt.finished();
        let joined = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            // Dropped before the lease (declared after it): the connection is no longer
            // interruptible by this read once it is back in the pool, whatever happens.
            let _finished = finished;
            work(&lease.read(counter.as_deref()))
        })
        .await;
        interrupt.disarm();
        match joined {
            Ok(result) => result,
            // A panic in the read panics the request, as it would have on the calling thread.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(DbError::Internal(DbErr::Custom(format!("a read failed: {e}"))).into()),
        }
    }

    /// Runs `work` on the calling thread when a connection is idle right now, else as
    /// [`Self::run`]. Only for reads bounded by keys and a limit (a book by id, a page of the
    /// catalog off an index): from SQLite's cache they take tens to a few hundred microseconds,
    /// less than a hop's two thread switches and the answer's memory freed on another thread
    /// cost them. Such a read does not wait on a lock here: should SQLite be busy (another process
    /// holding the file exclusively, a WAL recovery), it is tried again through
    /// [`Self::run`], where waiting blocks no async worker.
    pub(super) async fn run_here<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: Fn(&HotRead<'_>) -> Result<T, E> + Send + 'static,
    {
        let Ok(permit) = self.pool.permits.clone().try_acquire_owned() else {
            return self.run(work).await;
        };
        self.metrics.acquired_at_once();
        let (result, was_busy) = {
            let lease = Lease::new(&self.pool, permit)?;
            lease
                .conn()
                .busy_timeout(Duration::ZERO)
                .map_err(DbError::from_rusqlite)?;
            let read = lease.read(self.counter.as_deref());
            let result = work(&read);
            lease
                .conn()
                .busy_timeout(self.pool.busy_timeout)
                .map_err(DbError::from_rusqlite)?;
            (result, read.busy.load(Ordering::Relaxed))
        };
        if was_busy {
            return self.run(work).await;
        }
        result
    }

    async fn lease(&self) -> Result<Lease, DbError> {
        let permits = self.pool.permits.clone();
        let _waiting = self.metrics.waiting();
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

/// Stops a read's statements when the request waiting for it goes away (the client left, the
/// request timed out, the server is shutting down): a blocking task runs to its end whatever
/// happens to the future awaiting it, so a runaway read held its connection, a blocking thread
/// and a core until it finished, and kept the process from exiting. Dropped while armed, it
/// interrupts the connection (`sqlite3_interrupt`); the statement fails at once, and the
/// connection goes back to the pool.
struct Interrupt {
    handle: Arc<Mutex<Option<rusqlite::InterruptHandle>>>,
}

/// Held by the read itself: when it drops, the connection is no longer the read's to interrupt.
struct Finished(Arc<Mutex<Option<rusqlite::InterruptHandle>>>);

impl Interrupt {
    fn new(lease: &Lease) -> Self {
        Self {
            handle: Arc::new(Mutex::new(Some(lease.conn().get_interrupt_handle()))),
        }
    }

    fn finished(&self) -> Finished {
        Finished(self.handle.clone())
    }

    /// The read's answer arrived: nothing to interrupt.
    fn disarm(self) {
        lock(&self.handle).take();
    }
}

impl Drop for Interrupt {
    fn drop(&mut self) {
        // Interrupting under the lock: the read cannot hand its connection back meanwhile.
        if let Some(handle) = lock(&self.handle).as_ref() {
            handle.interrupt();
        }
    }
}

impl Drop for Finished {
    fn drop(&mut self) {
        lock(&self.0).take();
    }
}

/// Nothing panics while holding these locks; a poisoned one is still whole.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One connection, lent to a read for its statements.
pub struct HotRead<'c> {
    conn: &'c Mutex<Connection>,
    counter: Option<&'c AtomicU64>,
    slow: Duration,
    /// Set when SQLite answered busy: an inline read is then tried again off-thread.
    busy: AtomicBool,
}

impl HotRead<'_> {
    /// Runs `sql` with `values` bound (a statement SeaORM or sea-query built for SQLite, or
    /// hand-written with `?` placeholders), decoding each row with `decode`. Prepared
    /// statements are cached per connection: a hot path binds new values to the same SQL.
    pub(super) fn query<T>(
        &self,
        sql: &str,
        values: &[Value],
        decode: impl FnMut(&Row<'_>) -> Result<T, DbError>,
    ) -> Result<Vec<T>, DbError> {
        if let Some(counter) = self.counter {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        let started = Instant::now();
        let out = self.rows(sql, values, decode).inspect_err(|e| {
            if e.is_unavailable() {
                self.busy.store(true, Ordering::Relaxed);
            }
        })?;
        let elapsed = started.elapsed();
        if elapsed >= self.slow {
            tracing::warn!(db.statement = %sql, ?elapsed, "slow statement");
        } else {
            tracing::debug!(db.statement = %sql, rows_returned = out.len(), ?elapsed);
        }
        Ok(out)
    }

    fn rows<T>(
        &self,
        sql: &str,
        values: &[Value],
        decode: impl FnMut(&Row<'_>) -> Result<T, DbError>,
    ) -> Result<Vec<T>, DbError> {
        rows_on(
            &lock(self.conn),
            sql,
            values,
            DbError::from_rusqlite,
            decode,
        )
    }
}

/// Runs `sql` on `conn` with `values` bound, decoding each row with `decode`: the statement
/// loop of the hot readers and of SQLite's writer (`sqlite_writer`). Prepared statements are
/// cached per connection. `failed` says what an SQLite failure means to the caller.
pub(super) fn rows_on<T, E: From<DbError>>(
    conn: &Connection,
    sql: &str,
    values: &[Value],
    failed: fn(rusqlite::Error) -> E,
    mut decode: impl FnMut(&Row<'_>) -> Result<T, E>,
) -> Result<Vec<T>, E> {
    let mut prepared = conn.prepare_cached(sql).map_err(failed)?;
    bind(&mut prepared, values).map_err(|e| E::from(DbError::Internal(e)))?;
    let mut rows = prepared.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(failed)? {
        out.push(decode(row)?);
    }
    Ok(out)
}

/// Binds `values` to the statement's `?` placeholders, in order.
pub(super) fn bind(prepared: &mut rusqlite::Statement<'_>, values: &[Value]) -> Result<(), DbErr> {
    for (i, value) in values.iter().enumerate() {
        prepared
            .raw_bind_parameter(i + 1, bindable(value)?)
            .map_err(|e| DbErr::Query(sea_orm::RuntimeErr::Internal(e.to_string())))?;
    }
    Ok(())
}

/// A value as sqlx would have bound it, so that comparisons against stored text (timestamps,
/// dates) match what the ORM wrote.
fn bindable(value: &Value) -> Result<ToSqlOutput<'_>, DbErr> {
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
        Value::BigUnsigned(Some(v)) => match i64::try_from(*v) {
            Ok(v) => int(Some(v)),
            Err(_) => Err(DbErr::Custom(format!("{v} is beyond SQLite's integers"))),
        },
        Value::BigUnsigned(None) => int(None),
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
        other => Err(DbErr::Custom(format!("no SQLite binding for {other:?}"))),
    }
}

/// The text forms of a timestamp sqlx reads back, after RFC 3339 (its list, from SQLite's
/// date and time functions); those without a zone are UTC.
const TIMESTAMP_FORMATS: [&str; 12] = [
    "%F %T%.f",
    "%F %R",
    "%F %RZ",
    "%F %R%:z",
    "%F %T%.fZ",
    "%F %T%.f%:z",
    "%FT%R",
    "%FT%RZ",
    "%FT%R%:z",
    "%FT%T%.f",
    "%FT%T%.fZ",
    "%FT%T%.f%:z",
];

/// A timestamp as sqlx reads SQLite's text: RFC 3339 (what SeaORM writes), or any form in
/// [`TIMESTAMP_FORMATS`]; those without a zone are UTC.
pub(super) fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    TIMESTAMP_FORMATS.iter().find_map(|format| {
        DateTime::parse_from_str(text, format)
            .map(|at| at.with_timezone(&Utc))
            .or_else(|_| NaiveDateTime::parse_from_str(text, format).map(|at| at.and_utc()))
            .ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_decode_in_every_form_sqlx_accepts() {
        let noon = "2024-02-29T12:30:00Z".parse::<DateTime<Utc>>().unwrap();
        for text in [
            "2024-02-29T12:30:00+00:00",
            "2024-02-29T12:30:00.000000+00:00",
            "2024-02-29 12:30:00",
            "2024-02-29 12:30",
            "2024-02-29T12:30",
            "2024-02-29T13:30:00+01:00",
            "2024-02-29 14:30:00.0+02:00",
            "2024-02-29T12:30:00.000Z",
        ] {
            assert_eq!(parse_timestamp(text), Some(noon), "{text}");
        }
        assert_eq!(parse_timestamp("29/02/2024"), None);
    }

    #[test]
    fn integers_beyond_sqlite_are_refused_not_clamped() {
        assert!(bindable(&Value::BigUnsigned(Some(u64::MAX))).is_err());
        assert!(bindable(&Value::BigUnsigned(Some(21))).is_ok());
    }
}
