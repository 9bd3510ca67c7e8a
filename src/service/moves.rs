//! Moving a library from its SQLite file to PostgreSQL (`folio db copy --to URL`): every row,
//! ids and all, into a PostgreSQL database that has folio's schema and no data, in one unit of
//! work — a copy that fails half way leaves the target as empty as it was. The search index,
//! whose tables differ between the backends, is rebuilt there from the copied rows, and each
//! table's rows are counted on both sides before the unit commits.

use sea_orm::{ConnectionTrait, TransactionTrait};

use crate::db::{Database, DbError, copy};
use crate::migration::{MIGRATION_TABLE, TABLES};
use crate::repo;

/// Tables whose rows are not copied: the migrations' own record (the target has it from its
/// migrations) and the search index with its vocabulary and generation (rebuilt).
const NOT_COPIED: [&str; 4] = [
    MIGRATION_TABLE,
    "book_search",
    "search_term",
    "search_generation",
];

/// Tables the migrations give rows of their own (counters at zero): the source's replace them.
const SEEDED: [&str; 1] = ["import_rows"];

#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    #[error(
        "the target already holds folio data ({rows} rows in {table}): copy into a database \
         with no folio data"
    )]
    NotEmpty { table: String, rows: u64 },
    #[error(
        "{table}: {source_rows} rows in the SQLite database, {copied} copied; nothing was kept"
    )]
    Mismatch {
        table: String,
        source_rows: u64,
        copied: u64,
    },
    #[error(transparent)]
    Copy(#[from] copy::CopyError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// What was copied: each table and its rows, in the order written.
pub struct Moved {
    pub tables: Vec<(String, u64)>,
}

/// The tables a copy writes.
fn copied_tables() -> Vec<&'static str> {
    TABLES
        .iter()
        .copied()
        .filter(|t| !NOT_COPIED.contains(t))
        .collect()
}

/// The first table of folio's that holds rows in `target`, with how many: a database a copy
/// refuses. Tables it lacks (an older folio's schema, or none) hold nothing. Asked before the
/// target is migrated, so a database with data is refused before anything changes it.
pub async fn holding_data(target: &impl ConnectionTrait) -> Result<Option<MoveError>, DbError> {
    for table in copied_tables() {
        if SEEDED.contains(&table) || !copy::exists(target, table).await? {
            continue;
        }
        let rows = copy::count(target, table).await?;
        if rows > 0 {
            return Ok(Some(MoveError::NotEmpty {
                table: table.to_string(),
                rows,
            }));
        }
    }
    Ok(None)
}

/// Copies `source` (SQLite) into `target` (PostgreSQL, migrated to the same schema, empty).
/// Neither may have a server on it: the caller holds both databases' locks. The source is read
/// in one read transaction, a snapshot whatever another process writes meanwhile.
#[tracing::instrument(
    level = "info",
    name = "service.moves.copy_database",
    skip_all,
    err(level = "debug")
)]
pub async fn copy_database(source: &Database, target: &Database) -> Result<Moved, MoveError> {
    let tables = copied_tables();
    let unit = target.begin().await?;
    if let Some(refused) = holding_data(&*unit).await? {
        return Err(refused);
    }
    for table in SEEDED {
        copy::clear(&*unit, table).await?;
    }
    let snapshot = source.reader().begin().await.map_err(DbError::from)?;
    let copied = copy::copy(&snapshot, &unit, &tables).await?;
    repo::search::rebuild(&*unit).await?;
    for (table, copied) in &copied.tables {
        let source_rows = copy::count(&snapshot, table).await?;
        let there = copy::count(&*unit, table).await?;
        if source_rows != *copied || there != *copied {
            return Err(MoveError::Mismatch {
                table: table.clone(),
                source_rows,
                copied: there,
            });
        }
    }
    unit.commit().await?;
    Ok(Moved {
        tables: copied.tables,
    })
}
