//! Bringing catalogs in from elsewhere (`folio import …`).
//!
//! Every importer turns its rows into [`BookRecord`]s and hands them to the
//! [`CatalogWriter`], which matches them against the catalog (by ISBN, or by catalog number
//! and label for a record, else by folded title and first author) and writes what is new in
//! units of work of `batch_size` rows. An importer that brings more than books (a reader's
//! ratings and shelves) writes it beside each row's book, in the same unit of work: see
//! `AfterWrite`. A killed import leaves whole batches behind and nothing half-written;
//! running it again matches what is there and adds the rest, so an import is idempotent. A bad
//! row goes to a rejects CSV beside the input, with the reason; `--strict` instead stops at the
//! first bad row and writes nothing at all.

mod catalog;
pub mod catalog_export;
pub mod discogs;
mod fields;
pub mod goodbooks;
pub mod goodreads;
pub mod language;
mod progress;
mod rejects;
pub mod seed;

use std::fs::File;
use std::path::{Path, PathBuf};

pub use catalog::{CatalogWriter, Outcome, Written};
use progress::Progress;
use rejects::Rejects;
use sea_orm::ConnectionTrait;

use crate::db::{Database, DbError, UnitOfWork};
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
    #[error("there is no folio user '{name}' (nothing was imported)")]
    UnknownUser { name: String },
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

/// Opens a CSV export: a reader at its first row, its header row, and its size in bytes (for
/// the progress bar). Rows may be short (a missing trailing field reads as empty).
pub(crate) fn open_csv(
    path: &Path,
) -> Result<(csv::Reader<File>, csv::StringRecord, u64), ImportError> {
    let read_error = |e: &dyn std::fmt::Display| ImportError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let file = File::open(path).map_err(|e| read_error(&e))?;
    let total_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
    let headers = reader.headers().map_err(|e| read_error(&e))?.clone();
    Ok((reader, headers, total_bytes))
}

/// The rows of `reader` as [`run`] takes them: each as read, with its byte position and what
/// `parse` made of it.
pub(crate) fn parse_rows<R>(
    reader: csv::Reader<File>,
    path: &Path,
    parse: impl Fn(&csv::StringRecord) -> Result<R, String>,
) -> impl Iterator<Item = Result<(csv::StringRecord, u64, Result<R, String>), ImportError>> {
    let path = path.to_path_buf();
    reader.into_records().map(move |row| {
        let row = row.map_err(|e| ImportError::Read {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let position = row.position().map(|p| p.byte()).unwrap_or(0);
        let parsed = parse(&row);
        Ok((row, position, parsed))
    })
}

/// Finds columns by name, so that column order does not matter and an export with more
/// columns (an older or newer variant) reads the same.
pub(crate) struct HeaderIndex<'h> {
    format: &'static str,
    headers: &'h csv::StringRecord,
}

impl<'h> HeaderIndex<'h> {
    pub(crate) fn new(format: &'static str, headers: &'h csv::StringRecord) -> Self {
        Self { format, headers }
    }

    /// A column the import cannot do without.
    pub(crate) fn required(&self, name: &str) -> Result<usize, ImportError> {
        self.optional(name).ok_or_else(|| ImportError::Format {
            format: self.format,
            message: format!("no '{name}' column"),
        })
    }

    /// A column some variants of the export lack; its fields then read as empty.
    pub(crate) fn optional(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h.trim() == name)
    }
}

/// The trimmed field at `index`; empty when the row is short or the column is absent.
pub(crate) fn field(row: &csv::StringRecord, index: impl Into<Option<usize>>) -> &str {
    index.into().and_then(|i| row.get(i)).unwrap_or("").trim()
}

/// A parsed row: the book it describes, and whatever else the importer keeps from it.
pub(crate) trait Row {
    fn book(&self) -> &BookRecord;
}

impl Row for BookRecord {
    fn book(&self) -> &BookRecord {
        self
    }
}

/// What an importer writes beside a row's book once the book is matched or created: in the
/// same unit of work, so that a batch's books and what belongs to them land, or vanish,
/// together.
pub(crate) trait AfterWrite<R> {
    async fn after_write(
        &mut self,
        conn: &impl ConnectionTrait,
        row: &R,
        written: &Written,
    ) -> Result<(), DbError>;
}

/// Nothing beside the books.
impl<R> AfterWrite<R> for () {
    async fn after_write(
        &mut self,
        _conn: &impl ConnectionTrait,
        _row: &R,
        _written: &Written,
    ) -> Result<(), DbError> {
        Ok(())
    }
}

/// Reads rows from `rows`, understood by `parse`, into the catalog, and hands each row with
/// its book to `after`. `rows` yields each row's fields as read (for the rejects file) with its
/// parse result.
pub(crate) async fn run<R, I, A>(
    db: &Database,
    input: &Path,
    headers: csv::StringRecord,
    rows: I,
    total_bytes: u64,
    options: ImportOptions,
    after: &mut A,
) -> Result<Summary, ImportError>
where
    R: Row,
    I: Iterator<Item = Result<(csv::StringRecord, u64, Result<R, String>), ImportError>>,
    A: AfterWrite<R>,
{
    let mut writer = CatalogWriter::load(db).await?;
    let mut rejects = Rejects::new(rejects_path(input), headers);
    let mut progress = Progress::new(total_bytes);
    let mut summary = Summary::default();
    let mut batch: Vec<R> = Vec::with_capacity(options.batch_size);
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
                after,
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
        after,
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

async fn write_batch<R: Row>(
    db: &Database,
    writer: &mut CatalogWriter,
    after: &mut impl AfterWrite<R>,
    strict_unit: Option<&UnitOfWork>,
    batch: &mut Vec<R>,
    summary: &mut Summary,
) -> Result<(), ImportError> {
    if batch.is_empty() {
        return Ok(());
    }
    let outcomes = match strict_unit {
        Some(unit) => write_rows(unit, writer, after, batch).await?,
        None => {
            let unit = db.begin().await?;
            let outcomes = write_rows(&unit, writer, after, batch).await?;
            unit.commit().await?;
            outcomes
        }
    };
    // Counted once the batch is committed (or, under --strict, once it is in the one unit).
    for outcome in outcomes {
        match outcome {
            Outcome::Created => summary.created += 1,
            Outcome::Matched => summary.matched += 1,
        }
    }
    batch.clear();
    Ok(())
}

async fn write_rows<R: Row>(
    unit: &UnitOfWork,
    writer: &mut CatalogWriter,
    after: &mut impl AfterWrite<R>,
    rows: &[R],
) -> Result<Vec<Outcome>, DbError> {
    let mut outcomes = Vec::with_capacity(rows.len());
    for row in rows {
        let written = writer.write(&**unit, row.book()).await?;
        after.after_write(&**unit, row, &written).await?;
        outcomes.push(written.outcome);
    }
    Ok(outcomes)
}
