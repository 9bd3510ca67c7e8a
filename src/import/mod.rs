//! Bringing catalogs in from elsewhere (`folio import …`).
//!
//! Every importer turns its rows into [`BookRecord`]s and hands them to the
//! [`CatalogWriter`], which matches them against the catalog (by ISBN, else by folded title and
//! first author) and writes what is new in units of work of `batch_size` rows. A killed
//! import leaves whole batches behind and nothing half-written; running it again matches what
//! is there and adds the rest, so an import is idempotent. A bad row goes to a rejects CSV
//! beside the input, with the reason; `--strict` instead stops at the first bad row and
//! writes nothing at all.

mod catalog;
pub mod goodbooks;
pub mod language;
mod progress;
mod rejects;

use std::path::{Path, PathBuf};

pub use catalog::{CatalogWriter, Outcome};
use progress::Progress;
use rejects::Rejects;

use crate::db::{Database, DbError};
use crate::entity::enums::EditionFormat;

/// A book as an importer understood it, before matching.
#[derive(Debug, Clone, PartialEq)]
pub struct BookRecord {
    pub title: String,
    pub subtitle: Option<String>,
    pub description: Option<String>,
    /// In credit order; at least one.
    pub authors: Vec<String>,
    pub original_year: Option<i32>,
    pub language: Option<String>,
    /// The edition the row describes, when it names one.
    pub edition: Option<EditionRecord>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EditionRecord {
    pub format: EditionFormat,
    /// ISBN-13 digits, checked.
    pub isbn: Option<String>,
    pub catalog_number: Option<String>,
    pub publisher: Option<String>,
    pub pages: Option<i32>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub read: u64,
    pub created: u64,
    pub matched: u64,
    pub rejected: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct ImportOptions {
    pub strict: bool,
    pub batch_size: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            strict: false,
            batch_size: 1000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("cannot write the rejects file {path}: {message}")]
    Rejects { path: PathBuf, message: String },
    #[error("the file is not a {format} export: {message}")]
    Format {
        format: &'static str,
        message: String,
    },
    #[error("row {row}: {reason} (--strict: nothing was imported)")]
    Strict { row: u64, reason: String },
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Where rejected rows of `input` go: `books.csv` → `books.rejects.csv`, beside it.
pub fn rejects_path(input: &Path) -> PathBuf {
    let stem = input
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("import");
    input.with_file_name(format!("{stem}.rejects.csv"))
}

/// Reads rows from `rows`, understood by `parse`, into the catalog. `rows` yields each row's
/// fields as read (for the rejects file) with its parse result.
pub(crate) async fn run<I>(
    db: &Database,
    input: &Path,
    headers: csv::StringRecord,
    rows: I,
    total_bytes: u64,
    options: ImportOptions,
) -> Result<Summary, ImportError>
where
    I: Iterator<Item = Result<(csv::StringRecord, u64, Result<BookRecord, String>), ImportError>>,
{
    let mut writer = CatalogWriter::load(db).await?;
    let mut rejects = Rejects::new(rejects_path(input), headers);
    let mut progress = Progress::new(total_bytes);
    let mut summary = Summary::default();
    let mut batch: Vec<BookRecord> = Vec::with_capacity(options.batch_size);
    // --strict writes nothing unless every row is good: one unit of work for the whole file.
    let mut strict_unit = match options.strict {
        true => Some(db.begin().await?),
        false => None,
    };

    for row in rows {
        let (fields, position, parsed) = row?;
        summary.read += 1;
        match parsed {
            Ok(record) => batch.push(record),
            Err(reason) if options.strict => {
                return Err(ImportError::Strict {
                    row: summary.read,
                    reason,
                });
            }
            Err(reason) => {
                summary.rejected += 1;
                rejects.write(&fields, &reason)?;
            }
        }
        if batch.len() >= options.batch_size {
            write_batch(
                db,
                &mut writer,
                strict_unit.as_ref(),
                &mut batch,
                &mut summary,
            )
            .await?;
            progress.update(position, &summary);
        }
    }
    write_batch(
        db,
        &mut writer,
        strict_unit.as_ref(),
        &mut batch,
        &mut summary,
    )
    .await?;
    if let Some(unit) = strict_unit.take() {
        unit.commit().await?;
    }
    rejects.finish()?;
    progress.finish(&summary);
    Ok(summary)
}

async fn write_batch(
    db: &Database,
    writer: &mut CatalogWriter,
    strict_unit: Option<&crate::db::UnitOfWork>,
    batch: &mut Vec<BookRecord>,
    summary: &mut Summary,
) -> Result<(), ImportError> {
    if batch.is_empty() {
        return Ok(());
    }
    let outcomes = match strict_unit {
        Some(unit) => writer.write_all(unit, batch).await?,
        None => {
            let unit = db.begin().await?;
            let outcomes = writer.write_all(&unit, batch).await?;
            unit.commit().await?;
            outcomes
        }
    };
    for outcome in outcomes {
        match outcome {
            Outcome::Created => summary.created += 1,
            Outcome::Matched => summary.matched += 1,
        }
    }
    batch.clear();
    Ok(())
}
