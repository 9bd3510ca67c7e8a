//! `folio seed --books N`: a large catalog for benchmarks, from real rows repeated.
//!
//! The rows of a goodbooks file are written in order, then again with " (2)" after the title,
//! then " (3)", until there are N books. Copies carry no ISBN (an ISBN names one edition; it is
//! never invented), keep their real authors, and every book gets a priced ebook edition, so the
//! store has something to sell, and a category from a small tree. Run again, it matches what
//! is there and adds nothing: seeding to a larger N adds only the difference.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use super::{BookRecord, CatalogWriter, EditionRecord, ImportError, Outcome, Summary};
use crate::db::Database;
use crate::entity::enums::{EditionAccess, EditionFormat};
use crate::service::catalog::editions::{self, EditionFields};
use crate::service::catalog::{batch, categories};
use crate::service::validate::Checked;

/// The category tree seeded books are filed under: (name, slug, parent slug).
const CATEGORIES: &[(&str, &str, Option<&str>)] = &[
    ("Fiction", "fiction", None),
    ("Fantasy", "fantasy", Some("fiction")),
    ("Science Fiction", "science-fiction", Some("fiction")),
    ("Mystery", "mystery", Some("fiction")),
    ("Romance", "romance", Some("fiction")),
    ("Historical Fiction", "historical-fiction", Some("fiction")),
    ("Non-fiction", "non-fiction", None),
    ("Biography", "biography", Some("non-fiction")),
    ("History", "history", Some("non-fiction")),
    ("Science", "science", Some("non-fiction")),
    ("Children's Books", "childrens-books", None),
];

pub async fn seed(
    db: &Database,
    source: &Path,
    books: u64,
    batch_size: usize,
) -> Result<Summary, ImportError> {
    let base = super::goodbooks::read_records(source)?;
    if base.is_empty() {
        return Err(ImportError::Format {
            format: "goodbooks-10k books.csv",
            message: "no usable rows to seed from".into(),
        });
    }
    let categories = ensure_categories(db).await?;
    let mut writer = CatalogWriter::load(db).await?;
    let bar = std::io::stderr().is_terminal().then(|| {
        ProgressBar::new(books).with_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} books ({eta} left)")
                .expect("a valid template"),
        )
    });
    let started = Instant::now();
    let mut summary = Summary::default();
    let mut next = 0u64;
    while next < books {
        let end = (next + batch_size as u64).min(books);
        let records = (next..end)
            .map(|i| variant(&base, i))
            .collect::<Result<Vec<_>, _>>()?;
        let unit = db.begin().await?;
        let written = writer
            .write_batch(&unit, &records.iter().collect::<Vec<_>>())
            .await?;
        let mut ebooks = vec![];
        let mut filed = vec![];
        for ((i, record), written) in (next..end).zip(&records).zip(&written) {
            summary.read += 1;
            match written.outcome {
                Outcome::Matched => summary.matched += 1,
                Outcome::Created => {
                    summary.created += 1;
                    ebooks.push((written.book_id, ebook(record, 299 + (i % 20) as i64 * 100)?));
                    let category = categories[(i % categories.len() as u64) as usize];
                    filed.push((written.book_id, category));
                }
            }
        }
        batch::add_editions(&unit, ebooks).await?;
        batch::file_books(&unit, &filed).await?;
        unit.commit().await?;
        next = end;
        match &bar {
            Some(bar) => bar.set_position(next),
            None if next.is_multiple_of(batch_size as u64 * 20) => {
                tracing::info!(
                    books = next,
                    seconds = started.elapsed().as_secs(),
                    "seeding"
                );
            }
            None => {}
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    super::settle(db).await?;
    Ok(summary)
}

/// The i-th book: the base rows in order, then copies with the title suffixed. A copy is
/// checked again: its title is longer than the row it copies.
fn variant(base: &[Checked<BookRecord>], i: u64) -> Result<Checked<BookRecord>, ImportError> {
    let copy = i / base.len() as u64;
    let original = &base[(i % base.len() as u64) as usize];
    if copy == 0 {
        return Ok(original.clone());
    }
    let mut record = (**original).clone();
    record.title = format!("{} ({})", record.title, copy + 1);
    record.edition = record.edition.map(|edition| EditionRecord {
        isbn: None,
        ..edition
    });
    super::checked(record).map_err(|reason| ImportError::Format {
        format: "goodbooks-10k books.csv",
        message: format!("copy {} of '{}': {reason}", copy + 1, original.title),
    })
}

/// A priced ebook of the book, as the store sells it.
fn ebook(record: &BookRecord, price_minor: i64) -> Result<Checked<EditionFields>, ImportError> {
    let fields = EditionFields {
        format: EditionFormat::Ebook,
        isbn: None,
        catalog_number: None,
        publisher: None,
        release_date: None,
        language: record.language.clone(),
        pages: None,
        duration_seconds: None,
        price_minor: Some(price_minor),
        currency: Some("EUR".into()),
        access: EditionAccess::default(),
        title: None,
        subtitle: None,
    };
    Ok(editions::checked(fields)?)
}

/// The category tree, created where missing; the ids books are filed under.
async fn ensure_categories(db: &Database) -> Result<Vec<i64>, ImportError> {
    let unit = db.begin().await?;
    let mut ids: Vec<(&str, i64)> = vec![];
    for (name, slug, parent) in CATEGORIES {
        let parent_id = parent.and_then(|p| ids.iter().find(|(s, _)| s == &p).map(|(_, id)| *id));
        let category = categories::checked(name.to_string(), slug.to_string())?;
        let id = batch::ensure_category(&unit, &category, parent_id).await?;
        ids.push((slug, id));
    }
    unit.commit().await?;
    Ok(ids.into_iter().map(|(_, id)| id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_are_suffixed_and_carry_no_isbn() {
        let base = vec![
            super::super::checked(BookRecord {
                title: "Dune".into(),
                subtitle: None,
                description: None,
                authors: vec!["Frank Herbert".into()],
                original_year: Some(1965),
                language: Some("en".into()),
                series: None,
                series_number: None,
                popularity_prior: 0,
                edition: Some(EditionRecord {
                    format: EditionFormat::Print,
                    isbn: Some("9780441013593".into()),
                    catalog_number: None,
                    publisher: None,
                    pages: None,
                    title: None,
                }),
            })
            .expect("checked"),
        ];
        assert_eq!(variant(&base, 0).expect("checked"), base[0]);
        let copy = variant(&base, 2).expect("checked").into_inner();
        assert_eq!(copy.title, "Dune (3)");
        assert_eq!(copy.edition.unwrap().isbn, None);
        assert_eq!(copy.authors, base[0].authors);
    }
}
