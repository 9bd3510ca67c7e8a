//! Bringing catalogs in from elsewhere (`folio import …`).
//!
//! Every importer turns its rows into [`BookRecord`]s, held to the catalog's rules as they are
//! read (`service::catalog::batch::check`, the rules the API's writes keep), and hands them to
//! the [`CatalogWriter`], which matches them against the catalog (by ISBN, or by catalog number
//! and label for a record, else by folded title and first author) and has the catalog's batch
//! writes add what is new, in units of work of `batch_size` rows. An importer that brings more
//! than books (a reader's ratings and shelves) writes it beside each row's book through the
//! services, in the same unit of work: see `AfterWrite`. Nothing here writes through `repo`. A killed import leaves whole batches behind and nothing half-written;
//! running it again matches what is there and adds the rest, so an import is idempotent. A bad
//! row goes to a rejects CSV beside the input, with the reason; `--strict` instead stops at the
//! first bad row and writes nothing at all.

pub mod discogs;
mod fields;
pub mod files;
pub mod folio_export;
pub mod goodbooks;
pub mod goodreads;
pub mod language;
mod matching;
mod progress;
mod rejects;
pub mod seed;

use std::fs::File;
use std::path::{Path, PathBuf};

pub use matching::{CatalogWriter, Outcome, Written};
use progress::Progress;
use rejects::Rejects;

use crate::db::{Database, DbError, UnitOfWork};
pub use crate::service::catalog::batch::{BookRecord, EditionRecord};
use crate::service::validate::Checked;
use crate::service::{ServiceError, catalog};

/// A record held to the catalog's rules, or the reason for the rejects file.
pub(crate) fn checked(record: BookRecord) -> Result<Checked<BookRecord>, String> {
    catalog::batch::check(record).map_err(reason)
}

/// A service's refusal as one line of a rejects file: `field: message; …`.
pub(crate) fn reason(error: ServiceError) -> String {
    match error {
        ServiceError::Validation(errors) => errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
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
    /// A service refused a write whose values the import made itself (a reader's progress):
    /// a fault of the import's, not a bad row.
    #[error("a write was refused: {0}")]
    Refused(String),
    /// A fault of folio's own met on the way, with its causes.
    #[error(transparent)]
    Failed(ServiceError),
}

impl From<ServiceError> for ImportError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Unavailable(e) | ServiceError::StorageFull(e) => Self::Db(e),
            failed @ ServiceError::Internal { .. } => Self::Failed(failed),
            other => Self::Refused(reason(other)),
        }
    }
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
///
/// `format` names the export in the errors for a file that cannot be one: an empty file, or
/// a header that is not UTF-8 (columns are found by name, so a header that cannot be read
/// leaves nothing to import).
pub(crate) fn open_csv(
    path: &Path,
    format: &'static str,
) -> Result<(csv::Reader<File>, csv::StringRecord, u64), ImportError> {
    let read_error = |e: &dyn std::fmt::Display| ImportError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let not_the_format = |message: String| ImportError::Format { format, message };
    let file = File::open(path).map_err(|e| read_error(&e))?;
    let total_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
    let headers = reader.byte_headers().map_err(|e| read_error(&e))?.clone();
    if is_blank(&headers) {
        // The reader skips empty lines but not lines of spaces: the file is empty only if
        // every row is blank. Either way the import stops here, so no row read on is lost.
        let mut row = csv::ByteRecord::new();
        loop {
            if !reader
                .read_byte_record(&mut row)
                .map_err(|e| read_error(&e))?
            {
                return Err(not_the_format(format!(
                    "{} is an empty file",
                    path.display()
                )));
            }
            if !is_blank(&row) {
                return Err(not_the_format(format!(
                    "the first row of {} is blank, not a header",
                    path.display()
                )));
            }
        }
    }
    let headers = csv::StringRecord::from_byte_record(headers).map_err(|e| {
        let at = e.utf8_error();
        not_the_format(format!(
            "the header row of {} is not UTF-8 (column {}, byte offset {} in its name)",
            path.display(),
            at.field() + 1,
            at.valid_up_to()
        ))
    })?;
    Ok((reader, headers, total_bytes))
}

/// No fields, or only whitespace in each.
fn is_blank(row: &csv::ByteRecord) -> bool {
    row.iter().all(|field| field.trim_ascii().is_empty())
}

/// A row as [`run`] takes it: where the reader was after it (for the progress bar), and what
/// the importer made of it.
pub(crate) struct ReadRow<R> {
    pub position: u64,
    pub parsed: Result<R, Rejected>,
}

/// A row that cannot be imported: its fields as read, byte for byte (a row that is not UTF-8
/// goes to the rejects file as it is, for the operator to mend), and why.
pub(crate) struct Rejected {
    pub fields: csv::ByteRecord,
    pub reason: String,
}

/// The rows of `reader`, understood by `parse`. A row that is not UTF-8 is rejected, not an
/// error: one bad byte must not stop an import. One record buffer is reused for every good row;
/// only a rejected row's fields are kept.
pub(crate) fn parse_rows<R, F>(
    mut reader: csv::Reader<File>,
    path: &Path,
    headers: &csv::StringRecord,
    parse: F,
) -> impl Iterator<Item = Result<ReadRow<R>, ImportError>> + use<R, F>
where
    F: Fn(&csv::StringRecord) -> Result<R, String>,
{
    let path = path.to_path_buf();
    let headers = headers.clone();
    // Checking a row's UTF-8 takes the record by value; a good row hands it back, so one
    // buffer serves every good row.
    let mut buffer = Some(csv::ByteRecord::new());
    std::iter::from_fn(move || {
        let mut bytes = buffer.take().unwrap_or_default();
        match reader.read_byte_record(&mut bytes) {
            Ok(false) => None,
            Ok(true) => {
                let position = bytes.position().map(|p| p.byte()).unwrap_or(0);
                let parsed = match csv::StringRecord::from_byte_record(bytes) {
                    Ok(row) => {
                        let parsed = parse(&row).map_err(|reason| Rejected {
                            fields: row.as_byte_record().clone(),
                            reason,
                        });
                        buffer = Some(row.into_byte_record());
                        parsed
                    }
                    // The rejected row keeps the buffer; the next row gets a new one.
                    Err(e) => Err(Rejected {
                        reason: not_utf8(&headers, e.utf8_error()),
                        fields: e.into_byte_record(),
                    }),
                };
                Some(Ok(ReadRow { position, parsed }))
            }
            Err(e) => Some(Err(ImportError::Read {
                path: path.clone(),
                message: e.to_string(),
            })),
        }
    })
}

/// Why a row that is not UTF-8 is rejected: the column, by name when the header has one.
fn not_utf8(headers: &csv::StringRecord, at: &csv::Utf8Error) -> String {
    let column = match headers.get(at.field()).map(str::trim) {
        Some(name) if !name.is_empty() => format!("'{name}'"),
        _ => format!("{}", at.field() + 1),
    };
    format!(
        "invalid UTF-8 in column {column} (byte offset {} in the field)",
        at.valid_up_to()
    )
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
    fn book(&self) -> &Checked<BookRecord>;
}

impl Row for Checked<BookRecord> {
    fn book(&self) -> &Checked<BookRecord> {
        self
    }
}

/// What an importer writes beside a row's book once the book is matched or created: in the
/// same unit of work, so that a batch's books and what belongs to them land, or vanish,
/// together. It writes through the services, as every adapter does.
pub(crate) trait AfterWrite<R> {
    async fn after_write(
        &mut self,
        unit: &UnitOfWork,
        row: &R,
        written: &Written,
    ) -> Result<(), ImportError>;
}

/// Nothing beside the books.
impl<R> AfterWrite<R> for () {
    async fn after_write(
        &mut self,
        _unit: &UnitOfWork,
        _row: &R,
        _written: &Written,
    ) -> Result<(), ImportError> {
        Ok(())
    }
}

/// How many rows the reading thread hands over at a time.
const ROWS_PER_HANDOVER: usize = 1000;

/// Reads `rows` into the catalog and hands each row with its book to `after`.
///
/// Rows are read and parsed on a thread of their own while the rows before them are matched
/// and written, so reading the file and writing the database overlap.
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
    R: Row + Send + 'static,
    I: Iterator<Item = Result<ReadRow<R>, ImportError>> + Send + 'static,
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

    let mut handovers = read_ahead(rows);
    while let Some(rows) = handovers.recv().await {
        for row in rows {
            let ReadRow { position, parsed } = row?;
            summary.read += 1;
            match parsed {
                Ok(record) => batch.push(record),
                Err(Rejected { reason, .. }) if options.strict => {
                    return Err(ImportError::Strict {
                        row: summary.read,
                        reason,
                    });
                }
                Err(Rejected { fields, reason }) => {
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
    if summary.rejected > 0 {
        let rejected = summary.rejected;
        db.write(|tx| {
            Box::pin(
                async move { crate::service::catalog::batch::count_rows(tx, 0, 0, rejected).await },
            )
        })
        .await?;
    }
    if summary.created + summary.matched > 0 {
        settle(db).await?;
    }
    progress.finish(&summary);
    Ok(summary)
}

/// What a bulk load leaves the database to tidy: the search index merged into few pieces
/// (`repo::search::compact`), the planner's statistics brought up to date.
pub(crate) async fn settle(db: &Database) -> Result<(), DbError> {
    db.write(|tx| Box::pin(async move { crate::repo::search::compact(&**tx).await }))
        .await?;
    db.refresh_statistics().await
}

/// Runs `rows` on a blocking thread, handing them over in chunks. The thread stops when the
/// rows end or when the receiver is dropped (an import that stopped early).
fn read_ahead<T: Send + 'static>(
    rows: impl Iterator<Item = T> + Send + 'static,
) -> tokio::sync::mpsc::Receiver<Vec<T>> {
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        let mut rows = rows.peekable();
        while rows.peek().is_some() {
            let chunk: Vec<T> = rows.by_ref().take(ROWS_PER_HANDOVER).collect();
            if sender.blocking_send(chunk).is_err() {
                return;
            }
        }
    });
    receiver
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
) -> Result<Vec<Outcome>, ImportError> {
    let books: Vec<&Checked<BookRecord>> = rows.iter().map(Row::book).collect();
    let written = writer.write_batch(unit, &books).await?;
    for (row, written) in rows.iter().zip(&written) {
        after.after_write(unit, row, written).await?;
    }
    let outcomes: Vec<Outcome> = written.into_iter().map(|w| w.outcome).collect();
    let created = outcomes.iter().filter(|o| **o == Outcome::Created).count() as u64;
    let matched = outcomes.len() as u64 - created;
    crate::service::catalog::batch::count_rows(unit, created, matched, 0).await?;
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with(bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("a folder");
        let path = dir.path().join("books.csv");
        std::fs::write(&path, bytes).expect("written");
        (dir, path)
    }

    fn open_error(bytes: &[u8]) -> String {
        let (_dir, path) = file_with(bytes);
        match open_csv(&path, "test") {
            Ok(_) => panic!("{bytes:?} opened"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn an_empty_file_says_so() {
        for bytes in [
            &b""[..],
            b"\n\n",
            b"\r\n",
            b"  \r\n\t\n \n",
            b"\xEF\xBB\xBF",
            b"\xEF\xBB\xBF\n",
        ] {
            let error = open_error(bytes);
            assert!(error.ends_with("books.csv is an empty file"), "{error}");
        }
        let error = open_error(b"  \nisbn,title\n1,A\n");
        assert!(error.ends_with("is blank, not a header"), "{error}");
    }

    #[test]
    fn a_header_that_is_not_utf8_names_the_file() {
        let error = open_error(b"isbn,ti\xFFtle\n1,A\n");
        assert!(
            error.starts_with("the file is not a test export: "),
            "{error}"
        );
        assert!(error.contains("books.csv is not UTF-8"), "{error}");
        assert!(error.contains("column 2, byte offset 2"), "{error}");
    }

    #[test]
    fn a_row_that_is_not_utf8_is_rejected_as_read_and_the_rest_read_on() {
        let (_dir, path) = file_with(b"first,second\na,b\nx\xFFy,z\nc,d\n1,2,\xFE\n");
        let (reader, headers, _) = open_csv(&path, "test").expect("opened");
        let rows: Vec<Result<String, (csv::ByteRecord, String)>> =
            parse_rows(reader, &path, &headers, |row| Ok(row[0].to_string()))
                .map(|row| {
                    let parsed = row.expect("read").parsed;
                    parsed.map_err(|rejected| (rejected.fields, rejected.reason))
                })
                .collect();
        let rejected = |fields: Vec<&[u8]>, reason: &str| {
            Err((csv::ByteRecord::from(fields), reason.to_string()))
        };
        assert_eq!(
            rows,
            vec![
                Ok("a".to_string()),
                rejected(
                    vec![b"x\xFFy", b"z"],
                    "invalid UTF-8 in column 'first' (byte offset 1 in the field)"
                ),
                Ok("c".to_string()),
                rejected(
                    vec![b"1", b"2", b"\xFE"],
                    "invalid UTF-8 in column 3 (byte offset 0 in the field)"
                ),
            ]
        );
    }
}
