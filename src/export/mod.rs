//! Letting data out (`folio export …`): the catalog as CSV or JSON, and everything one user
//! has (comments, progress, notes, purchases) as JSON. Both stream: rows are read a batch at a
//! time by keyset and written as they come, so memory stays flat whatever the size.

mod books;
mod user;

pub use books::{BookFormat, books};
pub use user::user;

use crate::db::DbError;

/// Rows read per query while exporting.
const BATCH: u64 = 500;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot write the export: {0}")]
    Write(#[from] std::io::Error),
    #[error("cannot write the export: {0}")]
    Csv(#[from] csv::Error),
    #[error("no user is named '{0}'")]
    NoSuchUser(String),
    #[error(transparent)]
    Db(#[from] DbError),
}
