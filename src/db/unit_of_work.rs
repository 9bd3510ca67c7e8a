//! The unit of work: one transaction that commits only when the work succeeded.
//!
//! The seeds' `get_db()` opened a session per request and rolled back on error. Here the
//! rollback needs no code path at all: a [`UnitOfWork`] that is dropped without [`commit`]
//! (an early `?`, a panic, a cancelled request) rolls back.
//!
//! [`commit`]: UnitOfWork::commit

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;

use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, ExecResult, QueryResult, Statement,
};

use super::DbError;
use super::sqlite_writer::SqliteUnit;
use crate::telemetry::metrics;

pub struct UnitOfWork {
    tx: Option<Transaction>,
}

/// The transaction a unit of work runs its statements in: SeaORM's on PostgreSQL, SQLite's
/// writer on rusqlite (see `sqlite_writer`). Repo functions take it as any
/// `&impl ConnectionTrait`, or as a [`super::Read`], and cannot tell which it is.
pub enum Transaction {
    Orm(DatabaseTransaction),
    Sqlite(SqliteUnit),
}

/// The future a [`super::Database::write`] closure returns, borrowing the unit of work.
pub type WorkFuture<'t, T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 't>>;

impl UnitOfWork {
    pub(super) fn new(tx: Transaction) -> Self {
        Self { tx: Some(tx) }
    }

    /// Commits. When COMMIT fails the transaction is rolled back as the unit of work is
    /// dropped, and a connection that cannot say it is outside a transaction after that is not
    /// lent again (see `connect` and `sqlite_writer`).
    pub async fn commit(mut self) -> Result<(), DbError> {
        let committed = match self.tx.take().expect("a unit of work is committed once") {
            Transaction::Orm(tx) => tx.commit().await.map_err(DbError::from),
            Transaction::Sqlite(unit) => unit.commit(),
        };
        metrics::unit_of_work(committed.is_ok());
        committed?;
        super::error::note_committed();
        Ok(())
    }
}

impl Deref for UnitOfWork {
    type Target = Transaction;

    fn deref(&self) -> &Transaction {
        self.tx
            .as_ref()
            .expect("a committed unit of work is not used again")
    }
}

impl Drop for UnitOfWork {
    fn drop(&mut self) {
        // Dropping SeaORM's transaction queues its rollback on the connection; SQLite's
        // writer rolls back as its unit drops, and says so itself.
        let Some(tx) = self.tx.take() else { return };
        metrics::unit_of_work(false);
        if let Transaction::Orm(_) = tx {
            if std::thread::panicking() {
                tracing::warn!("unit of work rolled back after a panic");
            } else {
                tracing::debug!("unit of work rolled back");
            }
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Transaction {
    fn get_database_backend(&self) -> DbBackend {
        match self {
            Self::Orm(tx) => tx.get_database_backend(),
            Self::Sqlite(unit) => unit.get_database_backend(),
        }
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match self {
            Self::Orm(tx) => tx.execute_raw(stmt).await,
            Self::Sqlite(unit) => unit.execute_raw(stmt).await,
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match self {
            Self::Orm(tx) => tx.execute_unprepared(sql).await,
            Self::Sqlite(unit) => unit.execute_unprepared(sql).await,
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match self {
            Self::Orm(tx) => tx.query_one_raw(stmt).await,
            Self::Sqlite(unit) => unit.query_one_raw(stmt).await,
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self {
            Self::Orm(tx) => tx.query_all_raw(stmt).await,
            Self::Sqlite(unit) => unit.query_all_raw(stmt).await,
        }
    }

    fn support_returning(&self) -> bool {
        match self {
            Self::Orm(tx) => tx.support_returning(),
            Self::Sqlite(unit) => unit.support_returning(),
        }
    }
}
