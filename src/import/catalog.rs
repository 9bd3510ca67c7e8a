//! Writing imported records into the catalog: matching first, creating what is new.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, FromQueryResult, Statement};

use super::BookRecord;
use crate::db::{Database, DbError, UnitOfWork};
use crate::repo;
use crate::repo::book::BookFields;
use crate::repo::edition::EditionFields;
use crate::text;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Matched,
}

/// The catalog as an import sees it: what can be matched, held in memory so that matching a
/// million rows costs no query per row. Loaded once; kept up to date as rows are written.
pub struct CatalogWriter {
    by_isbn: HashMap<String, i64>,
    by_title_and_author: HashMap<(String, String), i64>,
    authors: HashMap<String, i64>,
}

#[derive(FromQueryResult)]
struct IdName {
    id: i64,
    name: String,
}

#[derive(FromQueryResult)]
struct IsbnBook {
    isbn: String,
    book_id: i64,
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
        let isbns = IsbnBook::find_by_statement(raw(
            db,
            "SELECT isbn, book_id FROM edition WHERE isbn IS NOT NULL",
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
            by_isbn: isbns.into_iter().map(|i| (i.isbn, i.book_id)).collect(),
            by_title_and_author: titles
                .into_iter()
                .map(|t| ((t.title_folded, t.name_folded), t.id))
                .collect(),
        })
    }

    pub async fn write_all(
        &mut self,
        unit: &UnitOfWork,
        records: &[BookRecord],
    ) -> Result<Vec<Outcome>, DbError> {
        let mut outcomes = Vec::with_capacity(records.len());
        for record in records {
            outcomes.push(self.write(&**unit, record).await?);
        }
        Ok(outcomes)
    }

    /// Matches the record by ISBN, else by folded title and first author; creates the book
    /// (with its authors, edition and search entry) when nothing matches. A matched book
    /// gains the record's edition when that edition's ISBN is new.
    pub async fn write(
        &mut self,
        conn: &impl ConnectionTrait,
        record: &BookRecord,
    ) -> Result<Outcome, DbError> {
        let isbn = record.edition.as_ref().and_then(|e| e.isbn.clone());
        if isbn
            .as_ref()
            .is_some_and(|isbn| self.by_isbn.contains_key(isbn))
        {
            return Ok(Outcome::Matched);
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
            if isbn.is_some() {
                self.add_edition(conn, book_id, record).await?;
            }
            return Ok(Outcome::Matched);
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
        self.add_edition(conn, book.id, record).await?;
        let entry = repo::search::Entry {
            title: &record.title,
            subtitle: record.subtitle.as_deref(),
            authors: &record.authors,
            description: record.description.as_deref(),
        };
        repo::search::insert(conn, book.id, entry).await?;
        self.by_title_and_author.insert(key, book.id);
        Ok(Outcome::Created)
    }

    async fn add_edition(
        &mut self,
        conn: &impl ConnectionTrait,
        book_id: i64,
        record: &BookRecord,
    ) -> Result<(), DbError> {
        let Some(edition) = &record.edition else {
            return Ok(());
        };
        repo::edition::insert(
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
        if let Some(isbn) = &edition.isbn {
            self.by_isbn.insert(isbn.clone(), book_id);
        }
        Ok(())
    }
}
