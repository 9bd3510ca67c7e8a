//! SQLite's single writer on rusqlite: a unit of work runs its statements where it is awaited,
//! with no thread hop at all.
//!
//! sqlx's SQLite driver gives its connection a worker thread and sends every statement, and
//! every row back, across threads: adding a comment cost four hops and ran at 0.3× a
//! hand-written rusqlite server (issue 19). Here the writer connection sits behind an async
//! lock. [`SqliteWriter::begin`] waits its turn for it (units of work queue there, never on
//! "database is locked"), takes SQLite's write lock with `BEGIN IMMEDIATE`, and lends the
//! connection to a [`SqliteUnit`] until it commits or is dropped. The unit's statements run
//! on the calling thread: a write's statements take microseconds from the page cache, less
//! than the two context switches a hop to a thread of its own would cost (the same finding
//! as the hot reads', bench/README.md). A `BEGIN IMMEDIATE` that must wait for another
//! process (an import beside the server) waits on a blocking thread instead, where it stalls
//! no async worker.
//!
//! Repo functions do not know they run here: [`SqliteUnit`] implements SeaORM's
//! `ConnectionTrait`, and [`super::Read`] sends their hand-written reads to
//! [`SqliteUnit::query`]. Rows reach SeaORM as rows of values typed as the entity declares
//! their column (see [`Columns`]), handed over as [`answer`] describes.
//!
//! Errors come back as the sqlx errors the rest of the layer classifies (`error.rs`), so a
//! constraint, a busy database or a full disk maps to the same [`DbError`] on both drivers.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use rusqlite::config::DbConfig;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, OpenFlags};
use sea_orm::sea_query::Value;
use sea_orm::{
    ColumnType, ConnectionTrait, DbBackend, DbErr, ExecResult, MockDatabase, MockExecResult,
    QueryResult, RuntimeErr, Statement,
};
use tokio::sync::OwnedMutexGuard;

use super::DbError;
use super::sqlite_checkpoint::{BACKSTOP_PAGES, Checkpointer};
use super::sqlite_reads::{bind, parse_timestamp, rows_on};
use crate::telemetry::metrics::{PoolMetrics, PoolStats};

/// Prepared statements kept on the writer: the write paths use a few dozen.
const STATEMENT_CACHE: usize = 128;

/// How the writer connection is opened and how long things may take.
pub(super) struct WriterConfig {
    pub path: PathBuf,
    /// How long SQLite waits on a lock another process holds.
    pub busy_timeout: Duration,
    /// How long a unit of work waits for the writer before the database counts as unavailable.
    pub wait: Duration,
    pub slow: Duration,
}

/// The writer connection: `None` once closed at shutdown, or after a failure closed it (the
/// next unit of work then opens a fresh one).
type Slot = Option<Connection>;

/// The writer, held by one unit of work (or one `BEGIN` on its way to one). It is never given
/// back inside a transaction: one left open would hold SQLite's write lock against every other
/// process until folio's next write. That happens when a request goes away while its `BEGIN`
/// waits on a blocking thread: the `BEGIN` finishes there, and nobody takes the transaction.
struct Lease(OwnedMutexGuard<Slot>);

impl Lease {
    fn conn(&self) -> Option<&Connection> {
        self.0.as_ref()
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(conn) = self.0.as_ref()
            && !conn.is_autocommit()
            && conn.execute_batch("ROLLBACK").is_err()
        {
            tracing::warn!("the SQLite writer would not roll back; it is closed");
            self.0.take();
        }
    }
}

/// The writer's name in the metrics: its `folio_db_pool_waiting` is the writer's queue.
const WRITER_POOL: &str = "sqlite_writer";

#[derive(Clone)]
pub(super) struct SqliteWriter {
    slot: Arc<tokio::sync::Mutex<Slot>>,
    config: Arc<WriterConfig>,
    closed: Arc<AtomicBool>,
    counter: Option<Arc<AtomicU64>>,
    /// Copies committed pages back into the database file (`sqlite_checkpoint`).
    checkpointer: Arc<Checkpointer>,
    /// The queue for the writer, for the metrics.
    metrics: PoolMetrics,
}

impl SqliteWriter {
    /// Opens the writer. The file exists and is in WAL mode already: sqlx's connection for
    /// schema work opened it first.
    pub(super) fn open(config: WriterConfig) -> Result<Self, DbError> {
        let conn = connect(&config)?;
        let slot = Arc::new(tokio::sync::Mutex::new(Some(conn)));
        let checkpointer = Checkpointer::start(&config.path, config.busy_timeout, slot.clone())?;
        Ok(Self {
            slot,
            config: Arc::new(config),
            closed: Arc::default(),
            counter: None,
            checkpointer: Arc::new(checkpointer),
            metrics: PoolMetrics::new(WRITER_POOL),
        })
    }

    pub(super) fn count_into(&mut self, counter: Arc<AtomicU64>) {
        self.counter = Some(counter);
    }

    /// Waits for the writer, then begins a transaction holding SQLite's write lock.
    pub(super) async fn begin(&self) -> Result<SqliteUnit, DbError> {
        let mut slot = self.lease().await?;
        let conn = ready(&mut slot.0, &self.config)?;
        // Tried without waiting first: only another process can hold the lock, and rarely.
        conn.busy_timeout(Duration::ZERO).map_err(unavailable)?;
        let begun = conn.execute_batch("BEGIN IMMEDIATE");
        conn.busy_timeout(self.config.busy_timeout)
            .map_err(unavailable)?;
        let slot = match begun {
            Ok(()) => slot,
            Err(e) if is_busy(&e) => self.begin_waiting(slot).await?,
            Err(e) => return Err(db_err(e).into()),
        };
        self.count();
        Ok(SqliteUnit {
            slot: Mutex::new(slot),
            config: self.config.clone(),
            counter: self.counter.clone(),
            checkpointer: self.checkpointer.clone(),
            ended_by_sqlite: AtomicBool::new(false),
            committed: false,
        })
    }

    /// `BEGIN IMMEDIATE` with SQLite's busy timeout, on a blocking thread.
    async fn begin_waiting(&self, slot: Lease) -> Result<Lease, DbError> {
        let waited = tokio::task::spawn_blocking(move || {
            let begun = slot
                .conn()
                .expect("a leased writer is open")
                .execute_batch("BEGIN IMMEDIATE");
            begun.map(|()| slot).map_err(db_err)
        })
        .await;
        match waited {
            Ok(begun) => Ok(begun?),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(DbError::Unavailable("folio is shutting down".into())),
        }
    }

    async fn lease(&self) -> Result<Lease, DbError> {
        let lock = self.slot.clone().lock_owned();
        let waiting = self.metrics.waiting();
        let slot = tokio::time::timeout(self.config.wait, lock)
            .await
            .map_err(|_| DbError::Unavailable("the SQLite writer did not come free".into()))?;
        drop(waiting);
        if self.closed.load(Ordering::Acquire) {
            return Err(DbError::Unavailable("the SQLite writer is closed".into()));
        }
        Ok(Lease(slot))
    }

    /// Whether the writer comes free and answers (the readiness probe).
    pub(super) async fn ping(&self) -> Result<(), DbError> {
        let mut slot = self.lease().await?;
        ready(&mut slot.0, &self.config)?
            .execute_batch("SELECT 1")
            .map_err(|e| db_err(e).into())
    }

    /// The writer as a pool of one, for the metrics.
    pub(super) fn stats(&self) -> PoolStats {
        PoolStats {
            pool: WRITER_POOL,
            size: 1,
            max: 1,
            in_use: u32::from(self.slot.try_lock().is_err()),
        }
    }

    /// Frees the writer's page cache if no unit of work holds it.
    pub(super) fn release_idle_memory(&self) {
        if let Ok(slot) = self.slot.try_lock()
            && let Some(conn) = slot.as_ref()
        {
            let _ = conn.release_memory();
        }
    }

    /// Waits for the unit of work under way, if any, then closes the connection; writes after
    /// this fail as unavailable.
    pub(super) async fn close(&self) {
        let lock = self.slot.clone().lock_owned();
        if let Ok(mut slot) = tokio::time::timeout(self.config.wait, lock).await {
            slot.take();
        }
        self.closed.store(true, Ordering::Release);
        self.checkpointer.stop();
    }

    fn count(&self) {
        if let Some(counter) = &self.counter {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn connect(config: &WriterConfig) -> Result<Connection, DbError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&config.path, flags).map_err(unavailable)?;
    conn.busy_timeout(config.busy_timeout)
        .and_then(|()| conn.pragma_update(None, "journal_mode", "WAL"))
        .and_then(|()| conn.pragma_update(None, "foreign_keys", "ON"))
        .and_then(|()| conn.pragma_update(None, "synchronous", "NORMAL"))
        .and_then(|()| conn.pragma_update(None, "temp_store", "memory"))
        // Checkpoints run on a thread of their own; this is the backstop (`sqlite_checkpoint`).
        .and_then(|()| conn.pragma_update(None, "wal_autocheckpoint", BACKSTOP_PAGES))
        // As on the readers: without the planner's stability guarantee SQLite plans `LIMIT ?`
        // from the value bound, so each new binding made it prepare the cached statement
        // again. SeaORM's `one()` ends every statement so; a purchase ran three of them.
        .and_then(|()| {
            conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
                .map(drop)
        })
        .map_err(unavailable)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// The leased connection, opened again if a failure closed it.
fn ready<'s>(slot: &'s mut Slot, config: &WriterConfig) -> Result<&'s Connection, DbError> {
    if slot.is_none() {
        *slot = Some(connect(config)?);
    }
    Ok(slot.as_ref().expect("just opened"))
}

fn unavailable(e: rusqlite::Error) -> DbError {
    DbError::Unavailable(e.to_string())
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// A transaction on the writer, lent to one unit of work. Dropped without [`Self::commit`]
/// (an error, a panic, a request that went away) it rolls back.
pub struct SqliteUnit {
    /// In a mutex only so that the unit may be shared with the work's future, which must be
    /// `Send`: nothing else ever contends for it.
    slot: Mutex<Lease>,
    config: Arc<WriterConfig>,
    counter: Option<Arc<AtomicU64>>,
    checkpointer: Arc<Checkpointer>,
    /// SQLite rolled the transaction back by itself after an error (a full disk, an I/O
    /// error): later statements would run outside any transaction, so they fail instead, and
    /// the connection is replaced when the unit ends.
    ended_by_sqlite: AtomicBool,
    committed: bool,
}

impl SqliteUnit {
    fn lock(&self) -> MutexGuard<'_, Lease> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs one statement of the unit on its connection: counted, timed, and refused once
    /// SQLite has ended the transaction.
    fn run<T, E: From<DbErr>>(
        &self,
        sql: &str,
        work: impl FnOnce(&Connection) -> Result<T, E>,
    ) -> Result<T, E> {
        if let Some(counter) = &self.counter {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        let slot = self.lock();
        let conn = slot.conn().expect("a unit of work holds an open writer");
        if self.ended_by_sqlite.load(Ordering::Relaxed) || conn.is_autocommit() {
            return Err(DbErr::Custom(
                "the transaction was rolled back after an earlier error".into(),
            )
            .into());
        }
        let started = Instant::now();
        let done = work(conn);
        let elapsed = started.elapsed();
        if done.is_err() && conn.is_autocommit() {
            self.ended_by_sqlite.store(true, Ordering::Relaxed);
        }
        if elapsed >= self.config.slow {
            tracing::warn!(db.statement = %sql, ?elapsed, "slow statement");
        } else {
            tracing::debug!(db.statement = %sql, ?elapsed);
        }
        done
    }

    /// Runs a read of the unit (see [`super::Read`]), decoding each row with `decode`.
    pub(super) fn query<T>(
        &self,
        sql: &str,
        values: &[Value],
        decode: impl FnMut(&rusqlite::Row<'_>) -> Result<T, DbError>,
    ) -> Result<Vec<T>, DbError> {
        let failed = |e| DbError::from(db_err(e));
        self.run(sql, |conn| rows_on(conn, sql, values, failed, decode))
    }

    fn execute(&self, sql: &str, values: &[Value]) -> Result<MockExecResult, DbErr> {
        self.run(sql, |conn| {
            let mut prepared = conn.prepare_cached(sql).map_err(db_err)?;
            bind(&mut prepared, values)?;
            // Stepped to the end rather than `execute`d: a statement may return rows (a
            // PRAGMA, an INSERT … RETURNING run for its effect).
            let mut rows = prepared.raw_query();
            while rows.next().map_err(db_err)?.is_some() {}
            Ok(exec_result(conn))
        })
    }

    fn query_orm(&self, sql: &str, values: &[Value]) -> Result<Vec<Values>, DbErr> {
        self.run(sql, |conn| {
            let mut prepared = conn.prepare_cached(sql).map_err(db_err)?;
            bind(&mut prepared, values)?;
            let shape = RowShape::of(&prepared);
            let mut rows = prepared.raw_query();
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(db_err)? {
                out.push(shape.values(row).map_err(db_err)?);
            }
            Ok(out)
        })
    }

    /// Commits. When COMMIT fails the transaction is rolled back as the unit drops.
    pub(super) fn commit(mut self) -> Result<(), DbError> {
        self.run("COMMIT", |conn| {
            conn.execute_batch("COMMIT").map_err(db_err)
        })?;
        self.committed = true;
        self.checkpointer.committed();
        Ok(())
    }
}

impl Drop for SqliteUnit {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        // The lease rolls back as it drops, after this.
        if std::thread::panicking() {
            tracing::warn!("unit of work rolled back after a panic");
        } else {
            tracing::debug!("unit of work rolled back");
        }
        // SQLite gave up the transaction by itself: the connection is closed and the next unit
        // of work opens a fresh one, with none of this one's state (a pragma set on it, a cache
        // after an I/O error).
        if self.ended_by_sqlite.load(Ordering::Relaxed) {
            let message = "the SQLite writer met an error that ended its transaction; \
                           it is closed and a fresh connection opens";
            if super::error::in_storage_full_episode() {
                tracing::debug!("{message}");
            } else {
                tracing::warn!("{message}");
            }
            let lease = self.slot.get_mut().unwrap_or_else(PoisonError::into_inner);
            lease.0.take();
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for SqliteUnit {
    fn get_database_backend(&self) -> DbBackend {
        DbBackend::Sqlite
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        let done = self.execute(&stmt.sql, values_of(&stmt))?;
        answer(MockDatabase::new(DbBackend::Sqlite).append_exec_results([done]))
            .execute_raw(stmt)
            .await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let done = self.run(sql, |conn| {
            conn.execute_batch(sql).map_err(db_err)?;
            Ok::<_, DbErr>(exec_result(conn))
        })?;
        answer(MockDatabase::new(DbBackend::Sqlite).append_exec_results([done]))
            .execute_unprepared(sql)
            .await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let mut rows = self.query_all_raw(stmt).await?;
        rows.truncate(1);
        Ok(rows.pop())
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let rows = self.query_orm(&stmt.sql, values_of(&stmt))?;
        answer(MockDatabase::new(DbBackend::Sqlite).append_query_results([rows]))
            .query_all_raw(stmt)
            .await
    }
}

fn values_of(stmt: &Statement) -> &[Value] {
    stmt.values.as_ref().map_or(&[][..], |v| &v.0[..])
}

fn exec_result(conn: &Connection) -> MockExecResult {
    MockExecResult {
        last_insert_id: u64::try_from(conn.last_insert_rowid()).unwrap_or(0),
        rows_affected: conn.changes(),
    }
}

/// A connection that hands SeaORM one answer of the writer's, as SeaORM's own types.
///
/// SeaORM 2.0.4 makes a `QueryResult` or an `ExecResult` out of values only inside its
/// drivers: its proxy driver, meant for this, does not compile beside sqlx-sqlite in 2.0.4,
/// and its mock connection is the one other way. So each answer goes through a mock
/// connection made for it, which gives back exactly the rows or counts it was given. The
/// rows decode by exact type, hence [`typed`].
fn answer(with: MockDatabase) -> sea_orm::DatabaseConnection {
    with.into_connection()
}

/// One row: each column under a key giving its position first (these sort before any name,
/// so SeaORM's reads by index find the columns in order), then under its name, for its reads
/// by name.
type Values = BTreeMap<String, Value>;

/// The columns of a statement's answer: the keys of each in a row ([`Values`]) and the type
/// its values take.
struct RowShape {
    positions: Vec<String>,
    names: Vec<String>,
    types: Vec<Option<ColumnType>>,
}

impl RowShape {
    fn of(prepared: &rusqlite::Statement<'_>) -> Self {
        let columns = Columns::get();
        let metadata = prepared.columns_with_metadata();
        Self {
            positions: (0..metadata.len()).map(|i| format!("\0{i:05}")).collect(),
            names: metadata.iter().map(|c| c.name().to_string()).collect(),
            types: metadata
                .iter()
                .map(|c| {
                    let table = c.table_name()?;
                    let column = c.origin_name()?;
                    columns.of(table, column).cloned()
                })
                .collect(),
        }
    }

    fn values(&self, row: &rusqlite::Row<'_>) -> rusqlite::Result<Values> {
        let mut values = BTreeMap::new();
        for (i, ty) in self.types.iter().enumerate() {
            let value = typed(ty.as_ref(), row.get_ref(i)?, i)?;
            values.insert(self.positions[i].clone(), value.clone());
            values.insert(self.names[i].clone(), value);
        }
        Ok(values)
    }
}

/// A stored value as the value SeaORM decodes a column of type `ty` from; a column with no
/// table behind it (`COUNT(*)`, `MAX(x)`) gets the natural type of what SQLite holds.
fn typed(ty: Option<&ColumnType>, value: ValueRef<'_>, index: usize) -> rusqlite::Result<Value> {
    use ColumnType as C;
    let text = |v: &[u8]| {
        std::str::from_utf8(v)
            .map(str::to_string)
            .map_err(|e| rusqlite::Error::Utf8Error(index, e))
    };
    let fail = |what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            value.data_type(),
            format!("not a {what}").into(),
        )
    };
    Ok(match (ty, value) {
        (Some(ty), ValueRef::Null) => null_of(ty),
        (None, ValueRef::Null) => Value::BigInt(None),
        (Some(C::Integer), ValueRef::Integer(v)) => {
            Value::Int(Some(i32::try_from(v).map_err(|_| fail("32-bit integer"))?))
        }
        (Some(C::SmallInteger), ValueRef::Integer(v)) => {
            Value::SmallInt(Some(i16::try_from(v).map_err(|_| fail("16-bit integer"))?))
        }
        (Some(C::Boolean), ValueRef::Integer(v)) => Value::Bool(Some(v != 0)),
        (Some(C::Double | C::Decimal(_)), ValueRef::Integer(v)) => Value::Double(Some(v as f64)),
        (Some(C::Double | C::Decimal(_)), ValueRef::Real(v)) => Value::Double(Some(v)),
        (Some(C::Float), ValueRef::Real(v)) => Value::Float(Some(v as f32)),
        (Some(C::TimestampWithTimeZone | C::Timestamp | C::DateTime), ValueRef::Text(v)) => {
            let at = parse_timestamp(&text(v)?).ok_or_else(|| fail("timestamp"))?;
            Value::ChronoDateTimeUtc(Some(at))
        }
        (Some(C::Date), ValueRef::Text(v)) => {
            let date = NaiveDate::parse_from_str(&text(v)?, "%F").map_err(|_| fail("date"))?;
            Value::ChronoDate(Some(date))
        }
        (Some(C::Json | C::JsonBinary), ValueRef::Text(v)) => {
            Value::Json(Some(serde_json::from_slice(v).map_err(|_| fail("JSON"))?))
        }
        (_, ValueRef::Integer(v)) => Value::BigInt(Some(v)),
        (_, ValueRef::Real(v)) => Value::Double(Some(v)),
        (_, ValueRef::Text(v)) => Value::String(Some(text(v)?)),
        (_, ValueRef::Blob(v)) => Value::Bytes(Some(v.to_vec())),
    })
}

fn null_of(ty: &ColumnType) -> Value {
    use ColumnType as C;
    match ty {
        C::Integer => Value::Int(None),
        C::SmallInteger => Value::SmallInt(None),
        C::Boolean => Value::Bool(None),
        C::Double | C::Decimal(_) => Value::Double(None),
        C::Float => Value::Float(None),
        C::TimestampWithTimeZone | C::Timestamp | C::DateTime => Value::ChronoDateTimeUtc(None),
        C::Date => Value::ChronoDate(None),
        C::Json | C::JsonBinary => Value::Json(None),
        C::BigInteger => Value::BigInt(None),
        _ => Value::String(None),
    }
}

/// The type of every column of folio's entities, by table, then column name.
struct Columns(HashMap<&'static str, HashMap<&'static str, ColumnType>>);

impl Columns {
    fn get() -> &'static Self {
        static COLUMNS: OnceLock<Columns> = OnceLock::new();
        COLUMNS.get_or_init(|| {
            let mut tables: HashMap<_, HashMap<_, _>> = HashMap::new();
            for (table, column, ty) in crate::entity::column_types() {
                tables.entry(table).or_default().insert(column, ty);
            }
            Self(tables)
        })
    }

    fn of(&self, table: &str, column: &str) -> Option<&ColumnType> {
        self.0.get(table)?.get(column)
    }
}

/// A failure of SQLite, as a DbErr carrying the sqlx error the layer classifies.
fn db_err(e: rusqlite::Error) -> DbErr {
    match e {
        rusqlite::Error::SqliteFailure(failure, message) => {
            let failure = SqliteFailure {
                code: failure.extended_code,
                message: message.unwrap_or_else(|| failure.to_string()),
            };
            let sqlx = sqlx::Error::Database(Box::new(failure));
            DbErr::Exec(RuntimeErr::SqlxError(Arc::new(sqlx)))
        }
        other => DbErr::Query(RuntimeErr::Internal(other.to_string())),
    }
}

/// An SQLite error with its extended result code, as sqlx-sqlite reports one.
#[derive(Debug)]
struct SqliteFailure {
    code: i32,
    message: String,
}

impl std::fmt::Display for SqliteFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SqliteFailure {}

impl sqlx::error::DatabaseError for SqliteFailure {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(self.code.to_string().into())
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> sqlx::error::ErrorKind {
        use rusqlite::ffi;
        use sqlx::error::ErrorKind;
        match self.code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                ErrorKind::UniqueViolation
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}
