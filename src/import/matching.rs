//! Matching imported records to the catalog, and handing what is new to the catalog's batch
//! writes (`service::catalog::batch`), which write it under the catalog's rules.

use std::collections::HashMap;

use super::{BookRecord, EditionRecord};
use crate::db::{Database, UnitOfWork};
use crate::entity::enums::EditionFormat;
use crate::service::ServiceResult;
use crate::service::catalog::batch::{self, AuthorName, NewBook, NewEdition, NewRows, Ref};
use crate::service::validate::Checked;
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

impl CatalogWriter {
    pub async fn load(db: &Database) -> ServiceResult<Self> {
        let known = batch::known(db).await?;
        Ok(Self {
            authors: known
                .authors
                .into_iter()
                .map(|(id, name)| (name, id))
                .collect(),
            editions: known
                .editions
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
            by_title_and_author: known
                .titles
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
    /// Matching happens in memory; what is new is then written by `batch::add` table by table
    /// in multi-row statements, so a batch costs a handful of statements however many rows it
    /// has.
    pub async fn write_batch(
        &mut self,
        unit: &UnitOfWork,
        records: &[&Checked<BookRecord>],
    ) -> ServiceResult<Vec<Written>> {
        let mut plan = Plan::default();
        let placed: Vec<Placed> = records
            .iter()
            .map(|record| self.place(&mut plan, record))
            .collect();
        let ids = batch::add(unit, &plan.rows).await?;

        for (name, author) in plan.author_names {
            if matches!(author, Ref::New(_)) {
                self.authors
                    .insert(name.as_str().to_string(), ids.author(author));
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
    fn place<'r>(&self, plan: &mut Plan<'r>, record: &'r Checked<BookRecord>) -> Placed {
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
            let edition = edition_key.and_then(|key| plan.add_edition(book, record, Some(key)));
            return Placed {
                outcome: Outcome::Matched,
                book,
                edition,
            };
        }

        let mut authors = Vec::with_capacity(record.authors.len());
        for name in record.author_names() {
            let author = self
                .authors
                .get(name.as_str())
                .map(|&id| Ref::Stored(id))
                .unwrap_or_else(|| plan.author(name));
            if !authors.contains(&author) {
                authors.push(author);
            }
        }
        let book = Ref::New(plan.rows.books.len());
        plan.rows.books.push(NewBook { record, authors });
        plan.titles.insert(key, book);
        let edition = plan.add_edition(book, record, edition_key);
        Placed {
            outcome: Outcome::Created,
            book,
            edition,
        }
    }
}

struct Placed {
    outcome: Outcome,
    book: Ref,
    edition: Option<Ref>,
}

/// What a batch adds, and how its records find what an earlier record of the same batch
/// added.
#[derive(Default)]
struct Plan<'r> {
    rows: NewRows<'r>,
    author_names: HashMap<AuthorName<'r>, Ref>,
    titles: HashMap<(String, String), Ref>,
    edition_keys: HashMap<EditionKey, (Ref, Ref)>,
}

impl<'r> Plan<'r> {
    fn author(&mut self, name: AuthorName<'r>) -> Ref {
        *self.author_names.entry(name).or_insert_with(|| {
            self.rows.authors.push(name);
            Ref::New(self.rows.authors.len() - 1)
        })
    }

    /// Adds the record's edition to `book`; `None` when the record names no edition.
    fn add_edition(
        &mut self,
        book: Ref,
        record: &'r Checked<BookRecord>,
        key: Option<EditionKey>,
    ) -> Option<Ref> {
        let edition = NewEdition::of(book, record)?;
        let slot = Ref::New(self.rows.editions.len());
        self.rows.editions.push(edition);
        if let Some(key) = key {
            self.edition_keys.insert(key, (book, slot));
        }
        Some(slot)
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
