//! The catalog in bulk, for imports and seeding: many books at once, in the caller's unit of
//! work, under the rules the API's writes keep.
//!
//! Rules are applied where a row is read, not where it is written: an importer checks each
//! record ([`check`]) as it parses it, so a bad row goes to its rejects file with the reason
//! and the rows around it import, and the writes here take only [`Checked`] values. What the
//! writes own is the rest of what a new book means: its authors' credits, one timestamp for the
//! batch, and its search entry, written in a few multi-row statements whatever the batch's size.

use sea_orm::Set;

use super::categories::NewCategory;
use crate::db::{Database, DbError, UnitOfWork};
use crate::entity::enums::{ContributorRole, EditionAccess, EditionFormat};
use crate::repo;
use crate::repo::book::BookFields;
use crate::repo::bulk::{BookTitle, KnownEdition};
use crate::repo::edition::EditionFields;
use crate::service::validate::Checked;
use crate::service::webhooks;
use crate::service::{FieldError, ServiceError, ServiceResult};

/// A book as an import (or the seeder) brings it, before it is matched against the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct BookRecord {
    pub title: String,
    pub subtitle: Option<String>,
    pub description: Option<String>,
    /// In credit order; at least one.
    pub authors: Vec<String>,
    pub original_year: Option<i32>,
    pub language: Option<String>,
    pub series: Option<String>,
    pub series_number: Option<f64>,
    /// Ratings counted by the catalog the row comes from (goodbooks' `ratings_count`).
    pub popularity_prior: i64,
    /// The edition the row describes, when it names one. It shares the book's language.
    pub edition: Option<EditionRecord>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EditionRecord {
    pub format: EditionFormat,
    /// ISBN-13 digits once checked.
    pub isbn: Option<String>,
    pub catalog_number: Option<String>,
    pub publisher: Option<String>,
    pub pages: Option<i32>,
    /// The title printed on the edition, when it differs from the book's.
    pub title: Option<String>,
}

/// Holds a record to the rules a book made over the API is held to: the books service's for
/// its fields, the authors service's for each name, the editions service's for its edition.
/// Normalises as they do (an ISBN-13's digits, a tidy language tag). Every field at fault is
/// named: `title`, `authors[1]`, `edition.isbn`.
pub fn check(record: BookRecord) -> ServiceResult<Checked<BookRecord>> {
    let BookRecord {
        title,
        subtitle,
        description,
        authors,
        original_year,
        language,
        series,
        series_number,
        popularity_prior,
        edition,
    } = record;
    let mut errors = vec![];
    // The fields move into the services' types and back: checking a row copies no text.
    let mut book = BookFields {
        title,
        subtitle,
        description,
        original_year,
        language,
        series,
        series_number,
        popularity_prior,
    };
    collect(&mut errors, "", super::books::check_fields(&mut book))?;
    for (i, name) in authors.iter().enumerate() {
        if let Err(message) = super::authors::check_name(name) {
            errors.push(FieldError::new(format!("authors[{i}]"), message));
        }
    }
    let edition = match edition {
        Some(edition) => {
            let mut fields = EditionFields {
                format: edition.format,
                isbn: edition.isbn,
                catalog_number: edition.catalog_number,
                publisher: edition.publisher,
                release_date: None,
                language: None,
                pages: edition.pages,
                duration_seconds: None,
                price_minor: None,
                currency: None,
                access: EditionAccess::default(),
                title: edition.title,
                subtitle: None,
            };
            let checked = super::editions::check_fields(&mut fields);
            collect(&mut errors, "edition.", checked)?;
            Some(EditionRecord {
                format: fields.format,
                isbn: fields.isbn,
                catalog_number: fields.catalog_number,
                publisher: fields.publisher,
                pages: fields.pages,
                title: fields.title,
            })
        }
        None => None,
    };
    if !errors.is_empty() {
        return Err(ServiceError::Validation(errors));
    }
    Ok(Checked::new(BookRecord {
        title: book.title,
        subtitle: book.subtitle,
        description: book.description,
        authors: authors
            .into_iter()
            .map(|mut name| {
                crate::service::validate::trim(&mut name);
                name
            })
            .collect(),
        original_year: book.original_year,
        language: book.language,
        series: book.series,
        series_number: book.series_number,
        popularity_prior: book.popularity_prior,
        edition,
    }))
}

/// Adds a check's field errors to `errors`, their fields under `prefix`.
fn collect(
    errors: &mut Vec<FieldError>,
    prefix: &str,
    result: ServiceResult<()>,
) -> ServiceResult<()> {
    match result {
        Ok(()) => Ok(()),
        Err(ServiceError::Validation(found)) => {
            errors.extend(
                found
                    .into_iter()
                    .map(|e| FieldError::new(format!("{prefix}{}", e.field), e.message)),
            );
            Ok(())
        }
        Err(other) => Err(other),
    }
}

/// An author's name from a checked record: only such names become authors in [`add`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuthorName<'r>(&'r str);

impl<'r> AuthorName<'r> {
    pub fn as_str(&self) -> &'r str {
        self.0
    }
}

impl Checked<BookRecord> {
    /// The record's authors in credit order, as checked.
    pub fn author_names(&self) -> impl Iterator<Item = AuthorName<'_>> {
        self.authors.iter().map(|name| AuthorName(name))
    }
}

/// What an import matches its records against, read in three statements.
pub struct Known {
    /// Every author: (id, name).
    pub authors: Vec<(i64, String)>,
    /// Every edition a second import can recognise (by ISBN, or a record's catalog number).
    pub editions: Vec<KnownEdition>,
    /// Every book by its folded title and first author's folded name.
    pub titles: Vec<BookTitle>,
}

#[tracing::instrument(
    level = "info",
    name = "service.catalog.batch.known",
    skip_all,
    err(level = "debug")
)]
pub async fn known(db: &Database) -> ServiceResult<Known> {
    let conn = db.reader();
    Ok(Known {
        authors: repo::bulk::author_names(conn)
            .await?
            .into_iter()
            .map(|a| (a.id, a.name))
            .collect(),
        editions: repo::bulk::known_editions(conn).await?,
        titles: repo::bulk::book_titles(conn).await?,
    })
}

/// A row the catalog has already, or the n-th of its kind that a batch adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ref {
    Stored(i64),
    New(usize),
}

/// What a batch adds. A new book, edition or credit refers to what it belongs to by [`Ref`],
/// so rows of one batch can refer to each other before any has an id.
#[derive(Default)]
pub struct NewRows<'r> {
    /// Each name once.
    pub authors: Vec<AuthorName<'r>>,
    pub books: Vec<NewBook<'r>>,
    pub editions: Vec<NewEdition<'r>>,
}

/// A book made from a record: its fields, and its authors in credit order, each once.
pub struct NewBook<'r> {
    pub record: &'r Checked<BookRecord>,
    pub authors: Vec<Ref>,
}

/// The edition a record names, added to a book of the batch or of the catalog.
pub struct NewEdition<'r> {
    book: Ref,
    edition: &'r EditionRecord,
    language: Option<&'r str>,
}

impl<'r> NewEdition<'r> {
    /// The record's edition for `book`; `None` when the record names none.
    pub fn of(book: Ref, record: &'r Checked<BookRecord>) -> Option<Self> {
        Some(Self {
            book,
            edition: record.edition.as_ref()?,
            language: record.language.as_deref(),
        })
    }
}

/// The ids a batch's new rows were given, by slot.
pub struct Ids {
    authors: Vec<i64>,
    books: Vec<i64>,
    editions: Vec<i64>,
}

impl Ids {
    pub fn author(&self, author: Ref) -> i64 {
        match author {
            Ref::Stored(id) => id,
            Ref::New(slot) => self.authors[slot],
        }
    }

    pub fn book(&self, book: Ref) -> i64 {
        match book {
            Ref::Stored(id) => id,
            Ref::New(slot) => self.books[slot],
        }
    }

    pub fn edition(&self, edition: Ref) -> i64 {
        match edition {
            Ref::Stored(id) => id,
            Ref::New(slot) => self.editions[slot],
        }
    }
}

/// Writes a batch's new authors, books (with their credits and search entries) and editions,
/// all stamped with one time, in a handful of multi-row statements; answers the ids they got.
#[tracing::instrument(
    level = "info",
    name = "service.catalog.batch.add",
    skip_all,
    err(level = "debug")
)]
pub async fn add(unit: &UnitOfWork, rows: &NewRows<'_>) -> Result<Ids, DbError> {
    let conn = &**unit;
    let ids = Ids {
        authors: repo::bulk::reserve_ids(conn, "author", rows.authors.len()).await?,
        books: repo::bulk::reserve_ids(conn, "book", rows.books.len()).await?,
        editions: repo::bulk::reserve_ids(conn, "edition", rows.editions.len()).await?,
    };
    let now = crate::db::now();
    let authors = rows.authors.iter().zip(&ids.authors).map(|(name, id)| {
        let mut row = repo::author::new_row(name.as_str().to_string(), None, now);
        row.id = Set(*id);
        row
    });
    repo::bulk::insert_all(conn, authors.collect()).await?;

    let books = rows.books.iter().zip(&ids.books).map(|(new, id)| {
        let record = new.record;
        let fields = BookFields {
            title: record.title.clone(),
            subtitle: record.subtitle.clone(),
            description: record.description.clone(),
            original_year: record.original_year,
            language: record.language.clone(),
            series: record.series.clone(),
            series_number: record.series_number,
            popularity_prior: record.popularity_prior,
        };
        let mut row = repo::book::new_row(fields, now);
        row.id = Set(*id);
        row
    });
    repo::bulk::insert_all(conn, books.collect()).await?;

    let credits = rows
        .books
        .iter()
        .zip(&ids.books)
        .flat_map(|(new, book_id)| {
            new.authors.iter().enumerate().map(|(position, author)| {
                repo::author::credit_row(*book_id, ids.author(*author), position)
            })
        });
    repo::bulk::insert_all(conn, credits.collect()).await?;

    let editions = rows.editions.iter().zip(&ids.editions).map(|(new, id)| {
        let edition = new.edition;
        let fields = EditionFields {
            format: edition.format,
            isbn: edition.isbn.clone(),
            catalog_number: edition.catalog_number.clone(),
            publisher: edition.publisher.clone(),
            release_date: None,
            language: new.language.map(str::to_string),
            pages: edition.pages,
            duration_seconds: None,
            price_minor: None,
            currency: None,
            access: EditionAccess::default(),
            title: edition.title.clone(),
            subtitle: None,
        };
        let mut row = repo::edition::new_row(ids.book(new.book), fields, now);
        row.id = Set(*id);
        row
    });
    repo::bulk::insert_all(conn, editions.collect()).await?;
    // A book of the catalog that gained an edition is found by its title and ISBN too.
    let grown: Vec<i64> = rows
        .editions
        .iter()
        .filter_map(|new| match new.book {
            Ref::Stored(id) => Some(id),
            Ref::New(_) => None,
        })
        .collect();
    repo::search::refresh(conn, &grown).await?;

    // A new book is found by search from the moment its batch commits, as one made over the
    // API is: the entries are written from the records, with no read back.
    let entries: Vec<(i64, repo::search::Document)> = rows
        .books
        .iter()
        .zip(&ids.books)
        .map(|(new, id)| {
            let record = new.record;
            let edition = record.edition.as_ref();
            let editions = edition
                .into_iter()
                .flat_map(|e| [e.title.as_deref(), e.isbn.as_deref()])
                .flatten()
                .collect();
            let document = repo::search::Document::new(&repo::search::Parts {
                title: &record.title,
                subtitle: record.subtitle.as_deref(),
                series: record.series.as_deref(),
                editions,
                authors: &record.authors,
                contributors: vec![],
                description: record.description.as_deref(),
            });
            (
                repo::search::search_key(*id, record.popularity_prior, 0),
                document,
            )
        })
        .collect();
    repo::search::insert(conn, &entries).await?;

    // Each new book is a `book.created`, as one made over the API is, committed with the batch.
    let events = rows.books.iter().zip(&ids.books).map(|(new, id)| {
        let record = new.record;
        // The record's names, each once, line up with the book's author refs: one name is one
        // author, whether the batch adds it or the catalog has it.
        let mut names: Vec<&str> = Vec::with_capacity(new.authors.len());
        for name in &record.authors {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
        debug_assert_eq!(names.len(), new.authors.len());
        let authors: Vec<serde_json::Value> = new
            .authors
            .iter()
            .zip(names)
            .map(|(author, name)| serde_json::json!({ "id": ids.author(*author), "name": name }))
            .collect();
        webhooks::Event::new(
            "book.created",
            serde_json::json!({
                "id": id, "title": record.title, "subtitle": record.subtitle,
                "series": record.series, "series_number": record.series_number,
                "language": record.language, "original_year": record.original_year,
                "authors": authors, "created_at": now, "updated_at": now,
            }),
        )
    });
    webhooks::emit_all(conn, events).await?;
    Ok(ids)
}

/// Adds an edition to each book: (book id, edition) pairs, in a few statements.
#[tracing::instrument(
    level = "info",
    name = "service.catalog.batch.add_editions",
    skip_all,
    err(level = "debug")
)]
pub async fn add_editions(
    unit: &UnitOfWork,
    editions: Vec<(i64, Checked<EditionFields>)>,
) -> Result<(), DbError> {
    let editions: Vec<(i64, EditionFields)> = editions
        .into_iter()
        .map(|(book_id, fields)| (book_id, fields.into_inner()))
        .collect();
    // Only an edition's title and ISBN are in the index: the seeder's thousands of bare
    // ebooks change nothing there.
    let found_by: Vec<i64> = editions
        .iter()
        .filter(|(_, e)| e.title.is_some() || e.subtitle.is_some() || e.isbn.is_some())
        .map(|(book_id, _)| *book_id)
        .collect();
    repo::edition::insert_all(&**unit, editions).await?;
    repo::search::refresh(&**unit, &found_by).await
}

/// Adds one edition to a book; its id.
#[tracing::instrument(
    level = "info",
    name = "service.catalog.batch.add_edition",
    skip_all,
    fields(book_id),
    err(level = "debug")
)]
pub async fn add_edition(
    unit: &UnitOfWork,
    book_id: i64,
    fields: Checked<EditionFields>,
) -> ServiceResult<i64> {
    let edition = repo::edition::insert(&**unit, book_id, fields.into_inner())
        .await
        .map_err(ServiceError::from)?;
    repo::search::refresh(&**unit, &[book_id]).await?;
    Ok(edition.id)
}

/// Files each book under a category: (book id, category id) pairs, in a few statements.
#[tracing::instrument(
    level = "info",
    name = "service.catalog.batch.file_books",
    skip_all,
    err(level = "debug")
)]
pub async fn file_books(unit: &UnitOfWork, pairs: &[(i64, i64)]) -> Result<(), DbError> {
    repo::book::file_all(&**unit, pairs).await
}

/// The category with the slug, or a new one under `parent_id` when there is none.
#[tracing::instrument(
    level = "info",
    name = "service.catalog.batch.ensure_category",
    skip_all,
    err(level = "debug")
)]
pub async fn ensure_category(
    unit: &UnitOfWork,
    category: &Checked<NewCategory>,
    parent_id: Option<i64>,
) -> Result<i64, DbError> {
    let conn = &**unit;
    if let Some(existing) = repo::category::find_by_slug(conn, &category.slug).await? {
        return Ok(existing.id);
    }
    let NewCategory { name, slug } = (**category).clone();
    Ok(repo::category::insert(conn, name, slug, parent_id)
        .await?
        .id)
}

/// The rest of a book, as folio's own export holds it: every edition with its contributors,
/// and its categories.
pub struct BookParts {
    pub editions: Vec<EditionParts>,
    pub categories: Vec<Checked<NewCategory>>,
}

pub struct EditionParts {
    pub fields: Checked<EditionFields>,
    /// Authors by name, in order.
    pub contributors: Vec<(Checked<String>, ContributorRole)>,
}

/// Gives a book just made from a record the rest of its parts: each edition with its
/// contributors (authors found by name, or made), and its categories (found by slug, or made at
/// the top of the tree). `made` is the edition the batch made from the record; the part with
/// its ISBN completes it rather than adding it twice.
#[tracing::instrument(
    level = "info",
    name = "service.catalog.batch.add_parts",
    skip_all,
    fields(book_id),
    err(level = "debug")
)]
pub async fn add_parts(
    unit: &UnitOfWork,
    book_id: i64,
    made: Option<i64>,
    parts: &BookParts,
) -> Result<(), DbError> {
    let conn = &**unit;
    let made = match made {
        Some(id) => repo::edition::find(conn, id).await?,
        None => None,
    };
    for edition in &parts.editions {
        let fields = (*edition.fields).clone();
        let id = match &made {
            Some(made) if made.isbn.is_some() && made.isbn == fields.isbn => {
                repo::edition::update(conn, made.clone(), fields).await?.id
            }
            _ => repo::edition::insert(conn, book_id, fields).await?.id,
        };
        let mut credits = vec![];
        for (name, role) in &edition.contributors {
            let author = author_named(unit, name).await?;
            if !credits.contains(&(author, *role)) {
                credits.push((author, *role));
            }
        }
        repo::edition::set_contributors(conn, id, &credits).await?;
    }
    let mut category_ids = vec![];
    for category in &parts.categories {
        let id = ensure_category(unit, category, None).await?;
        if !category_ids.contains(&id) {
            category_ids.push(id);
        }
    }
    repo::book::set_categories(conn, book_id, &category_ids).await?;
    // Its editions' titles, ISBNs and contributors find it too.
    repo::search::refresh(conn, &[book_id]).await
}

/// The author with the name, or a new one.
async fn author_named(unit: &UnitOfWork, name: &Checked<String>) -> Result<i64, DbError> {
    let conn = &**unit;
    match repo::author::find_by_name(conn, name).await? {
        Some(author) => Ok(author.id),
        None => Ok(repo::author::insert(conn, (**name).clone(), None).await?.id),
    }
}

/// Adds an import's rows to the totals `serve`'s metrics report, in the unit of work that
/// wrote them (rejected rows, written nowhere, in a unit of their own at the end).
pub async fn count_rows(
    unit: &UnitOfWork,
    created: u64,
    matched: u64,
    rejected: u64,
) -> Result<(), DbError> {
    repo::limits::count_import_rows(&**unit, created, matched, rejected).await
}
