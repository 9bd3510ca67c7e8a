//! Reads: the one executor every read query runs on, whichever driver is underneath.
//!
//! A repo function that reads takes a [`Read`] and calls [`Read::rows`] with its SQL, its
//! values and a decoder over [`Row`]; it cannot tell whether SeaORM's pool, a unit of work or
//! SQLite's rusqlite readers ran it, so there is one function per query. Which executor serves
//! a read is [`super::Database::read`]'s choice, made here in `db` and nowhere else. A hot
//! insert that answers its row (`INSERT … RETURNING`, `repo::insert_one`) runs through
//! it too, on a unit of work.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::Value;
use sea_orm::{
    ActiveEnum, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, QueryResult, Statement,
};

use super::sqlite_reads::HotRead;
use super::{DbError, Transaction, UnitOfWork};

/// Where a read's statements run. Copy it freely: it only borrows.
#[derive(Clone, Copy)]
pub enum Read<'a> {
    /// A pool of SeaORM connections (PostgreSQL's, or SQLite's sqlx readers).
    Pool(&'a DatabaseConnection),
    /// A unit of work, so a write reads what it has just written.
    Unit(&'a Transaction),
    /// One of SQLite's rusqlite readers, lent to this read for all its statements.
    Hot(&'a HotRead<'a>),
}

/// The future a [`super::Database::read`] closure returns, borrowing its [`Read`].
pub type ReadFuture<'r, T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'r>>;

impl<'a> From<&'a DatabaseConnection> for Read<'a> {
    fn from(conn: &'a DatabaseConnection) -> Self {
        Self::Pool(conn)
    }
}

impl<'a> From<&'a Transaction> for Read<'a> {
    fn from(tx: &'a Transaction) -> Self {
        Self::Unit(tx)
    }
}

impl<'a> From<&'a UnitOfWork> for Read<'a> {
    fn from(unit: &'a UnitOfWork) -> Self {
        Self::Unit(unit)
    }
}

impl Read<'_> {
    /// The SQL dialect the statements must be written in.
    pub fn backend(&self) -> DbBackend {
        match self {
            Self::Pool(conn) => conn.get_database_backend(),
            Self::Unit(tx) => tx.get_database_backend(),
            Self::Hot(_) => DbBackend::Sqlite,
        }
    }

    /// Runs `sql` (in [`Self::backend`]'s dialect, its values bound, never spliced) and
    /// decodes each row. On SQLite's readers this finishes without ever waiting: the statement
    /// runs on the thread polling it.
    pub async fn rows<T>(
        &self,
        sql: &str,
        values: &[Value],
        mut decode: impl FnMut(&Row<'_>) -> Result<T, DbError> + Send,
    ) -> Result<Vec<T>, DbError> {
        let found = match self {
            Self::Hot(read) => return read.query(sql, values, |row| decode(&Row::Hot(row))),
            Self::Unit(Transaction::Sqlite(unit)) => {
                return unit.query(sql, values, |row| decode(&Row::Hot(row)));
            }
            Self::Pool(conn) => conn.query_all_raw(statement(*conn, sql, values)).await,
            Self::Unit(tx) => tx.query_all_raw(statement(*tx, sql, values)).await,
        }?;
        found.iter().map(|row| decode(&Row::Orm(row))).collect()
    }

    /// [`Self::rows`] for a statement SeaORM or sea-query built for this backend.
    pub async fn statement<T>(
        &self,
        statement: &Statement,
        decode: impl FnMut(&Row<'_>) -> Result<T, DbError> + Send,
    ) -> Result<Vec<T>, DbError> {
        let values = statement.values.as_ref().map_or(&[][..], |v| &v.0[..]);
        self.rows(&statement.sql, values, decode).await
    }
}

fn statement(conn: &impl ConnectionTrait, sql: &str, values: &[Value]) -> Statement {
    Statement::from_sql_and_values(conn.get_database_backend(), sql, values.to_vec())
}

/// Runs a read's future to its end on this thread. Every statement on SQLite's readers
/// finishes when it is polled, so a read's future is ready the first time; one that is not
/// awaited something other than its reads, which a read closure must not do.
pub(super) fn finish_here<T, E: From<DbError>>(mut read: ReadFuture<'_, T, E>) -> Result<T, E> {
    match read.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(result) => result,
        Poll::Pending => Err(DbError::Internal(DbErr::Custom(
            "a read on SQLite's readers waited on something other than its statements".into(),
        ))
        .into()),
    }
}

/// One row of a read's answer, from either driver.
pub enum Row<'r> {
    Orm(&'r QueryResult),
    Hot(&'r rusqlite::Row<'r>),
}

impl Row<'_> {
    /// The value of the `index`th column (from 0), as the column's type decodes.
    pub fn get<T: Decode>(&self, index: usize) -> Result<T, DbError> {
        match self {
            Self::Orm(row) => T::from_orm(row, index).map_err(DbError::from),
            Self::Hot(row) => T::from_hot(row, index).map_err(DbError::from_rusqlite),
        }
    }

    /// One of the schema's closed sets of values (an edition's format, a contributor's role),
    /// stored as its text.
    pub fn stored<E: ActiveEnum<Value = String>>(&self, index: usize) -> Result<E, DbError> {
        let text: String = self.get(index)?;
        E::try_from_value(&text).map_err(DbError::from)
    }
}

/// A column type both drivers decode: SeaORM by its own rules, rusqlite as sqlx would have
/// read what SeaORM wrote (timestamps and dates are text on SQLite).
pub trait Decode: Sized {
    fn from_orm(row: &QueryResult, index: usize) -> Result<Self, DbErr>;
    fn from_hot(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self>;
}

/// Types rusqlite reads as SeaORM does.
macro_rules! decode_alike {
    ($($t:ty),*) => {$(
        impl Decode for $t {
            fn from_orm(row: &QueryResult, index: usize) -> Result<Self, DbErr> {
                row.try_get_by_index(index)
            }
            fn from_hot(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self> {
                row.get(index)
            }
        }
    )*};
}

decode_alike!(
    bool,
    i32,
    i64,
    f64,
    String,
    Option<bool>,
    Option<i32>,
    Option<i64>,
    Option<f64>,
    Option<String>
);

/// Types stored as text on SQLite, parsed here as sqlx parses them.
macro_rules! decode_text {
    ($t:ty, $parse:path) => {
        impl Decode for $t {
            fn from_orm(row: &QueryResult, index: usize) -> Result<Self, DbErr> {
                row.try_get_by_index(index)
            }
            fn from_hot(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self> {
                let text: String = row.get(index)?;
                $parse(&text).ok_or_else(|| not_a(index, stringify!($t), &text))
            }
        }

        impl Decode for Option<$t> {
            fn from_orm(row: &QueryResult, index: usize) -> Result<Self, DbErr> {
                row.try_get_by_index(index)
            }
            fn from_hot(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self> {
                let text: Option<String> = row.get(index)?;
                text.map(|text| $parse(&text).ok_or_else(|| not_a(index, stringify!($t), &text)))
                    .transpose()
            }
        }
    };
}

decode_text!(DateTime<Utc>, super::sqlite_reads::parse_timestamp);
decode_text!(NaiveDate, parse_date);

fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%F").ok()
}

fn not_a(index: usize, what: &str, text: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        index,
        rusqlite::types::Type::Text,
        format!("not a {what}: {text:?}").into(),
    )
}
