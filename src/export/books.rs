//! The catalog: one entry per book with its authors, categories and editions.

use std::collections::HashMap;
use std::io::Write;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;

use super::{BATCH, ExportError};
use crate::db::Database;
use crate::entity::{book, edition_file};
use crate::repo::book_view::{self, BookView};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BookFormat {
    /// One row per edition (a book without editions gets one row with empty edition columns)
    Csv,
    /// A JSON array of books, each with its authors, categories and editions
    Json,
}

#[derive(Serialize)]
struct ExportedBook<'a> {
    id: i64,
    title: &'a str,
    subtitle: Option<&'a str>,
    description: Option<&'a str>,
    original_year: Option<i32>,
    language: Option<&'a str>,
    series: Option<&'a str>,
    series_number: Option<f64>,
    /// Ratings counted by another catalog, as an import brought them.
    popularity_prior: i64,
    authors: Vec<&'a str>,
    categories: Vec<ExportedCategory<'a>>,
    editions: Vec<ExportedEdition<'a>>,
    /// The cover's SHA-256 (the bytes are in the storage, not the export).
    cover_sha256: Option<&'a str>,
}

/// A file's metadata and hash; the bytes stay in the storage (`folio storage check` verifies
/// them against these hashes).
#[derive(Serialize)]
struct ExportedFile<'a> {
    position: i32,
    name: &'a str,
    media_type: &'a str,
    size: i64,
    sha256: &'a str,
    duration_seconds: Option<f64>,
}

#[derive(Serialize)]
struct ExportedCategory<'a> {
    name: &'a str,
    slug: &'a str,
}

#[derive(Serialize)]
struct ExportedEdition<'a> {
    format: crate::entity::enums::EditionFormat,
    title: Option<&'a str>,
    subtitle: Option<&'a str>,
    isbn: Option<&'a str>,
    catalog_number: Option<&'a str>,
    publisher: Option<&'a str>,
    release_date: Option<chrono::NaiveDate>,
    language: Option<&'a str>,
    pages: Option<i32>,
    duration_seconds: Option<i64>,
    price_minor: Option<i64>,
    currency: Option<&'a str>,
    access: crate::entity::enums::EditionAccess,
    contributors: Vec<ExportedContributor<'a>>,
    files: Vec<ExportedFile<'a>>,
}

#[derive(Serialize)]
struct ExportedContributor<'a> {
    name: &'a str,
    role: crate::entity::enums::ContributorRole,
}

fn exported<'a>(view: &'a BookView, files: &'a Files) -> ExportedBook<'a> {
    let b = &view.book;
    ExportedBook {
        id: b.id,
        title: &b.title,
        subtitle: b.subtitle.as_deref(),
        description: b.description.as_deref(),
        original_year: b.original_year,
        language: b.language.as_deref(),
        series: b.series.as_deref(),
        series_number: b.series_number,
        popularity_prior: b.popularity_prior,
        authors: view.authors.iter().map(|a| a.name.as_str()).collect(),
        categories: view
            .categories
            .iter()
            .map(|c| ExportedCategory {
                name: &c.name,
                slug: &c.slug,
            })
            .collect(),
        editions: view
            .editions
            .iter()
            .map(|e| {
                let ed = &e.edition;
                ExportedEdition {
                    format: ed.format,
                    title: ed.title.as_deref(),
                    subtitle: ed.subtitle.as_deref(),
                    isbn: ed.isbn.as_deref(),
                    catalog_number: ed.catalog_number.as_deref(),
                    publisher: ed.publisher.as_deref(),
                    release_date: ed.release_date,
                    language: ed.language.as_deref(),
                    pages: ed.pages,
                    duration_seconds: ed.duration_seconds,
                    price_minor: ed.price_minor,
                    currency: ed.currency.as_deref(),
                    access: ed.access,
                    contributors: e
                        .contributors
                        .iter()
                        .map(|c| ExportedContributor {
                            name: &c.name,
                            role: c.role,
                        })
                        .collect(),
                    files: files
                        .get(&ed.id)
                        .into_iter()
                        .flatten()
                        .map(|f| ExportedFile {
                            position: f.position,
                            name: &f.name,
                            media_type: &f.media_type,
                            size: f.size,
                            sha256: &f.sha256,
                            duration_seconds: f.duration_seconds,
                        })
                        .collect(),
                }
            })
            .collect(),
        cover_sha256: view.cover.as_ref().map(|c| c.sha256.as_str()),
    }
}

/// A batch's editions' files, by edition id.
type Files = HashMap<i64, Vec<edition_file::Model>>;

const CSV_HEADER: [&str; 21] = [
    "book_id",
    "title",
    "subtitle",
    "original_year",
    "language",
    "series",
    "series_number",
    "authors",
    "categories",
    "description",
    "format",
    "edition_title",
    "edition_subtitle",
    "isbn",
    "catalog_number",
    "publisher",
    "release_date",
    "pages",
    "duration_seconds",
    "price_minor",
    "currency",
];

/// Writes the whole catalog to `out`; returns the number of books.
pub async fn books(
    db: &Database,
    format: BookFormat,
    out: &mut impl Write,
) -> Result<u64, ExportError> {
    let mut batches = Batches { db, after: 0 };
    let mut count = 0u64;
    match format {
        BookFormat::Csv => {
            let mut writer = csv::Writer::from_writer(&mut *out);
            writer.write_record(CSV_HEADER)?;
            while let Some((views, _)) = batches.next().await? {
                for view in &views {
                    write_csv_rows(&mut writer, view)?;
                    count += 1;
                }
            }
            writer.flush()?;
        }
        BookFormat::Json => {
            out.write_all(b"[")?;
            while let Some((views, files)) = batches.next().await? {
                for view in &views {
                    out.write_all(if count == 0 { b"\n" } else { b",\n" })?;
                    serde_json::to_writer(&mut *out, &exported(view, &files))
                        .map_err(std::io::Error::from)?;
                    count += 1;
                }
            }
            out.write_all(b"\n]\n")?;
        }
    }
    out.flush()?;
    Ok(count)
}

/// The catalog a batch at a time, by id: each batch is one page query and the four loads.
struct Batches<'a> {
    db: &'a Database,
    after: i64,
}

impl Batches<'_> {
    async fn next(&mut self) -> Result<Option<(Vec<BookView>, Files)>, ExportError> {
        let page = book::Entity::find()
            .filter(book::Column::Id.gt(self.after))
            .order_by_asc(book::Column::Id)
            .limit(BATCH)
            .all(self.db.reader())
            .await
            .map_err(crate::db::DbError::from)?;
        let Some(last) = page.last() else {
            return Ok(None);
        };
        self.after = last.id;
        let views = book_view::load(self.db.reader(), page).await?;
        let edition_ids: Vec<i64> = views
            .iter()
            .flat_map(|v| v.editions.iter().map(|e| e.edition.id))
            .collect();
        let mut files = Files::new();
        for file in crate::repo::file::of_editions(self.db.reader(), &edition_ids).await? {
            files.entry(file.edition_id).or_default().push(file);
        }
        Ok(Some((views, files)))
    }
}

fn write_csv_rows<W: Write>(
    writer: &mut csv::Writer<W>,
    view: &BookView,
) -> Result<(), ExportError> {
    let b = &view.book;
    let text = |v: Option<&str>| v.unwrap_or("").to_string();
    let number = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    let book_columns = [
        b.id.to_string(),
        b.title.clone(),
        text(b.subtitle.as_deref()),
        number(b.original_year.map(i64::from)),
        text(b.language.as_deref()),
        text(b.series.as_deref()),
        b.series_number.map(|n| n.to_string()).unwrap_or_default(),
        view.authors
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        view.categories
            .iter()
            .map(|c| c.slug.as_str())
            .collect::<Vec<_>>()
            .join("|"),
        text(b.description.as_deref()),
    ];
    if view.editions.is_empty() {
        let mut row = book_columns.to_vec();
        row.extend(std::iter::repeat_n(String::new(), 11));
        writer.write_record(&row)?;
    }
    for e in &view.editions {
        let ed = &e.edition;
        let mut row = book_columns.to_vec();
        row.extend([
            serde_json::to_value(ed.format)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            text(ed.title.as_deref()),
            text(ed.subtitle.as_deref()),
            text(ed.isbn.as_deref()),
            text(ed.catalog_number.as_deref()),
            text(ed.publisher.as_deref()),
            ed.release_date.map(|d| d.to_string()).unwrap_or_default(),
            number(ed.pages.map(i64::from)),
            number(ed.duration_seconds),
            number(ed.price_minor),
            text(ed.currency.as_deref()),
        ]);
        writer.write_record(&row)?;
    }
    Ok(())
}
