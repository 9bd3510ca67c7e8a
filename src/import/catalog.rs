//! Writing imported records into the catalog: matching first, creating what is new.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, FromQueryResult, Statement};

use super::{BookRecord, EditionRecord};
use crate::db::{Database, DbError};
use crate::entity::enums::EditionFormat;
use crate::repo;
use crate::repo::book::BookFields;
use crate::repo::edition::EditionFields;
use crate::text;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Matched,
}

/// What became of a record: whether its book was created or matched, and which book and
/// edition it now is in the catalog, so that an importer can write what belongs to them
/// (a reader's rating, their progress).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub outcome: Outcome,
    pub book_id: i64,
    /// The record's edition as the catalog has it: the one its ISBN (or, for a record, its
    /// catalog number and label) matched, or the one just created. `None` when the record
    /// names no edition, or names one without either on a book that was matched: such an
    /// edition is not added, because a second run could not recognise it and would add it
    /// again.
    pub edition_id: Option<i64>,
}

/// How an edition is recognised on a second run. Books have ISBNs; records have none, but a
/// label's catalog number names a pressing ("SHVL 804" on Harvest), so a vinyl edition is
/// known by the two together. Both parts are folded, so "SHVL-804" and "shvl 804" are one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum EditionKey {
    Isbn(String),
    CatalogNumber { number: String, label: String },
}

impl EditionKey {
    fn of(
        format: EditionFormat,
        isbn: Option<&str>,
        catalog_number: Option<&str>,
        publisher: Option<&str>,
    ) -> Option<Self> {
        if let Some(isbn) = isbn {
            return Some(Self::Isbn(isbn.to_string()));
        }
        if format != EditionFormat::Vinyl {
            return None;
        }
        let number = text::fold(catalog_number?);
        if number.is_empty() {
            return None;
        }
        Some(Self::CatalogNumber {
            number,
            label: text::fold(publisher.unwrap_or_default()),
        })
    }

    fn of_record(edition: &EditionRecord) -> Option<Self> {
        Self::of(
            edition.format,
            edition.isbn.as_deref(),
            edition.catalog_number.as_deref(),
            edition.publisher.as_deref(),
        )
    }
}

/// The catalog as an import sees it: what can be matched, held in memory so that matching a
/// million rows costs no query per row. Loaded once; kept up to date as rows are written.
pub struct CatalogWriter {
    /// (book id, edition id) of every edition that can be recognised.
    editions: HashMap<EditionKey, (i64, i64)>,
    by_title_and_author: HashMap<(String, String), i64>,
    authors: HashMap<String, i64>,
}

#[derive(FromQueryResult)]
struct IdName {
    id: i64,
    name: String,
}

#[derive(FromQueryResult)]
struct KnownEdition {
    id: i64,
    book_id: i64,
    format: EditionFormat,
    isbn: Option<String>,
    catalog_number: Option<String>,
    publisher: Option<String>,
}

#[derive(FromQueryResult)]
struct TitleAuthor {
    id: i64,
    title_folded: String,
    name_folded: String,
}

fn raw(db: &Database, sql: &str) -> Statement {
    Statement::from_string(db.backend(), sql)
}

impl CatalogWriter {
    pub async fn load(db: &Database) -> Result<Self, DbError> {
        let conn = db.reader();
        let authors = IdName::find_by_statement(raw(db, "SELECT id, name FROM author"))
            .all(conn)
            .await?;
        let editions = KnownEdition::find_by_statement(raw(
            db,
            "SELECT id, book_id, format, isbn, catalog_number, publisher FROM edition \
             WHERE isbn IS NOT NULL OR (format = 'vinyl' AND catalog_number IS NOT NULL)",
        ))
        .all(conn)
        .await?;
        let titles = TitleAuthor::find_by_statement(raw(
            db,
            "SELECT b.id, b.title_folded, a.name_folded FROM book b \
             JOIN book_author ba ON ba.book_id = b.id AND ba.position = 0 \
             JOIN author a ON a.id = ba.author_id",
        ))
        .all(conn)
        .await?;
        Ok(Self {
            authors: authors.into_iter().map(|a| (a.name, a.id)).collect(),
            editions: editions
                .into_iter()
                .filter_map(|e| {
                    let key = EditionKey::of(
                        e.format,
                        e.isbn.as_deref(),
                        e.catalog_number.as_deref(),
                        e.publisher.as_deref(),
                    )?;
                    Some((key, (e.book_id, e.id)))
                })
                .collect(),
            by_title_and_author: titles
                .into_iter()
                .map(|t| ((t.title_folded, t.name_folded), t.id))
                .collect(),
        })
    }

    /// Matches the record by its edition (ISBN, or catalog number and label for a record),
    /// else by folded title and first author; creates the book (with its authors, edition and
    /// search entry) when nothing matches. A matched book gains the record's edition when that
    /// edition can be recognised and is new.
    pub async fn write(
        &mut self,
        conn: &impl ConnectionTrait,
        record: &BookRecord,
    ) -> Result<Written, DbError> {
        let edition_key = record.edition.as_ref().and_then(EditionKey::of_record);
        if let Some(&(book_id, edition_id)) =
            edition_key.as_ref().and_then(|key| self.editions.get(key))
        {
            return Ok(Written {
                outcome: Outcome::Matched,
                book_id,
                edition_id: Some(edition_id),
            });
        }
        let key = (
            text::fold(&record.title),
            text::fold(
                record
                    .authors
                    .first()
                    .map(String::as_str)
                    .unwrap_or_default(),
            ),
        );
        if let Some(&book_id) = self.by_title_and_author.get(&key) {
            let edition_id = if edition_key.is_some() {
                self.add_edition(conn, book_id, record).await?
            } else {
                None
            };
            return Ok(Written {
                outcome: Outcome::Matched,
                book_id,
                edition_id,
            });
        }

        let mut author_ids = Vec::with_capacity(record.authors.len());
        for name in &record.authors {
            let id = match self.authors.get(name) {
                Some(id) => *id,
                None => {
                    let author = repo::author::insert(conn, name.clone(), None).await?;
                    self.authors.insert(name.clone(), author.id);
                    author.id
                }
            };
            if !author_ids.contains(&id) {
                author_ids.push(id);
            }
        }
        let book = repo::book::insert(
            conn,
            BookFields {
                title: record.title.clone(),
                subtitle: record.subtitle.clone(),
                description: record.description.clone(),
                original_year: record.original_year,
                language: record.language.clone(),
            },
        )
        .await?;
        repo::book::set_authors(conn, book.id, &author_ids).await?;
        let edition_id = self.add_edition(conn, book.id, record).await?;
        let entry = repo::search::Entry {
            title: &record.title,
            subtitle: record.subtitle.as_deref(),
            authors: &record.authors,
            description: record.description.as_deref(),
        };
        repo::search::insert(conn, book.id, entry).await?;
        self.by_title_and_author.insert(key, book.id);
        Ok(Written {
            outcome: Outcome::Created,
            book_id: book.id,
            edition_id,
        })
    }

    /// Adds the record's edition, if it names one, to the book; returns its id.
    async fn add_edition(
        &mut self,
        conn: &impl ConnectionTrait,
        book_id: i64,
        record: &BookRecord,
    ) -> Result<Option<i64>, DbError> {
        let Some(edition) = &record.edition else {
            return Ok(None);
        };
        let created = repo::edition::insert(
            conn,
            book_id,
            EditionFields {
                format: edition.format,
                isbn: edition.isbn.clone(),
                catalog_number: edition.catalog_number.clone(),
                publisher: edition.publisher.clone(),
                release_date: None,
                language: record.language.clone(),
                pages: edition.pages,
                duration_seconds: None,
                price_minor: None,
                currency: None,
            },
        )
        .await?;
        if let Some(key) = EditionKey::of_record(edition) {
            self.editions.insert(key, (book_id, created.id));
        }
        Ok(Some(created.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editions_are_recognised_by_isbn_else_a_records_catalog_number_and_label() {
        let vinyl = |number, label| EditionKey::of(EditionFormat::Vinyl, None, number, label);
        assert_eq!(
            vinyl(Some("SHVL-804"), Some("Harvest")),
            vinyl(Some("shvl 804"), Some("HARVEST")),
            "folded"
        );
        assert_ne!(
            vinyl(Some("SHVL 804"), Some("Harvest")),
            vinyl(Some("SHVL 804"), Some("Capitol"))
        );
        assert_eq!(
            vinyl(Some("SHVL 804"), None),
            Some(EditionKey::CatalogNumber {
                number: "shvl 804".into(),
                label: String::new()
            })
        );
        assert_eq!(
            vinyl(None, Some("Harvest")),
            None,
            "a label alone names no pressing"
        );
        assert_eq!(vinyl(Some(" - "), Some("Harvest")), None);
        assert_eq!(
            EditionKey::of(
                EditionFormat::Print,
                None,
                Some("SHVL 804"),
                Some("Harvest")
            ),
            None,
            "only records are known by catalog number"
        );
        assert_eq!(
            EditionKey::of(
                EditionFormat::Vinyl,
                Some("9780439023481"),
                Some("X 1"),
                None
            ),
            Some(EditionKey::Isbn("9780439023481".into()))
        );
    }
}
