//! The database module: the seeds' `connection.py` and `session.py` done properly.
//!
//! [`Database`] holds the pools, picks the backend from the URL, hands out units of work for
//! writes and a reader for everything else, and answers the readiness probe.

pub mod backup;
mod connect;
pub mod copy;
mod error;
pub mod instance;
mod outage;
mod read;
pub mod schema;
mod sqlite_checkpoint;
pub mod sqlite_memory;
mod sqlite_reads;
mod sqlite_writer;
mod unit_of_work;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};

use crate::config::DatabaseUrl;
use crate::telemetry::metrics::{PoolMetrics, PoolStats};
pub use error::{DbError, Unique};
pub use read::{Decode, Read, ReadFuture, Row};
pub use sqlite_reads::HotRead;
use sqlite_reads::HotReader;
pub use sqlite_writer::SqliteUnit;
use sqlite_writer::SqliteWriter;
pub use unit_of_work::{Transaction, UnitOfWork, WorkFuture};

/// The current time at the precision both backends store (microseconds), so a value reads
/// back equal to what was written on SQLite and PostgreSQL alike.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}

/// How long the readiness probe waits for the database before calling it unavailable.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct Database {
    /// PostgreSQL's pool; on SQLite the sqlx connection schema work runs on.
    writer: DatabaseConnection,
    /// SQLite's writer, which every unit of work goes through (see `sqlite_writer`).
    sqlite_writer: Option<SqliteWriter>,
    reader: DatabaseConnection,
    hot_reader: Option<HotReader>,
    backend: DbBackend,
    outage: Arc<outage::Outage>,
    /// Units of work begun so far: with the hot readers' leases, whether folio is busy.
    writes: Arc<AtomicU64>,
    /// Which connected database this is, of those this process opened (see [`Self::instance`]).
    instance: u64,
    /// PostgreSQL's waits for a unit of work's connection (and its `BEGIN`), for the metrics.
    pg_begins: Option<PoolMetrics>,
}

/// PostgreSQL's pool's name in the metrics.
const POSTGRES_POOL: &str = "postgres";

/// Databases connected so far by this process.
static CONNECTED: AtomicU64 = AtomicU64::new(0);

/// How often an idle SQLite server looks whether it has been idle since the last look, and if
/// so gives its page caches back (see [`Database::trim_when_idle`]).
const IDLE_LOOK: Duration = Duration::from_secs(3);

impl Database {
    /// Connects to the database the URL names; an SQLite file is created when missing.
    /// `pool_size` is the PostgreSQL pool, or the number of SQLite reader connections.
    pub async fn connect(url: &DatabaseUrl, pool_size: u32) -> Result<Self, DbError> {
        let (pools, backend) = match url {
            DatabaseUrl::Sqlite { path } => {
                (connect::sqlite(path, pool_size).await?, DbBackend::Sqlite)
            }
            DatabaseUrl::Postgres { url } => (
                connect::postgres(url, pool_size).await?,
                DbBackend::Postgres,
            ),
        };
        Ok(Self {
            writer: pools.writer,
            sqlite_writer: pools.sqlite_writer,
            reader: pools.reader,
            hot_reader: pools.hot_reader,
            backend,
            outage: Arc::default(),
            writes: Arc::default(),
            instance: CONNECTED.fetch_add(1, Ordering::Relaxed),
            pg_begins: (backend == DbBackend::Postgres).then(|| PoolMetrics::new(POSTGRES_POOL)),
        })
    }

    /// A number no other database connected by this process has (clones share it): what a
    /// cache of what was read keys its entries by, so two databases in one process (tests, an
    /// import beside a server's pools) never see each other's.
    pub fn instance(&self) -> u64 {
        self.instance
    }

    /// On SQLite, frees the connections' page caches once folio has been idle for a few seconds
    /// (between one and two looks), so that a server goes back near its idle size after a busy
    /// spell instead of keeping a full cache on each of its connections. Each connection's
    /// cache fills again from the operating system's page cache on its next reads. A look finds
    /// nothing to do while requests keep coming. Nothing on PostgreSQL, whose caches are the
    /// server's.
    pub fn trim_when_idle(&self) {
        if self.backend != DbBackend::Sqlite {
            return;
        }
        let db = self.clone();
        tokio::spawn(async move {
            let (mut seen, mut trimmed) = (db.activity(), true);
            loop {
                tokio::time::sleep(IDLE_LOOK).await;
                if db.writer.get_sqlite_connection_pool().is_closed() {
                    return; // Shutting down.
                }
                let now = db.activity();
                if now != seen {
                    (seen, trimmed) = (now, false);
                } else if !trimmed {
                    db.release_idle_memory().await;
                    trimmed = true;
                }
            }
        });
    }

    fn activity(&self) -> u64 {
        let reads = self.hot_reader.as_ref().map_or(0, HotReader::leases);
        self.writes.load(Ordering::Relaxed) + reads
    }

    /// Frees the page caches of every SQLite connection nothing holds right now: the hot
    /// readers, the sqlx readers and the writer. A connection in use is left as it is.
    pub async fn release_idle_memory(&self) {
        if let Some(hot) = &self.hot_reader {
            hot.release_idle_memory();
        }
        if let Some(writer) = &self.sqlite_writer {
            writer.release_idle_memory();
        }
        for pool in [&self.reader, &self.writer] {
            let pool = pool.get_sqlite_connection_pool();
            // `try_acquire` takes only idle connections and never opens one; holding each
            // until all are done keeps it from handing out the same one twice.
            let mut idle = vec![];
            while let Some(conn) = pool.try_acquire() {
                idle.push(conn);
            }
            for conn in &mut idle {
                let _ = sqlx::query("PRAGMA shrink_memory")
                    .execute(&mut **conn)
                    .await;
            }
        }
    }

    /// Whether PostgreSQL is known to be down: a request found it unavailable and it has not
    /// answered since. Requests are then refused at once instead of each waiting out the pool
    /// timeout (see `outage`). Always false on SQLite.
    pub fn is_known_down(&self) -> bool {
        self.outage.is_down()
    }

    /// A request found the database unavailable. On PostgreSQL this starts the outage state
    /// and its probe; on SQLite, whose "unavailable" is a lock held by someone else for a
    /// while, it does nothing.
    pub fn report_unavailable(&self) {
        if self.backend == DbBackend::Postgres {
            self.outage.report(&self.reader);
        }
    }

    pub fn backend(&self) -> DbBackend {
        self.backend
    }

    /// Runs a read that may take a while (a search, a filtered listing, an export's page):
    /// `work` gets the [`Read`] to pass to repo functions. On PostgreSQL it runs on the pool.
    /// On SQLite it runs on one of the rusqlite readers, all its statements in one hop to a
    /// blocking thread: sqlx's SQLite driver hops threads for every statement and every row,
    /// and that switching was a third of folio's CPU serving books (bench/README.md).
    ///
    /// The closure must only read: on SQLite its future is polled once, on a blocking thread,
    /// and one that awaits anything but its statements fails as an internal error.
    ///
    /// ```no_run
    /// # async fn demo(db: folio::db::Database) -> Result<(), folio::db::DbError> {
    /// let titles = db
    ///     .read(|read| {
    ///         Box::pin(async move {
    ///             read.rows("SELECT title FROM book ORDER BY id LIMIT 3", &[], |row| row.get(0))
    ///                 .await
    ///         })
    ///     })
    ///     .await?;
    /// # let _: Vec<String> = titles;
    /// # Ok(()) }
    /// ```
    pub async fn read<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: for<'r> FnOnce(Read<'r>) -> ReadFuture<'r, T, E> + Send + 'static,
    {
        match &self.hot_reader {
            Some(hot) => {
                hot.run(move |read| read::finish_here(work(Read::Hot(read))))
                    .await
            }
            None => work(Read::Pool(&self.reader)).await,
        }
    }

    /// [`Self::read`] for a read bounded by keys and a limit (a book by id, a page of the
    /// catalog off an index). On SQLite it runs on the request's own thread when a reader is
    /// idle: such a read takes tens to a few hundred microseconds from SQLite's cache, less
    /// than a hop's two thread switches and its answer freed on another thread cost (a book
    /// by id and a 20-book page were 25–30 % more requests a second that way;
    /// bench/README.md). Should SQLite be busy, or no reader be idle, it runs as
    /// [`Self::read`] does, where waiting blocks no async worker. `work` may then run twice,
    /// hence `Fn`.
    pub async fn read_bounded<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: for<'r> Fn(Read<'r>) -> ReadFuture<'r, T, E> + Send + 'static,
    {
        match &self.hot_reader {
            Some(hot) => {
                hot.run_here(move |read| read::finish_here(work(Read::Hot(read))))
                    .await
            }
            None => work(Read::Pool(&self.reader)).await,
        }
    }

    /// The SeaORM connection for reads that need no more than SeaORM (accounts, comments,
    /// the store): PostgreSQL's pool, or SQLite's read-only sqlx readers, so a stray write
    /// fails loudly. `.into()` makes it a [`Read`] for repo functions that take one.
    pub fn reader(&self) -> &DatabaseConnection {
        &self.reader
    }

    /// Starts a unit of work on the writer.
    ///
    /// On SQLite it waits its turn for the one writer connection, then takes the write lock at
    /// once (`BEGIN IMMEDIATE`): a deferred transaction that read first could not upgrade to a
    /// write after another process (an import beside the server) committed, and would fail
    /// with "database is locked" however long the busy timeout. Its statements then run on
    /// the calling thread (see `sqlite_writer`).
    ///
    /// On PostgreSQL `BEGIN` runs in a task of its own. sqlx 0.9.0 is not cancel-safe there: a
    /// `BEGIN` dropped between being sent and answered (a client that went away, the request
    /// timeout) leaves the connection inside a transaction that nothing rolls back, and the
    /// next request on it runs in that transaction and holds its locks (transact-rs/sqlx#4385).
    /// In its own task `BEGIN` always finishes, and a unit of work nobody waits for any more is
    /// dropped there, which rolls it back.
    pub async fn begin(&self) -> Result<UnitOfWork, DbError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        if let Some(writer) = &self.sqlite_writer {
            return Ok(UnitOfWork::new(Transaction::Sqlite(writer.begin().await?)));
        }
        use sea_orm::TransactionTrait;
        let writer = self.writer.clone();
        let begin = async move { writer.begin().await };
        let waiting = self.pg_begins.as_ref().map(PoolMetrics::waiting);
        let begun = tokio::spawn(begin).await;
        drop(waiting);
        let tx = match begun {
            Ok(begun) => begun?,
            Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
            Err(_) => return Err(DbError::Unavailable("folio is shutting down".into())),
        };
        Ok(UnitOfWork::new(Transaction::Orm(tx)))
    }

    /// Runs `work` in a unit of work: commits when it returns `Ok`, rolls back on `Err` or panic.
    ///
    /// ```no_run
    /// # async fn demo(db: folio::db::Database) -> Result<(), folio::db::DbError> {
    /// use sea_orm::ConnectionTrait;
    /// let changed = db
    ///     .write(|tx| {
    ///         Box::pin(async move {
    ///             let result = tx.execute_unprepared("UPDATE book SET rating_count = 0").await?;
    ///             Ok::<_, folio::db::DbError>(result.rows_affected())
    ///         })
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t UnitOfWork) -> WorkFuture<'t, T, E>,
        E: From<DbError>,
    {
        let unit = self.begin().await?;
        let value = work(&unit).await?;
        unit.commit().await?;
        Ok(value)
    }

    /// Brings the query planner's statistics up to date after a bulk load. PostgreSQL plans
    /// from statistics that autovacuum refreshes only later: right after a million-row seed, a
    /// book by id ran at 46 requests/s on seq scans until `ANALYZE`. SQLite plans these
    /// queries from its indexes alone, so it needs nothing.
    pub async fn refresh_statistics(&self) -> Result<(), DbError> {
        if self.backend == DbBackend::Postgres {
            self.writer.execute_unprepared("ANALYZE").await?;
        }
        Ok(())
    }

    /// Answers whether the database serves queries right now: every set of connections that
    /// serves requests answers within the ping timeout — the readers, the writer (on SQLite a
    /// connection of its own, which a stuck unit of work would hold), and SQLite's hot readers,
    /// which serve the catalog.
    pub async fn ping(&self) -> Result<(), DbError> {
        let select = |conn: &DatabaseConnection| {
            let conn = conn.clone();
            async move { conn.execute_unprepared("SELECT 1").await.map(|_| ()) }
        };
        let hot = async {
            match &self.hot_reader {
                Some(hot) => hot.ping().await,
                None => Ok(()),
            }
        };
        let all = async {
            select(&self.reader).await?;
            if let Some(writer) = &self.sqlite_writer {
                writer.ping().await?;
            }
            hot.await
        };
        match tokio::time::timeout(PING_TIMEOUT, all).await {
            Ok(result) => result,
            Err(_) => Err(DbError::Unavailable(
                "no answer within the ping timeout".into(),
            )),
        }
    }

    /// Closes every connection; used at shutdown so SQLite checkpoints its WAL.
    pub async fn close(self) {
        if let Some(hot) = &self.hot_reader {
            hot.close().await;
        }
        let _ = self.reader.close().await;
        if let Some(writer) = &self.sqlite_writer {
            writer.close().await;
        }
        let _ = self.writer.close().await;
    }

    /// Counts every statement this value of the database runs from now on (clones made after
    /// this count too). Tests use it to show that a page costs a fixed number of statements.
    pub fn count_statements(&mut self) -> Arc<AtomicU64> {
        let counter = Arc::new(AtomicU64::new(0));
        for conn in [&mut self.reader, &mut self.writer] {
            let counter = counter.clone();
            conn.set_metric_callback(move |_| {
                counter.fetch_add(1, Ordering::Relaxed);
            });
        }
        if let Some(hot) = &mut self.hot_reader {
            hot.count_into(counter.clone());
        }
        if let Some(writer) = &mut self.sqlite_writer {
            writer.count_into(counter.clone());
        }
        counter
    }

    /// What each pool holds right now, for the metrics. On SQLite: the writer (a pool of
    /// one), the rusqlite readers and the sqlx readers; on PostgreSQL its one pool. (The
    /// waits are counted as they happen, where folio itself waits: the SQLite writer, the
    /// rusqlite readers, and a unit of work's `BEGIN` on PostgreSQL.)
    pub fn pool_stats(&self) -> Vec<PoolStats> {
        let mut stats = vec![];
        if let Some(writer) = &self.sqlite_writer {
            stats.push(writer.stats());
        }
        if let Some(hot) = &self.hot_reader {
            stats.push(hot.stats());
        }
        let sqlx = |pool: &'static str, size: u32, idle: usize, max: u32| PoolStats {
            pool,
            size,
            max,
            in_use: size.saturating_sub(idle as u32),
        };
        match self.backend {
            DbBackend::Postgres => {
                let pg = self.reader.get_postgres_connection_pool();
                let max = pg.options().get_max_connections();
                stats.push(sqlx(POSTGRES_POOL, pg.size(), pg.num_idle(), max));
            }
            _ => {
                let lite = self.reader.get_sqlite_connection_pool();
                let max = lite.options().get_max_connections();
                stats.push(sqlx(
                    "sqlite_orm_readers",
                    lite.size(),
                    lite.num_idle(),
                    max,
                ));
            }
        }
        stats
    }

    /// The connection schema work (migrations, dropping the tables) runs on: PostgreSQL's
    /// pool, or SQLite's sqlx connection beside the writer, idle but for that.
    pub(crate) fn writer(&self) -> &DatabaseConnection {
        &self.writer
    }
}
