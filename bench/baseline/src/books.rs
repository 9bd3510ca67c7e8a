//! `GET /api/v1/books/{id}` and `GET /api/v1/books` (the first page by title, or a search):
//! folio's statements (src/repo/book.rs, search.rs, book_view.rs) and folio's JSON.
//!
//! On SQLite the statements run through rusqlite, all of a request's in one blocking task on
//! one read-only connection ([`crate::db::Readers`]), which also serialises the answer: the
//! best hand-written row for SQLite is axum + rusqlite (DESIGN §6), not sqlx, whose SQLite
//! driver hops threads per statement. On PostgreSQL they run through sqlx. Both paths share the
//! statements, the row types and the JSON, so their answers are byte for byte folio's.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::ApiError;
use crate::db::Db;

/// The book's columns as SeaORM selects them.
macro_rules! book_columns {
    () => {
        r#""book"."id", "book"."title", "book"."title_folded", "book"."subtitle", "book"."description", "book"."original_year", "book"."language", "book"."rating_count", "book"."rating_sum", "book"."created_at", "book"."updated_at""#
    };
}

/// SeaORM's `find_by_id(id).one(…)`. SeaORM binds every LIMIT as a value (here 1), so the
/// statements below do too.
pub const BOOK_BY_ID: &str = concat!(
    "SELECT ",
    book_columns!(),
    r#" FROM "book" WHERE "book"."id" = ? LIMIT ?"#
);

const FIRST_PAGE: &str = concat!(
    "SELECT ",
    book_columns!(),
    r#" FROM "book" ORDER BY "book"."title_folded" ASC NULLS LAST, "book"."id" ASC LIMIT ?"#
);

/// Search, the one statement whose SQL differs by backend: FTS5 with bm25 on SQLite, the
/// tsvector with ts_rank on PostgreSQL. Title words weigh most, then authors, then the
/// description; lower rank is better on both. The page is taken among the matches before the
/// books are read, as folio does when nothing but the search narrows the list.
const SEARCH_SQLITE: &str = concat!(
    "SELECT ",
    book_columns!(),
    r#", "m"."rank" AS "rank" FROM "book" INNER JOIN (SELECT "matched_id", "rank" FROM (SELECT rowid AS "matched_id", bm25(book_search, 10.0, 5.0, 1.0) AS "rank" FROM "book_search" WHERE book_search MATCH ?) AS "ranked" ORDER BY "rank" ASC, "matched_id" ASC LIMIT ?) AS "m" ON "m"."matched_id" = "book"."id" ORDER BY "m"."rank" ASC NULLS LAST, "book"."id" ASC LIMIT ?"#
);
const SEARCH_POSTGRES: &str = concat!(
    "SELECT ",
    book_columns!(),
    r#", "m"."rank" AS "rank" FROM "book" INNER JOIN (SELECT "matched_id", "rank" FROM (SELECT book_id AS "matched_id", CAST(-ts_rank('{0.1, 0.2, 0.4, 1.0}', document, to_tsquery('simple', $1)) AS DOUBLE PRECISION) AS "rank" FROM "book_search" WHERE document @@ to_tsquery('simple', $2)) AS "ranked" ORDER BY "rank" ASC, "matched_id" ASC LIMIT $3) AS "m" ON "m"."matched_id" = "book"."id" ORDER BY "m"."rank" ASC NULLS LAST, "book"."id" ASC LIMIT $4"#
);

/// The editions of a page's books, as SeaORM selects them on SQLite, up to the `IN (` list.
const EDITIONS_OF_BOOKS: &str = r#"SELECT "edition"."id", "edition"."book_id", "edition"."format", "edition"."isbn", "edition"."catalog_number", "edition"."publisher", "edition"."release_date", "edition"."language", "edition"."pages", "edition"."duration_seconds", "edition"."price_minor", "edition"."currency", "edition"."created_at", "edition"."updated_at" FROM "edition" WHERE "edition"."book_id" IN ("#;
const EDITIONS_ORDER: &str = r#") ORDER BY "edition"."book_id" ASC, "edition"."id" ASC"#;

/// A `book` row, in `book_columns!` order.
pub type BookRow = (
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<i32>,
    Option<String>,
    i64,
    i64,
    DateTime<Utc>,
    DateTime<Utc>,
);

/// A `book` row and the search rank (a row decodes into one flat tuple).
type RankedRow = (
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<i32>,
    Option<String>,
    i64,
    i64,
    DateTime<Utc>,
    DateTime<Utc>,
    Option<f64>,
);

#[derive(Serialize)]
pub struct Book {
    id: i64,
    title: String,
    #[serde(skip)]
    title_folded: String,
    subtitle: Option<String>,
    description: Option<String>,
    original_year: Option<i32>,
    language: Option<String>,
    authors: Vec<Author>,
    categories: Vec<Category>,
    editions: Vec<Edition>,
    rating: Rating,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
struct Author {
    id: i64,
    name: String,
}

#[derive(Serialize, Deserialize)]
struct Category {
    id: i64,
    name: String,
    slug: String,
}

#[derive(Serialize)]
struct Rating {
    average: f64,
    count: i64,
}

#[derive(Serialize, Deserialize)]
struct Edition {
    id: i64,
    book_id: i64,
    format: String,
    isbn: Option<String>,
    catalog_number: Option<String>,
    publisher: Option<String>,
    release_date: Option<NaiveDate>,
    language: Option<String>,
    pages: Option<i32>,
    duration_seconds: Option<i64>,
    price_minor: Option<i64>,
    currency: Option<String>,
    contributors: Vec<Contributor>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
struct Contributor {
    author_id: i64,
    name: String,
    role: String,
}

impl From<BookRow> for Book {
    fn from(row: BookRow) -> Self {
        let (count, sum) = (row.7, row.8);
        // folio's average: two decimals, 0 until someone rates the book.
        let average = if count > 0 {
            ((sum as f64 / count as f64) * 100.0).round() / 100.0
        } else {
            0.0
        };
        Self {
            id: row.0,
            title: row.1,
            title_folded: row.2,
            subtitle: row.3,
            description: row.4,
            original_year: row.5,
            language: row.6,
            authors: vec![],
            categories: vec![],
            editions: vec![],
            rating: Rating { average, count },
            created_at: row.9,
            updated_at: row.10,
        }
    }
}

fn split_rank(row: RankedRow) -> (BookRow, Option<f64>) {
    let book = (
        row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8, row.9, row.10,
    );
    (book, row.11)
}

/// `… rows as JSON objects …` aggregated to one JSON array in `order`, `[]` when there are
/// none: folio's `json_array` in src/repo/book_view.rs.
fn json_array(postgres: bool, fields: &str, order: &str) -> String {
    if postgres {
        format!("coalesce(json_agg(json_build_object({fields}) ORDER BY {order}), '[]'::json)")
    } else {
        format!("json_group_array(json_object({fields}) ORDER BY {order})")
    }
}

/// folio's one statement for a page's authors, categories and editions with contributors
/// (`parts_statement` in src/repo/book_view.rs), up to the `IN (` list.
fn parts_head(postgres: bool) -> String {
    let contributors = json_array(
        postgres,
        "'author_id', ec.author_id, 'name', ca.name, 'role', ec.role",
        "ec.position",
    );
    let ((open, close), text) = if postgres {
        (("(", ")"), "::text")
    } else {
        (("json((", "))"), "")
    };
    let editions = json_array(
        postgres,
        &format!(
            "'id', e.id, 'book_id', e.book_id, 'format', e.format, 'isbn', e.isbn, \
             'catalog_number', e.catalog_number, 'publisher', e.publisher, \
             'release_date', e.release_date, 'language', e.language, 'pages', e.pages, \
             'duration_seconds', e.duration_seconds, 'price_minor', e.price_minor, \
             'currency', e.currency, 'created_at', e.created_at, 'updated_at', e.updated_at, \
             'contributors', {open}SELECT {contributors} FROM edition_contributor ec \
               JOIN author ca ON ca.id = ec.author_id WHERE ec.edition_id = e.id{close}"
        ),
        "e.id",
    );
    let authors = json_array(postgres, "'id', a.id, 'name', a.name", "ba.position");
    let categories = json_array(
        postgres,
        "'id', c.id, 'name', c.name, 'slug', c.slug",
        "c.name",
    );
    format!(
        "SELECT b.id AS book_id, \
           (SELECT {authors} FROM book_author ba JOIN author a ON a.id = ba.author_id \
             WHERE ba.book_id = b.id){text} AS authors, \
           (SELECT {categories} FROM book_category bc JOIN category c ON c.id = bc.category_id \
             WHERE bc.book_id = b.id){text} AS categories, \
           (SELECT {editions} FROM edition e WHERE e.book_id = b.id){text} AS editions \
         FROM book b WHERE b.id IN ("
    )
}

fn parse<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, ApiError> {
    serde_json::from_str(json)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

/// A row of the parts statement: the book's id, then its authors, categories and editions as
/// JSON arrays.
type PartsRow = (i64, String, String, String);

/// Puts each book's parts in place.
fn attach(mut books: Vec<Book>, parts: Vec<PartsRow>) -> Result<Vec<Book>, ApiError> {
    let at: HashMap<i64, usize> = books.iter().enumerate().map(|(i, b)| (b.id, i)).collect();
    for (book_id, authors, categories, editions) in parts {
        let book = &mut books[at[&book_id]];
        book.authors = parse(&authors)?;
        book.categories = parse(&categories)?;
        book.editions = parse(&editions)?;
    }
    Ok(books)
}

pub async fn get_book(
    State(db): State<Arc<Db>>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = id?;
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "No such book.");
    match &*db {
        Db::Sqlite { readers, .. } => {
            let book = readers
                .run_here(move |conn| Ok(sqlite::book(conn, id)?.as_ref().map(JsonBytes::of)))
                .await?;
            Ok(book.ok_or_else(not_found)?.into_response())
        }
        Db::Postgres(pool) => {
            let book = postgres::book(pool, id).await?;
            Ok(Json(book.ok_or_else(not_found)?).into_response())
        }
    }
}

/// A JSON answer serialised on the reader's thread, with the headers axum's `Json` gives. The
/// books are built and freed on that thread and only their bytes come back: glibc's malloc is
/// slow to free on one thread what another allocated, and serialising on the tokio worker
/// instead served about a quarter fewer pages of 20 (20,000-book catalog, 2 cores).
struct JsonBytes(Vec<u8>);

impl JsonBytes {
    fn of<T: Serialize>(value: &T) -> Self {
        Self(serde_json::to_vec(value).expect("books and pages serialise"))
    }
}

impl IntoResponse for JsonBytes {
    fn into_response(self) -> Response {
        let json = HeaderValue::from_static("application/json");
        ([(CONTENT_TYPE, json)], self.0).into_response()
    }
}

#[derive(Deserialize)]
pub struct ListParams {
    q: Option<String>,
    limit: Option<u64>,
}

#[derive(Serialize)]
pub struct Page {
    items: Vec<Book>,
    next_cursor: Option<String>,
}

/// folio's cursor, so that both servers answer with the same bytes: base64url of
/// `{"sort":…,"value":{…},"id":…}`.
#[derive(Serialize)]
struct Cursor<'a> {
    sort: &'static str,
    value: SortValue<'a>,
    id: i64,
}

#[derive(Serialize)]
enum SortValue<'a> {
    Title(&'a str),
    Relevance(f64),
}

/// What a list request reads: the first page by title, or the books matching a search's
/// folded words.
enum Listing {
    Title,
    Search(Vec<String>),
}

pub async fn list_books(
    State(db): State<Arc<Db>>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params?;
    let limit = match params.limit {
        None => 20,
        Some(n @ 1..=100) => n as usize,
        Some(_) => {
            let message = "limit must be from 1 to 100";
            return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message));
        }
    };
    let listing = match &params.q {
        None => Listing::Title,
        Some(q) => {
            let tokens = query_tokens(q);
            if tokens.is_empty() {
                let page = Page {
                    items: vec![],
                    next_cursor: None,
                };
                return Ok(Json(page).into_response());
            }
            Listing::Search(tokens)
        }
    };
    let browsing = matches!(listing, Listing::Title);
    match &*db {
        Db::Sqlite { readers, .. } => {
            let read = move |conn: &rusqlite::Connection| {
                Ok(JsonBytes::of(&sqlite::list(conn, &listing, limit)?))
            };
            // As folio: the catalog in title order, bounded like a book by id, is read on the
            // calling thread when a reader is idle; a search goes to the blocking pool.
            let page = if browsing {
                readers.run_here(read).await?
            } else {
                readers.run(read).await?
            };
            Ok(page.into_response())
        }
        Db::Postgres(pool) => {
            Ok(Json(postgres::list(pool, &listing, limit).await?).into_response())
        }
    }
}

/// The first `limit` rows as books, and the cursor to the next page when the statement found
/// one row more. `ranks` are a search's, one per row.
fn page_of(
    rows: Vec<BookRow>,
    ranks: Option<Vec<Option<f64>>>,
    limit: usize,
) -> (Vec<Book>, Option<String>) {
    let has_more = rows.len() > limit;
    let books: Vec<Book> = rows.into_iter().take(limit).map(Book::from).collect();
    let next_cursor = books.last().filter(|_| has_more).map(|last| {
        let (sort, value) = match &ranks {
            None => ("title", SortValue::Title(&last.title_folded)),
            Some(ranks) => (
                "relevance",
                SortValue::Relevance(ranks[limit - 1].unwrap_or_default()),
            ),
        };
        let cursor = Cursor {
            sort,
            value,
            id: last.id,
        };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).expect("a cursor serialises"))
    });
    (books, next_cursor)
}

/// folio's `text::query_tokens`: the query folded (lower case, accents dropped, every run of
/// other characters one space), at most 12 words.
fn query_tokens(query: &str) -> Vec<String> {
    fold(query)
        .split(' ')
        .filter(|t| !t.is_empty())
        .take(12)
        .map(str::to_string)
        .collect()
}

fn fold(text: &str) -> String {
    if text.is_ascii() {
        fold_chars(text.chars(), text.len())
    } else {
        fold_chars(text.nfkd().filter(|c| !is_combining_mark(*c)), text.len())
    }
}

fn fold_chars(chars: impl Iterator<Item = char>, capacity: usize) -> String {
    let mut folded = String::with_capacity(capacity);
    let mut pending_space = false;
    for c in chars {
        if c.is_alphanumeric() {
            if pending_space && !folded.is_empty() {
                folded.push(' ');
            }
            pending_space = false;
            folded.extend(c.to_lowercase());
        } else {
            pending_space = true;
        }
    }
    folded
}

pub(crate) use sqlite::book_row;

/// The reads on SQLite: rusqlite, blocking, on the one reader [`Readers::run`] lent the
/// request. Statements stay prepared on their connection.
///
/// [`Readers::run`]: crate::db::Readers::run
mod sqlite {
    use rusqlite::{Connection, Row, params_from_iter};

    use std::collections::HashMap;

    use super::{
        Author, BOOK_BY_ID, Book, BookRow, Category, Contributor, EDITIONS_OF_BOOKS,
        EDITIONS_ORDER, Edition, FIRST_PAGE, Listing, Page, PartsRow, SEARCH_SQLITE, attach,
        page_of, parts_head,
    };
    use crate::ApiError;
    use crate::db::in_list;

    pub fn book_row(row: &Row<'_>) -> rusqlite::Result<BookRow> {
        Ok((
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
            row.get(5)?,
            row.get(6)?,
            row.get(7)?,
            row.get(8)?,
            row.get(9)?,
            row.get(10)?,
        ))
    }

    pub fn book(conn: &Connection, id: i64) -> Result<Option<Book>, ApiError> {
        let mut statement = conn.prepare_cached(BOOK_BY_ID)?;
        let mut rows = statement.query((id, 1_i64))?;
        let Some(row) = rows.next()? else {
            return Ok(None);
        };
        let book = Book::from(book_row(row)?);
        Ok(details(conn, vec![book])?.pop())
    }

    pub fn list(conn: &Connection, listing: &Listing, limit: usize) -> Result<Page, ApiError> {
        // One row more than the page shows, to know whether another page follows.
        let fetch = limit as i64 + 1;
        let (rows, ranks) = match listing {
            Listing::Title => {
                let mut statement = conn.prepare_cached(FIRST_PAGE)?;
                let rows = statement.query_map([fetch], book_row)?;
                (rows.collect::<rusqlite::Result<_>>()?, None)
            }
            Listing::Search(tokens) => {
                // Each token quoted and starred: every word is a prefix.
                let matching: Vec<String> = tokens.iter().map(|t| format!("\"{t}\"*")).collect();
                let mut statement = conn.prepare_cached(SEARCH_SQLITE)?;
                let rows = statement
                    .query_map((matching.join(" "), fetch, fetch), |row| {
                        Ok((book_row(row)?, row.get::<_, Option<f64>>(11)?))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                let (rows, ranks) = rows.into_iter().unzip();
                (rows, Some(ranks))
            }
        };
        let (books, next_cursor) = page_of(rows, ranks, limit);
        Ok(Page {
            items: page_details(conn, books)?,
            next_cursor,
        })
    }

    /// A page's authors, categories, editions and the editions' contributors: folio's four
    /// plain statements on SQLite (`books_sqlite` in src/repo/book_view.rs).
    fn page_details(conn: &Connection, mut books: Vec<Book>) -> Result<Vec<Book>, ApiError> {
        if books.is_empty() {
            return Ok(books);
        }
        let at: HashMap<i64, usize> = books.iter().enumerate().map(|(i, b)| (b.id, i)).collect();
        let ids = || params_from_iter(books.iter().map(|b| b.id).collect::<Vec<_>>());

        let sql = in_list(
            "SELECT ba.book_id, a.id, a.name FROM book_author ba \
             JOIN author a ON a.id = ba.author_id WHERE ba.book_id IN (",
            books.len(),
            ") ORDER BY ba.book_id, ba.position",
        );
        let authors = conn
            .prepare_cached(&sql)?
            .query_map(ids(), |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    Author {
                        id: row.get(1)?,
                        name: row.get(2)?,
                    },
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;

        let sql = in_list(
            "SELECT bc.book_id, c.id, c.name, c.slug FROM book_category bc \
             JOIN category c ON c.id = bc.category_id WHERE bc.book_id IN (",
            books.len(),
            ") ORDER BY bc.book_id, c.name",
        );
        let categories = conn
            .prepare_cached(&sql)?
            .query_map(ids(), |row| {
                let category = Category {
                    id: row.get(1)?,
                    name: row.get(2)?,
                    slug: row.get(3)?,
                };
                Ok((row.get::<_, i64>(0)?, category))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;

        let sql = in_list(EDITIONS_OF_BOOKS, books.len(), EDITIONS_ORDER);
        let editions = conn
            .prepare_cached(&sql)?
            .query_map(ids(), |row| {
                Ok(Edition {
                    id: row.get(0)?,
                    book_id: row.get(1)?,
                    format: row.get(2)?,
                    isbn: row.get(3)?,
                    catalog_number: row.get(4)?,
                    publisher: row.get(5)?,
                    release_date: row.get(6)?,
                    language: row.get(7)?,
                    pages: row.get(8)?,
                    duration_seconds: row.get(9)?,
                    price_minor: row.get(10)?,
                    currency: row.get(11)?,
                    contributors: vec![],
                    created_at: row.get(12)?,
                    updated_at: row.get(13)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;

        let mut contributors: HashMap<i64, Vec<Contributor>> = HashMap::new();
        if !editions.is_empty() {
            let sql = in_list(
                "SELECT ec.edition_id, ec.author_id, a.name, ec.role FROM edition_contributor ec \
                 JOIN author a ON a.id = ec.author_id WHERE ec.edition_id IN (",
                editions.len(),
                ") ORDER BY ec.edition_id, ec.position",
            );
            let rows = conn
                .prepare_cached(&sql)?
                .query_map(params_from_iter(editions.iter().map(|e| e.id)), |row| {
                    let contributor = Contributor {
                        author_id: row.get(1)?,
                        name: row.get(2)?,
                        role: row.get(3)?,
                    };
                    Ok((row.get::<_, i64>(0)?, contributor))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            for (edition_id, contributor) in rows {
                contributors
                    .entry(edition_id)
                    .or_default()
                    .push(contributor);
            }
        }

        for (book_id, author) in authors {
            books[at[&book_id]].authors.push(author);
        }
        for (book_id, category) in categories {
            books[at[&book_id]].categories.push(category);
        }
        for mut edition in editions {
            edition.contributors = contributors.remove(&edition.id).unwrap_or_default();
            books[at[&edition.book_id]].editions.push(edition);
        }
        Ok(books)
    }

    /// A book with its authors, categories and editions (with contributors), in folio's one
    /// statement for a single book (`book_sqlite` in src/repo/book_view.rs).
    fn details(conn: &Connection, books: Vec<Book>) -> Result<Vec<Book>, ApiError> {
        if books.is_empty() {
            return Ok(books);
        }
        let sql = in_list(&parts_head(false), books.len(), ")");
        let mut statement = conn.prepare_cached(&sql)?;
        let ids = params_from_iter(books.iter().map(|b| b.id));
        let parts = statement
            .query_map(ids, |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })?
            .collect::<rusqlite::Result<Vec<PartsRow>>>()?;
        attach(books, parts)
    }
}

/// The reads on PostgreSQL: sqlx, one statement at a time, as folio's driver runs them.
mod postgres {
    use sqlx::PgPool;

    use super::{
        BOOK_BY_ID, Book, BookRow, FIRST_PAGE, Listing, Page, PartsRow, RankedRow, SEARCH_POSTGRES,
        attach, page_of, parts_head, split_rank,
    };
    use crate::ApiError;
    use crate::db::{in_list, postgres_sql};

    pub async fn book(pool: &PgPool, id: i64) -> Result<Option<Book>, ApiError> {
        let row: Option<BookRow> = sqlx::query_as(postgres_sql(BOOK_BY_ID))
            .bind(id)
            .bind(1_i64)
            .fetch_optional(pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(details(pool, vec![row.into()]).await?.pop())
    }

    pub async fn list(pool: &PgPool, listing: &Listing, limit: usize) -> Result<Page, ApiError> {
        // One row more than the page shows, to know whether another page follows.
        let fetch = limit as i64 + 1;
        let (rows, ranks) = match listing {
            Listing::Title => {
                let rows: Vec<BookRow> = sqlx::query_as(postgres_sql(FIRST_PAGE))
                    .bind(fetch)
                    .fetch_all(pool)
                    .await?;
                (rows, None)
            }
            Listing::Search(tokens) => {
                let matching: Vec<String> = tokens.iter().map(|t| format!("{t}:*")).collect();
                let tsquery = matching.join(" & ");
                let rows: Vec<RankedRow> = sqlx::query_as(SEARCH_POSTGRES)
                    .bind(&tsquery)
                    .bind(&tsquery)
                    .bind(fetch)
                    .bind(fetch)
                    .fetch_all(pool)
                    .await?;
                let (rows, ranks) = rows.into_iter().map(split_rank).unzip();
                (rows, Some(ranks))
            }
        };
        let (books, next_cursor) = page_of(rows, ranks, limit);
        Ok(Page {
            items: details(pool, books).await?,
            next_cursor,
        })
    }

    /// The books with their authors, categories and editions (with contributors), in folio's
    /// one statement.
    async fn details(pool: &PgPool, books: Vec<Book>) -> Result<Vec<Book>, ApiError> {
        if books.is_empty() {
            return Ok(books);
        }
        let sql = in_list(&parts_head(true), books.len(), ")");
        let mut query = sqlx::query_as(postgres_sql(&sql));
        for book in &books {
            query = query.bind(book.id);
        }
        let parts: Vec<PartsRow> = query.fetch_all(pool).await?;
        attach(books, parts)
    }
}
