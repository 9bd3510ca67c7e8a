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

use sea_orm::DatabaseTransaction;

use super::DbError;

pub struct UnitOfWork {
    tx: Option<DatabaseTransaction>,
}

/// The future a [`super::Database::write`] closure returns, borrowing the unit of work.
pub type WorkFuture<'t, T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 't>>;

impl UnitOfWork {
    pub(super) fn new(tx: DatabaseTransaction) -> Self {
        Self { tx: Some(tx) }
    }

    /// Commits. When COMMIT fails the transaction is rolled back as the unit of work is
    /// dropped, and a connection that cannot say it is outside a transaction after that is not
    /// lent again (see `connect`).
    pub async fn commit(mut self) -> Result<(), DbError> {
        let tx = self.tx.take().expect("a unit of work is committed once");
        tx.commit().await.map_err(DbError::from)?;
        super::error::note_committed();
        Ok(())
    }
}

impl Deref for UnitOfWork {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        self.tx
            .as_ref()
            .expect("a committed unit of work is not used again")
    }
}

impl Drop for UnitOfWork {
    fn drop(&mut self) {
        // Dropping the transaction queues its rollback on the connection.
        if self.tx.take().is_some() {
            if std::thread::panicking() {
                tracing::warn!("unit of work rolled back after a panic");
            } else {
                tracing::debug!("unit of work rolled back");
            }
        }
    }
}
