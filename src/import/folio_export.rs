//! `folio import catalog FILE`: folio's own JSON export (`folio export books --format json`),
//! so a catalog can move between servers or backends, or be restored.
//!
//! The export holds one book per line inside a JSON array, which lets this read it a line at a
//! time in constant memory. Each book is matched like any import (ISBN of its first edition,
//! else folded title and first author); a new book gets all its editions (prices, contributors
//! and all) and its categories by slug. Category parents are not in the export, so categories
//! come back flat. A line that is not UTF-8 is a bad row like any other, kept byte for byte in
//! the rejects file; an empty file is refused before anything is imported.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{
    AfterWrite, BookRecord, EditionRecord, ImportError, ImportOptions, Outcome, ReadRow, Rejected,
    Row, Summary, Written, reason,
};
use crate::db::{Database, UnitOfWork};
use crate::entity::enums::{ContributorRole, EditionAccess, EditionFormat};
use crate::service::catalog::batch::{self, BookParts, EditionParts};
use crate::service::catalog::editions::{self, EditionFields};
use crate::service::catalog::{authors, categories};
use crate::service::validate::Checked;

/// Names the export in the error for a file that cannot be one.
const FORMAT: &str = "folio catalog";

#[derive(Debug, Clone, Deserialize)]
struct ExportedBook {
    title: String,
    subtitle: Option<String>,
    description: Option<String>,
    original_year: Option<i32>,
    language: Option<String>,
    /// Exports from before issue 19 have no series and no prior.
    #[serde(default)]
    series: Option<String>,
    #[serde(default)]
    series_number: Option<f64>,
    #[serde(default)]
    popularity_prior: i64,
    authors: Vec<String>,
    #[serde(default)]
    categories: Vec<ExportedCategory>,
    #[serde(default)]
    editions: Vec<ExportedEdition>,
}

#[derive(Debug, Clone, Deserialize)]
struct ExportedCategory {
    name: String,
    slug: String,
}

#[derive(Debug, Clone, Deserialize)]
struct ExportedEdition {
    format: EditionFormat,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    subtitle: Option<String>,
    isbn: Option<String>,
    catalog_number: Option<String>,
    publisher: Option<String>,
    release_date: Option<chrono::NaiveDate>,
    language: Option<String>,
    pages: Option<i32>,
    duration_seconds: Option<i64>,
    price_minor: Option<i64>,
    currency: Option<String>,
    /// Exports from before issue 16 have none: the default, buyers.
    #[serde(default)]
    access: EditionAccess,
    #[serde(default)]
    contributors: Vec<ExportedContributor>,
}

#[derive(Debug, Clone, Deserialize)]
struct ExportedContributor {
    name: String,
    role: ContributorRole,
}

/// A book of the export: the record matched like any import, and what a new book gets.
pub(crate) struct CatalogRow {
    record: Checked<BookRecord>,
    parts: BookParts,
}

impl Row for CatalogRow {
    fn book(&self) -> &Checked<BookRecord> {
        &self.record
    }
}

fn parse(line: &str) -> Result<CatalogRow, String> {
    let book: ExportedBook =
        serde_json::from_str(line).map_err(|e| format!("not a book of folio's export: {e}"))?;
    super::fields::check_title(&book.title)?;
    let authors: Vec<String> = book.authors.iter().map(|a| a.trim().to_string()).collect();
    super::fields::check_authors(&authors)?;
    // The first edition with an ISBN identifies the book on a second run.
    let edition = book
        .editions
        .iter()
        .find(|e| e.isbn.is_some())
        .map(|e| EditionRecord {
            format: e.format,
            isbn: e.isbn.clone(),
            catalog_number: None,
            publisher: None,
            pages: None,
            title: e.title.clone(),
        });
    // The services' rules, as for a book made over the API: a bad ISBN, a price without a
    // currency, a slug that is not one rejects the row here, instead of failing its batch in
    // the database.
    let editions = book
        .editions
        .iter()
        .enumerate()
        .map(|(i, edition)| {
            edition_parts(edition).map_err(|reason| format!("edition {}: {reason}", i + 1))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let categories = book
        .categories
        .iter()
        .map(|c| {
            categories::checked(c.name.clone(), c.slug.clone())
                .map_err(|e| format!("category '{}': {}", c.slug, reason(e)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let record = super::checked(BookRecord {
        title: book.title,
        subtitle: book.subtitle,
        description: book.description,
        authors,
        original_year: book.original_year,
        language: book.language,
        series: book.series,
        series_number: book.series_number,
        popularity_prior: book.popularity_prior,
        edition,
    })?;
    Ok(CatalogRow {
        record,
        parts: BookParts {
            editions,
            categories,
        },
    })
}

/// An exported edition with its contributors, each held to its service's rules.
fn edition_parts(edition: &ExportedEdition) -> Result<EditionParts, String> {
    let fields = editions::checked(fields(edition)).map_err(reason)?;
    let contributors = edition
        .contributors
        .iter()
        .map(|c| {
            authors::checked_name(c.name.clone())
                .map(|name| (name, c.role))
                .map_err(|e| format!("contributor: {}", reason(e)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(EditionParts {
        fields,
        contributors,
    })
}

pub async fn import(
    db: &Database,
    path: &Path,
    options: ImportOptions,
) -> Result<Summary, ImportError> {
    let (mut lines, total_bytes) = Lines::open(path)?;
    let rows = std::iter::from_fn(move || {
        loop {
            let parsed = match lines.next_line() {
                Ok(Some(line)) => read_line(line),
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            };
            if let Some(parsed) = parsed {
                let position = lines.position;
                return Some(Ok(ReadRow { position, parsed }));
            }
        }
    });
    let headers = csv::StringRecord::from(vec!["book"]);
    super::run(
        db,
        path,
        headers,
        rows,
        total_bytes,
        options,
        &mut NewBookParts,
    )
    .await
}

/// The lines of an export, read as bytes into one reused buffer: a line that is not UTF-8 is
/// a bad row, not the end of the import.
struct Lines {
    reader: BufReader<File>,
    path: PathBuf,
    line: Vec<u8>,
    /// Bytes read so far, for the progress bar.
    position: u64,
    /// `line` holds a line read ahead (the first that is not blank), not yet handed on.
    held: bool,
}

impl Lines {
    /// Opens an export, and answers its size in bytes too. An empty file, or one of blank lines
    /// only, is refused as not an export at all (an empty catalog exports as `[` and `]`, which
    /// imports nothing and succeeds).
    fn open(path: &Path) -> Result<(Self, u64), ImportError> {
        let file = File::open(path).map_err(|e| read_error(path, &e))?;
        let total_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut lines = Lines {
            reader: BufReader::new(file),
            path: path.to_path_buf(),
            line: Vec::new(),
            position: 0,
            held: false,
        };
        loop {
            match lines.next_line()? {
                None => {
                    return Err(ImportError::Format {
                        format: FORMAT,
                        message: format!("{} is an empty file", path.display()),
                    });
                }
                Some(line) if line.trim_ascii().is_empty() => {}
                Some(_) => break,
            }
        }
        lines.held = true;
        Ok((lines, total_bytes))
    }

    /// The next line without its `\n` or `\r\n` (and the file's first without a UTF-8 byte
    /// order mark); `None` at the end of the file.
    fn next_line(&mut self) -> Result<Option<&[u8]>, ImportError> {
        if !std::mem::take(&mut self.held) {
            let first = self.position == 0;
            self.line.clear();
            let read = self
                .reader
                .read_until(b'\n', &mut self.line)
                .map_err(|e| read_error(&self.path, &e))?;
            if read == 0 {
                return Ok(None);
            }
            self.position += read as u64;
            if first && self.line.starts_with(BYTE_ORDER_MARK) {
                self.line.drain(..BYTE_ORDER_MARK.len());
            }
        }
        let line = self.line.strip_suffix(b"\n").unwrap_or(&self.line);
        Ok(Some(line.strip_suffix(b"\r").unwrap_or(line)))
    }
}

const BYTE_ORDER_MARK: &[u8] = b"\xEF\xBB\xBF";

fn read_error(path: &Path, e: &dyn std::fmt::Display) -> ImportError {
    ImportError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// What a line of the export holds: nothing (a blank line, the array's brackets), a book, or
/// a bad row. A book's line goes to the rejects file without its indent and the array's comma;
/// a line that is not UTF-8 exactly as read, for the operator to mend.
fn read_line(line: &[u8]) -> Option<Result<CatalogRow, Rejected>> {
    let text = match std::str::from_utf8(line) {
        Ok(text) => text,
        Err(e) => {
            return Some(Err(Rejected {
                fields: csv::ByteRecord::from(vec![line]),
                reason: format!(
                    "invalid UTF-8 at byte offset {} of the line",
                    e.valid_up_to()
                ),
            }));
        }
    };
    let entry = text.trim().trim_end_matches(',');
    if entry.is_empty() || entry == "[" || entry == "]" {
        return None;
    }
    Some(parse(entry).map_err(|reason| Rejected {
        fields: csv::ByteRecord::from(vec![entry]),
        reason,
    }))
}

/// Writes a new book's editions and categories; a matched book is left as the catalog has it.
struct NewBookParts;

impl AfterWrite<CatalogRow> for NewBookParts {
    async fn after_write(
        &mut self,
        unit: &UnitOfWork,
        row: &CatalogRow,
        written: &Written,
    ) -> Result<(), ImportError> {
        if written.outcome != Outcome::Created {
            return Ok(());
        }
        // The writer made the edition that identifies the book from the record; its part of
        // the export completes it.
        batch::add_parts(unit, written.book_id, written.edition_id, &row.parts).await?;
        Ok(())
    }
}

fn fields(edition: &ExportedEdition) -> EditionFields {
    EditionFields {
        format: edition.format,
        isbn: edition.isbn.clone(),
        catalog_number: edition.catalog_number.clone(),
        publisher: edition.publisher.clone(),
        release_date: edition.release_date,
        language: edition.language.clone(),
        pages: edition.pages,
        duration_seconds: edition.duration_seconds,
        price_minor: edition.price_minor,
        currency: edition.currency.clone(),
        access: edition.access,
        title: edition.title.clone(),
        subtitle: edition.subtitle.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Line = Result<String, (csv::ByteRecord, String)>;

    /// Each row of a file holding `bytes`: a book's title, or a rejected row's field and reason;
    /// and the position after the last.
    fn rows(bytes: &[u8]) -> Result<(Vec<Line>, u64), String> {
        let dir = tempfile::tempdir().expect("a folder");
        let path = dir.path().join("catalog.json");
        std::fs::write(&path, bytes).expect("written");
        let (mut lines, total_bytes) = Lines::open(&path).map_err(|e| e.to_string())?;
        assert_eq!(total_bytes, bytes.len() as u64);
        let mut rows = vec![];
        while let Some(line) = lines.next_line().expect("read") {
            if let Some(parsed) = read_line(line) {
                rows.push(
                    parsed
                        .map(|row| row.record.title.clone())
                        .map_err(|rejected| (rejected.fields, rejected.reason)),
                );
            }
        }
        Ok((rows, lines.position))
    }

    #[test]
    fn a_line_that_is_not_utf8_is_rejected_as_read_and_the_rest_read_on() {
        // A byte order mark, CRLF, indents, a blank line; the Latin-1 é is the bad line's 16th
        // byte, and that line is kept with its tab and comma (not its CRLF).
        let bytes = b"\xEF\xBB\xBF[\r\n  {\"title\": \"Emma\", \"authors\": [\"Jane Austen\"]},\r\n\
            \t{\"title\": \"Caf\xE9\"},\r\n\n{\"title\": \"Beloved\", \"authors\": [\"Toni Morrison\"]}\
            \r\n]\r\n";
        let (rows, position) = rows(bytes).expect("opened");
        assert_eq!(
            rows,
            vec![
                Ok("Emma".to_string()),
                Err((
                    csv::ByteRecord::from(vec![&b"\t{\"title\": \"Caf\xE9\"},"[..]]),
                    "invalid UTF-8 at byte offset 15 of the line".to_string()
                )),
                Ok("Beloved".to_string()),
            ]
        );
        assert_eq!(position, bytes.len() as u64);
    }

    #[test]
    fn an_empty_file_says_so() {
        for bytes in [
            &b""[..],
            b"\n\n",
            b" \r\n\t\n",
            b"\xEF\xBB\xBF",
            b"\xEF\xBB\xBF\n",
        ] {
            let error = rows(bytes).expect_err("an empty file");
            assert!(
                error.starts_with("the file is not a folio catalog export: "),
                "{error}"
            );
            assert!(error.ends_with("catalog.json is an empty file"), "{error}");
        }
        let (rows, _) = rows(b"\n[\n]\n").expect("an empty catalog is not an empty file");
        assert_eq!(rows, vec![]);
    }
}
