//! `folio import catalog FILE`: folio's own JSON export (`folio export books --format json`),
//! so a catalog can move between servers or backends, or be restored.
//!
//! The export holds one book per line inside a JSON array, which lets this read it a line at a
//! time in constant memory. Each book is matched like any import (ISBN of its first edition,
//! else folded title and first author); a new book gets all its editions (prices, contributors
//! and all) and its categories by slug. Category parents are not in the export, so categories
//! come back flat.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use sea_orm::ConnectionTrait;
use serde::Deserialize;

use super::{
    AfterWrite, BookRecord, EditionRecord, ImportError, ImportOptions, Outcome, ReadRow, Rejected,
    Row, Summary, Written,
};
use crate::db::{Database, DbError};
use crate::entity::enums::{ContributorRole, EditionFormat};
use crate::repo;
use crate::repo::edition::EditionFields;

#[derive(Debug, Clone, Deserialize)]
struct ExportedBook {
    title: String,
    subtitle: Option<String>,
    description: Option<String>,
    original_year: Option<i32>,
    language: Option<String>,
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
    isbn: Option<String>,
    catalog_number: Option<String>,
    publisher: Option<String>,
    release_date: Option<chrono::NaiveDate>,
    language: Option<String>,
    pages: Option<i32>,
    duration_seconds: Option<i64>,
    price_minor: Option<i64>,
    currency: Option<String>,
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
    record: BookRecord,
    book: ExportedBook,
}

impl Row for CatalogRow {
    fn book(&self) -> &BookRecord {
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
        });
    let record = BookRecord {
        title: book.title.clone(),
        subtitle: book.subtitle.clone(),
        description: book.description.clone(),
        authors,
        original_year: book.original_year,
        language: book.language.clone(),
        edition,
    };
    Ok(CatalogRow { record, book })
}

pub async fn import(
    db: &Database,
    path: &Path,
    options: ImportOptions,
) -> Result<Summary, ImportError> {
    let input = path.to_path_buf();
    let read_error = move |e: &dyn std::fmt::Display| ImportError::Read {
        path: input.clone(),
        message: e.to_string(),
    };
    let file = File::open(path).map_err(|e| read_error(&e))?;
    let total_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut position = 0u64;
    let lines = BufReader::new(file).lines().filter_map(move |line| {
        let line = match line {
            Ok(line) => line,
            Err(e) => return Some(Err(read_error(&e))),
        };
        position += line.len() as u64 + 1;
        let entry = line.trim().trim_end_matches(',');
        if entry.is_empty() || entry == "[" || entry == "]" {
            return None;
        }
        let parsed = parse(entry).map_err(|reason| Rejected {
            fields: csv::ByteRecord::from(vec![entry]),
            reason,
        });
        Some(Ok(ReadRow { position, parsed }))
    });
    let headers = csv::StringRecord::from(vec!["book"]);
    super::run(
        db,
        path,
        headers,
        lines,
        total_bytes,
        options,
        &mut NewBookParts,
    )
    .await
}

/// Writes a new book's editions and categories; a matched book is left as the catalog has it.
struct NewBookParts;

impl AfterWrite<CatalogRow> for NewBookParts {
    async fn after_write(
        &mut self,
        conn: &impl ConnectionTrait,
        row: &CatalogRow,
        written: &Written,
    ) -> Result<(), DbError> {
        if written.outcome != Outcome::Created {
            return Ok(());
        }
        for edition in &row.book.editions {
            // The writer already created the edition that identifies the book.
            if written.edition_id.is_some()
                && edition.isbn.is_some()
                && edition.isbn == row.record.edition.as_ref().and_then(|e| e.isbn.clone())
            {
                if let Some(id) = written.edition_id {
                    complete_edition(conn, id, edition).await?;
                }
                continue;
            }
            let created = repo::edition::insert(conn, written.book_id, fields(edition)).await?;
            set_contributors(conn, created.id, &edition.contributors).await?;
        }
        let mut category_ids = vec![];
        for category in &row.book.categories {
            let id = match repo::category::find_by_slug(conn, &category.slug).await? {
                Some(existing) => existing.id,
                None => {
                    repo::category::insert(conn, category.name.clone(), category.slug.clone(), None)
                        .await?
                        .id
                }
            };
            category_ids.push(id);
        }
        repo::book::set_categories(conn, written.book_id, &category_ids).await
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
    }
}

/// The identifying edition was created with the ISBN only; give it the rest.
async fn complete_edition(
    conn: &impl ConnectionTrait,
    id: i64,
    edition: &ExportedEdition,
) -> Result<(), DbError> {
    if let Some(existing) = repo::edition::find(conn, id).await? {
        repo::edition::update(conn, existing, fields(edition)).await?;
    }
    set_contributors(conn, id, &edition.contributors).await
}

async fn set_contributors(
    conn: &impl ConnectionTrait,
    edition_id: i64,
    contributors: &[ExportedContributor],
) -> Result<(), DbError> {
    let mut pairs = vec![];
    for contributor in contributors {
        let author = match repo::author::find_by_name(conn, &contributor.name).await? {
            Some(author) => author,
            None => repo::author::insert(conn, contributor.name.clone(), None).await?,
        };
        if !pairs.contains(&(author.id, contributor.role)) {
            pairs.push((author.id, contributor.role));
        }
    }
    repo::edition::set_contributors(conn, edition_id, &pairs).await
}
