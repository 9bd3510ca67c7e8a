//! Writing imported records into the catalog: matching first, creating what is new.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, FromQueryResult, Set, Statement};

use super::{BookRecord, EditionRecord};
use crate::db::{Database, DbError};
use crate::entity::book_author;
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

    /// Matches each record by its edition (ISBN, or catalog number and label for a record),
    /// else by folded title and first author, against the catalog and the batch's earlier
    /// records; creates the book (with its authors, edition and search entry) when nothing
    /// matches. A matched book gains the record's edition when that edition can be recognised
    /// and is new.
    ///
    /// Matching happens in memory; what is new is then written table by table in multi-row
    /// statements with ids taken up front, so a batch costs a handful of statements however
    /// many rows it has.
    pub async fn write_batch(
        &mut self,
        conn: &impl ConnectionTrait,
        records: &[&BookRecord],
    ) -> Result<Vec<Written>, DbError> {
        let mut plan = Plan::default();
        let placed: Vec<Placed> = records
            .iter()
            .map(|record| self.place(&mut plan, record))
            .collect();
        let ids = plan.write(conn).await?;

        for (name, author) in plan.author_names {
            if let Ref::New(slot) = author {
                self.authors.insert(name.to_string(), ids.authors[slot]);
            }
        }
        for (key, book) in plan.titles {
            self.by_title_and_author.insert(key, ids.book(book));
        }
        for (key, (book, edition)) in plan.edition_keys {
            self.editions
                .insert(key, (ids.book(book), ids.edition(edition)));
        }
        Ok(placed
            .into_iter()
            .map(|placed| Written {
                outcome: placed.outcome,
                book_id: ids.book(placed.book),
                edition_id: placed.edition.map(|edition| ids.edition(edition)),
            })
            .collect())
    }

    /// Decides what becomes of one record: which stored or planned book and edition it is.
    fn place<'r>(&self, plan: &mut Plan<'r>, record: &'r BookRecord) -> Placed {
        let edition_key = record.edition.as_ref().and_then(EditionKey::of_record);
        if let Some(key) = &edition_key {
            let known = self
                .editions
                .get(key)
                .map(|&(book, edition)| (Ref::Stored(book), Ref::Stored(edition)))
                .or_else(|| plan.edition_keys.get(key).copied());
            if let Some((book, edition)) = known {
                return Placed {
                    outcome: Outcome::Matched,
                    book,
                    edition: Some(edition),
                };
            }
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
        let known = self
            .by_title_and_author
            .get(&key)
            .map(|&book| Ref::Stored(book))
            .or_else(|| plan.titles.get(&key).copied());
        if let Some(book) = known {
            // An edition that cannot be recognised is not added to a matched book: a second
            // run could not tell it is there and would add it again.
            let edition = match (&record.edition, edition_key) {
                (Some(edition), Some(key)) => {
                    Some(plan.add_edition(book, edition, record, Some(key)))
                }
                _ => None,
            };
            return Placed {
                outcome: Outcome::Matched,
                book,
                edition,
            };
        }

        let mut authors = Vec::with_capacity(record.authors.len());
        for name in &record.authors {
            let author = self
                .authors
                .get(name)
                .map(|&id| Ref::Stored(id))
                .unwrap_or_else(|| plan.author(name));
            if !authors.contains(&author) {
                authors.push(author);
            }
        }
        let book = Ref::New(plan.books.len());
        plan.books.push(NewBook { record, authors });
        plan.titles.insert(key, book);
        let edition = record
            .edition
            .as_ref()
            .map(|edition| plan.add_edition(book, edition, record, edition_key));
        Placed {
            outcome: Outcome::Created,
            book,
            edition,
        }
    }
}

/// A row that is in the catalog already, or the n-th of its kind that the batch adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ref {
    Stored(i64),
    New(usize),
}

struct Placed {
    outcome: Outcome,
    book: Ref,
    edition: Option<Ref>,
}

struct NewBook<'r> {
    record: &'r BookRecord,
    authors: Vec<Ref>,
}

struct NewEdition<'r> {
    book: Ref,
    edition: &'r EditionRecord,
    /// The book record's language, which its edition shares.
    language: &'r Option<String>,
}

/// What a batch adds, and how its records find what an earlier record of the same batch
/// added.
#[derive(Default)]
struct Plan<'r> {
    authors: Vec<&'r str>,
    books: Vec<NewBook<'r>>,
    editions: Vec<NewEdition<'r>>,
    author_names: HashMap<&'r str, Ref>,
    titles: HashMap<(String, String), Ref>,
    edition_keys: HashMap<EditionKey, (Ref, Ref)>,
}

/// The ids a batch's new rows were given, by slot.
struct Ids {
    authors: Vec<i64>,
    books: Vec<i64>,
    editions: Vec<i64>,
}

impl Ids {
    fn book(&self, book: Ref) -> i64 {
        match book {
            Ref::Stored(id) => id,
            Ref::New(slot) => self.books[slot],
        }
    }

    fn edition(&self, edition: Ref) -> i64 {
        match edition {
            Ref::Stored(id) => id,
            Ref::New(slot) => self.editions[slot],
        }
    }

    fn author(&self, author: Ref) -> i64 {
        match author {
            Ref::Stored(id) => id,
            Ref::New(slot) => self.authors[slot],
        }
    }
}

impl<'r> Plan<'r> {
    fn author(&mut self, name: &'r str) -> Ref {
        *self.author_names.entry(name).or_insert_with(|| {
            self.authors.push(name);
            Ref::New(self.authors.len() - 1)
        })
    }

    fn add_edition(
        &mut self,
        book: Ref,
        edition: &'r EditionRecord,
        record: &'r BookRecord,
        key: Option<EditionKey>,
    ) -> Ref {
        let slot = Ref::New(self.editions.len());
        self.editions.push(NewEdition {
            book,
            edition,
            language: &record.language,
        });
        if let Some(key) = key {
            self.edition_keys.insert(key, (book, slot));
        }
        slot
    }

    /// Writes the new authors, books, credits, editions and search entries.
    async fn write(&self, conn: &impl ConnectionTrait) -> Result<Ids, DbError> {
        let ids = Ids {
            authors: repo::bulk::reserve_ids(conn, "author", self.authors.len()).await?,
            books: repo::bulk::reserve_ids(conn, "book", self.books.len()).await?,
            editions: repo::bulk::reserve_ids(conn, "edition", self.editions.len()).await?,
        };
        let now = crate::db::now();
        let authors = self.authors.iter().zip(&ids.authors).map(|(name, id)| {
            let mut row = repo::author::new_row(name.to_string(), None, now);
            row.id = Set(*id);
            row
        });
        repo::bulk::insert_all(conn, authors.collect()).await?;

        let books = self.books.iter().zip(&ids.books).map(|(new, id)| {
            let record = new.record;
            let fields = BookFields {
                title: record.title.clone(),
                subtitle: record.subtitle.clone(),
                description: record.description.clone(),
                original_year: record.original_year,
                language: record.language.clone(),
            };
            let mut row = repo::book::new_row(fields, now);
            row.id = Set(*id);
            row
        });
        repo::bulk::insert_all(conn, books.collect()).await?;

        let credits =
            self.books
                .iter()
                .zip(&ids.books)
                .flat_map(|(new, book_id)| {
                    new.authors.iter().enumerate().map(|(position, author)| {
                        book_author::ActiveModel {
                            book_id: Set(*book_id),
                            author_id: Set(ids.author(*author)),
                            position: Set(position as i32),
                        }
                    })
                });
        repo::bulk::insert_all(conn, credits.collect()).await?;

        let editions = self.editions.iter().zip(&ids.editions).map(|(new, id)| {
            let edition = new.edition;
            let fields = EditionFields {
                format: edition.format,
                isbn: edition.isbn.clone(),
                catalog_number: edition.catalog_number.clone(),
                publisher: edition.publisher.clone(),
                release_date: None,
                language: new.language.clone(),
                pages: edition.pages,
                duration_seconds: None,
                price_minor: None,
                currency: None,
            };
            let mut row = repo::edition::new_row(ids.book(new.book), fields, now);
            row.id = Set(*id);
            row
        });
        repo::bulk::insert_all(conn, editions.collect()).await?;

        let entries: Vec<(i64, repo::search::Entry)> = self
            .books
            .iter()
            .zip(&ids.books)
            .map(|(new, id)| {
                let record = new.record;
                let entry = repo::search::Entry {
                    title: &record.title,
                    subtitle: record.subtitle.as_deref(),
                    authors: &record.authors,
                    description: record.description.as_deref(),
                };
                (*id, entry)
            })
            .collect();
        repo::search::insert(conn, &entries).await?;
        Ok(ids)
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
