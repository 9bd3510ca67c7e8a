//! The database: the pools opened as folio opens them (src/db/connect.rs), and two macros that
//! run one statement on whichever backend the URL chose.
//!
//! Statements are written once, as folio sends them to SQLite (`?` placeholders); on
//! PostgreSQL [`Db::sql`] numbers the placeholders `$1…`, as folio's `repo::statement` does.
//! The macros expand to one `match` arm per backend, so each arm is plain sqlx on concrete
//! types: no generic bounds, no `Any` driver converting every row.

use std::error::Error;
use std::fmt::Write;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, ConnectOptions, Postgres, SqlSafeStr, SqlStr, Sqlite, Transaction};

/// folio's waits: writers queue behind one SQLite connection, so they wait longer for it.
const SQLITE_WRITER_WAIT: Duration = Duration::from_secs(30);
const POOL_WAIT: Duration = Duration::from_secs(5);
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub enum Db {
    /// One writer connection, so concurrent writes queue in the pool instead of failing with
    /// "database is locked", and a pool of read-only readers.
    Sqlite {
        writer: SqlitePool,
        reader: SqlitePool,
    },
    /// One pool for reads and writes.
    Postgres(PgPool),
}

/// An open write transaction.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
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
            let reader = SqlitePoolOptions::new()
                .max_connections(pool_size)
                .acquire_timeout(POOL_WAIT)
                .test_before_acquire(false)
                .connect_with(options.read_only(true))
                .await?;
            Ok(Self::Sqlite { writer, reader })
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
            AssertSqlSafe(numbered(text)).into_sql_str()
        } else {
            text.into_sql_str()
        }
    }

    /// `head`, a list of `count` placeholders, and `tail`: folio's `… IN (?, ?, ?) …`.
    pub fn sql_in(&self, head: &str, count: usize, tail: &str) -> SqlStr {
        let list = vec!["?"; count].join(", ");
        let text = format!("{head}{list}{tail}");
        AssertSqlSafe(if self.is_postgres() {
            numbered(&text)
        } else {
            text
        })
        .into_sql_str()
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), as folio's units of work do.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Self::Sqlite { writer, .. } => Tx::Sqlite(writer.begin_with("BEGIN IMMEDIATE").await?),
            Self::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(tx) => tx.commit().await,
            Self::Postgres(tx) => tx.commit().await,
        }
    }
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

/// Runs one statement on the reader pool and decodes its rows as the caller's type (a tuple):
/// `read!(db, fetch_optional(sql, a, b))`, or `read!(db, fetch_all(sql, ..ids))` to bind
/// every id of a slice.
macro_rules! read {
    // The spread form first: `..ids` would otherwise parse as one range argument.
    ($db:expr, $fetch:ident($sql:expr, ..$ids:expr)) => {{
        let sql = $sql;
        match $db {
            $crate::db::Db::Sqlite { reader, .. } => {
                let mut query = sqlx::query_as(sql);
                for id in $ids {
                    query = query.bind(*id);
                }
                query.$fetch(reader).await
            }
            $crate::db::Db::Postgres(pool) => {
                let mut query = sqlx::query_as(sql);
                for id in $ids {
                    query = query.bind(*id);
                }
                query.$fetch(pool).await
            }
        }
    }};
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
            $crate::db::Tx::Sqlite(tx) => {
                sqlx::query_as(sql)$(.bind($arg))*.$fetch(&mut **tx).await
            }
            $crate::db::Tx::Postgres(tx) => {
                sqlx::query_as(sql)$(.bind($arg))*.$fetch(&mut **tx).await
            }
        }
    }};
}

pub(crate) use {in_tx, read};
