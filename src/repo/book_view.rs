//! Books with everything the API shows of them (authors, categories, editions with their
//! contributors), loaded for a whole page in a fixed number of statements, never one per row.
//!
//! One statement reads a book's parts aggregated to JSON by the database, for any number of
//! books: a page pays one round trip, not four. On SQLite, where a statement costs no round
//! trip, a page of several books reads the same parts as plain rows instead, four `… IN (…)`
//! statements: building and parsing the JSON, and the sorter each aggregate's `ORDER BY`
//! opens per book, made up 40 % of a 20-book page's statements (bench/README.md). A single
//! book keeps the one JSON statement there, which reads it in half the time of four.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder, QueryTrait};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::edition_view::{self, ContributorRef, EditionView, by_key};
use super::{PerBackend, in_list, numbered};
use crate::db::{DbError, Read};
use crate::entity::enums::{EditionAccess, EditionFormat};
use crate::entity::{book, edition};

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AuthorRef {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CategoryRef {
    pub id: i64,
    pub name: String,
    pub slug: String,
}

/// A book's cover: the SHA-256 of the original and of its two thumbnails.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CoverRef {
    pub sha256: String,
    pub thumb: String,
    pub medium: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BookView {
    pub book: book::Model,
    pub authors: Vec<AuthorRef>,
    pub categories: Vec<CategoryRef>,
    pub editions: Vec<EditionView>,
    pub cover: Option<CoverRef>,
}

/// The books with their authors (in credit order), categories (by name) and editions (by id,
/// each with its contributors in credit order), in the order the books came.
#[tracing::instrument(
    level = "debug",
    name = "repo.book_view.load",
    skip_all,
    err(level = "debug")
)]
pub async fn load<'a>(
    read: impl Into<Read<'a>>,
    books: Vec<book::Model>,
) -> Result<Vec<BookView>, DbError> {
    let read = read.into();
    match books.len() {
        0 => Ok(vec![]),
        n if n > 1 && read.backend() == DbBackend::Sqlite => as_rows(read, books).await,
        _ => as_json(read, books).await,
    }
}

/// What a book shows beside its own columns, each part aggregated to a JSON array by the
/// database.
struct BookParts {
    book_id: i64,
    authors: String,
    categories: String,
    editions: String,
    cover: Option<String>,
}

#[derive(Deserialize)]
struct EditionJson {
    id: i64,
    book_id: i64,
    format: EditionFormat,
    isbn: Option<String>,
    catalog_number: Option<String>,
    publisher: Option<String>,
    release_date: Option<NaiveDate>,
    language: Option<String>,
    pages: Option<i32>,
    duration_seconds: Option<i64>,
    price_minor: Option<i64>,
    currency: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    access: EditionAccess,
    title: Option<String>,
    subtitle: Option<String>,
    contributors: Vec<ContributorRef>,
}

impl From<EditionJson> for EditionView {
    fn from(e: EditionJson) -> Self {
        Self {
            edition: edition::Model {
                id: e.id,
                book_id: e.book_id,
                format: e.format,
                isbn: e.isbn,
                catalog_number: e.catalog_number,
                publisher: e.publisher,
                release_date: e.release_date,
                language: e.language,
                pages: e.pages,
                duration_seconds: e.duration_seconds,
                price_minor: e.price_minor,
                currency: e.currency,
                created_at: e.created_at,
                updated_at: e.updated_at,
                access: e.access,
                title: e.title,
                subtitle: e.subtitle,
            },
            contributors: e.contributors,
        }
    }
}

/// `SELECT <fields as a JSON object> …` rows aggregated to one JSON array, in `order`; an
/// empty array when there are none. SQLite and PostgreSQL spell the same thing differently.
fn json_array(backend: DbBackend, fields: &str, order: &str) -> String {
    match backend {
        DbBackend::Postgres => {
            format!("coalesce(json_agg(json_build_object({fields}) ORDER BY {order}), '[]'::json)")
        }
        _ => format!("json_group_array(json_object({fields}) ORDER BY {order})"),
    }
}

/// The statement behind [`as_json`]: per book, its authors in credit order, its categories by
/// name, and its editions by id, each edition with its contributors in order.
fn parts_statement(backend: DbBackend, placeholders: &str) -> String {
    let contributors = json_array(
        backend,
        "'author_id', ec.author_id, 'name', ca.name, 'role', ec.role",
        "ec.position",
    );
    // SQLite keeps a subquery's JSON as text unless json() says it is JSON; PostgreSQL's
    // json type needs no help. At the top level both hand back text.
    let (nested, text) = match backend {
        DbBackend::Postgres => (("(", ")"), "::text"),
        _ => (("json((", "))"), ""),
    };
    let editions = json_array(
        backend,
        &format!(
            "'id', e.id, 'book_id', e.book_id, 'format', e.format, 'isbn', e.isbn, \
             'catalog_number', e.catalog_number, 'publisher', e.publisher, \
             'release_date', e.release_date, 'language', e.language, 'pages', e.pages, \
             'duration_seconds', e.duration_seconds, 'price_minor', e.price_minor, \
             'currency', e.currency, 'created_at', e.created_at, 'updated_at', e.updated_at, \
             'access', e.access, 'title', e.title, 'subtitle', e.subtitle, \
             'contributors', {open}SELECT {contributors} FROM edition_contributor ec \
               JOIN author ca ON ca.id = ec.author_id WHERE ec.edition_id = e.id{close}",
            open = nested.0,
            close = nested.1,
        ),
        "e.id",
    );
    let authors = json_array(backend, "'id', a.id, 'name', a.name", "ba.position");
    let categories = json_array(
        backend,
        "'id', c.id, 'name', c.name, 'slug', c.slug",
        "c.name",
    );
    let cover = match backend {
        DbBackend::Postgres => {
            "json_build_object('sha256', cv.sha256, 'thumb', \
                                cv.thumb_sha256, 'medium', cv.medium_sha256)"
        }
        _ => {
            "json_object('sha256', cv.sha256, 'thumb', cv.thumb_sha256, \
              'medium', cv.medium_sha256)"
        }
    };
    format!(
        "SELECT b.id AS book_id, \
           (SELECT {authors} FROM book_author ba JOIN author a ON a.id = ba.author_id \
             WHERE ba.book_id = b.id){text} AS authors, \
           (SELECT {categories} FROM book_category bc JOIN category c ON c.id = bc.category_id \
             WHERE bc.book_id = b.id){text} AS categories, \
           (SELECT {editions} FROM edition e WHERE e.book_id = b.id){text} AS editions, \
           (SELECT {cover} FROM book_cover cv WHERE cv.book_id = b.id){text} AS cover \
         FROM book b WHERE b.id IN ({placeholders})"
    )
}

/// [`load`] in one statement: the parts of every book aggregated to JSON.
async fn as_json(read: Read<'_>, books: Vec<book::Model>) -> Result<Vec<BookView>, DbError> {
    let backend = read.backend();
    let ids: Vec<i64> = books.iter().map(|b| b.id).collect();
    let (placeholders, values) = in_list(&ids);
    // A book by id asks for one: its SQL is built once (formatting it anew was 1.5 % of a
    // book by id's CPU on SQLite).
    static ONE_BOOK: PerBackend = PerBackend::new();
    let built;
    let sql = if ids.len() == 1 {
        ONE_BOOK.sql(backend, |backend| {
            numbered(backend, &parts_statement(backend, "?"))
        })
    } else {
        built = numbered(backend, &parts_statement(backend, &placeholders));
        &built
    };
    let parts = read
        .rows(sql, &values, |row| {
            Ok(BookParts {
                book_id: row.get(0)?,
                authors: row.get(1)?,
                categories: row.get(2)?,
                editions: row.get(3)?,
                cover: row.get(4)?,
            })
        })
        .await?;
    let mut parts: HashMap<i64, BookParts> = parts.into_iter().map(|p| (p.book_id, p)).collect();
    books
        .into_iter()
        .map(|book| {
            let Some(part) = parts.remove(&book.id) else {
                // Deleted between the two statements: shown without its parts, as it was.
                return Ok(BookView {
                    book,
                    authors: vec![],
                    categories: vec![],
                    editions: vec![],
                    cover: None,
                });
            };
            let editions: Vec<EditionJson> = parse(&part.editions)?;
            Ok(BookView {
                authors: parse(&part.authors)?,
                categories: parse(&part.categories)?,
                editions: editions.into_iter().map(EditionView::from).collect(),
                cover: part.cover.as_deref().map(parse).transpose()?,
                book,
            })
        })
        .collect()
}

fn parse<T: DeserializeOwned>(json: &str) -> Result<T, DbError> {
    serde_json::from_str(json).map_err(|e| DbError::Internal(DbErr::Json(e.to_string())))
}

/// [`load`] as plain rows, one statement per part: the authors, the categories, the
/// editions, and the editions' contributors. SQLite's dialect only (see the module's note).
async fn as_rows(read: Read<'_>, books: Vec<book::Model>) -> Result<Vec<BookView>, DbError> {
    let ids: Vec<i64> = books.iter().map(|b| b.id).collect();
    // SQLite's placeholders are `?` as written: the SQL goes to the reader unchanged.
    let (placeholders, values) = in_list(&ids);

    let authors = read
        .rows(
            &format!(
                "SELECT ba.book_id, a.id, a.name FROM book_author ba \
                 JOIN author a ON a.id = ba.author_id \
                 WHERE ba.book_id IN ({placeholders}) ORDER BY ba.book_id, ba.position"
            ),
            &values,
            |row| {
                let author = AuthorRef {
                    id: row.get(1)?,
                    name: row.get(2)?,
                };
                Ok((row.get(0)?, author))
            },
        )
        .await?;
    let categories = read
        .rows(
            &format!(
                "SELECT bc.book_id, c.id, c.name, c.slug FROM book_category bc \
                 JOIN category c ON c.id = bc.category_id \
                 WHERE bc.book_id IN ({placeholders}) ORDER BY bc.book_id, c.name"
            ),
            &values,
            |row| {
                let category = CategoryRef {
                    id: row.get(1)?,
                    name: row.get(2)?,
                    slug: row.get(3)?,
                };
                Ok((row.get(0)?, category))
            },
        )
        .await?;
    let editions_of_page = edition::Entity::find()
        .filter(edition::Column::BookId.is_in(ids))
        .order_by_asc(edition::Column::BookId)
        .order_by_asc(edition::Column::Id)
        .build(DbBackend::Sqlite);
    let found = read
        .statement(&editions_of_page, super::edition::decode)
        .await?;
    let covers = read
        .rows(
            &format!(
                "SELECT book_id, sha256, thumb_sha256, medium_sha256 FROM book_cover \
                 WHERE book_id IN ({placeholders})"
            ),
            &values,
            |row| {
                let cover = CoverRef {
                    sha256: row.get(1)?,
                    thumb: row.get(2)?,
                    medium: row.get(3)?,
                };
                Ok((row.get::<i64>(0)?, cover))
            },
        )
        .await?;
    let mut covers: HashMap<i64, CoverRef> = covers.into_iter().collect();
    let edition_ids: Vec<i64> = found.iter().map(|e| e.id).collect();
    let mut contributors = edition_view::contributors(read, &edition_ids).await?;

    let (mut authors, mut categories) = (by_key(authors), by_key(categories));
    let mut editions = by_key(
        found
            .into_iter()
            .map(|edition| {
                let view = EditionView {
                    contributors: contributors.remove(&edition.id).unwrap_or_default(),
                    edition,
                };
                (view.edition.book_id, view)
            })
            .collect(),
    );
    Ok(books
        .into_iter()
        .map(|book| BookView {
            authors: authors.remove(&book.id).unwrap_or_default(),
            categories: categories.remove(&book.id).unwrap_or_default(),
            editions: editions.remove(&book.id).unwrap_or_default(),
            cover: covers.remove(&book.id),
            book,
        })
        .collect())
}
