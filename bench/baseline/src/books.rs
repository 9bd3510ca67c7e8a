//! `GET /api/v1/books/{id}` and `GET /api/v1/books` (the first page by title, or a search):
//! folio's statements (src/repo/book.rs, search.rs, book_view.rs) and folio's JSON.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::ApiError;
use crate::db::{Db, read};

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
/// description; lower rank is better on both.
const SEARCH_SQLITE: &str = concat!(
    "SELECT ",
    book_columns!(),
    r#", "m"."rank" AS "rank" FROM "book" INNER JOIN (SELECT rowid AS "matched_id", bm25(book_search, 10.0, 5.0, 1.0) AS "rank" FROM "book_search" WHERE book_search MATCH ?) AS "m" ON "m"."matched_id" = "book"."id" ORDER BY "m"."rank" ASC NULLS LAST, "book"."id" ASC LIMIT ?"#
);
const SEARCH_POSTGRES: &str = concat!(
    "SELECT ",
    book_columns!(),
    r#", "m"."rank" AS "rank" FROM "book" INNER JOIN (SELECT book_id AS "matched_id", CAST(-ts_rank('{0.1, 0.2, 0.4, 1.0}', document, to_tsquery('simple', $1)) AS DOUBLE PRECISION) AS "rank" FROM "book_search" WHERE document @@ to_tsquery('simple', $2)) AS "m" ON "m"."matched_id" = "book"."id" ORDER BY "m"."rank" ASC NULLS LAST, "book"."id" ASC LIMIT $3"#
);

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

/// The books with their authors, categories and editions (with contributors), in folio's one
/// statement.
async fn with_details(db: &Db, mut books: Vec<Book>) -> Result<Vec<Book>, ApiError> {
    if books.is_empty() {
        return Ok(books);
    }
    let ids: Vec<i64> = books.iter().map(|b| b.id).collect();
    let at: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let head = parts_head(db.is_postgres());
    let parts: Vec<(i64, String, String, String)> =
        read!(db, fetch_all(db.sql_in(&head, ids.len(), ")"), ..&ids))?;
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
) -> Result<Json<Book>, ApiError> {
    let Path(id) = id?;
    let db = &*db;
    let row: Option<BookRow> = read!(db, fetch_optional(db.sql(BOOK_BY_ID), id, 1_i64))?;
    let book = row.ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "No such book."))?;
    let mut books = with_details(db, vec![book.into()]).await?;
    Ok(Json(books.remove(0)))
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

pub async fn list_books(
    State(db): State<Arc<Db>>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<Page>, ApiError> {
    let Query(params) = params?;
    let db = &*db;
    let limit = match params.limit {
        None => 20,
        Some(n @ 1..=100) => n as usize,
        Some(_) => {
            let message = "limit must be from 1 to 100";
            return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message));
        }
    };
    // One row more than the page shows, to know whether another page follows.
    let fetch = limit as i64 + 1;

    let (rows, ranks): (Vec<BookRow>, Option<Vec<Option<f64>>>) = match &params.q {
        None => (read!(db, fetch_all(db.sql(FIRST_PAGE), fetch))?, None),
        Some(q) => {
            let tokens = query_tokens(q);
            if tokens.is_empty() {
                let page = Page {
                    items: vec![],
                    next_cursor: None,
                };
                return Ok(Json(page));
            }
            let rows: Vec<RankedRow> = match db {
                Db::Sqlite { reader, .. } => {
                    // Each token quoted and starred: every word is a prefix.
                    let matching: Vec<String> =
                        tokens.iter().map(|t| format!("\"{t}\"*")).collect();
                    sqlx::query_as(SEARCH_SQLITE)
                        .bind(matching.join(" "))
                        .bind(fetch)
                        .fetch_all(reader)
                        .await?
                }
                Db::Postgres(pool) => {
                    let matching: Vec<String> = tokens.iter().map(|t| format!("{t}:*")).collect();
                    let tsquery = matching.join(" & ");
                    sqlx::query_as(SEARCH_POSTGRES)
                        .bind(&tsquery)
                        .bind(&tsquery)
                        .bind(fetch)
                        .fetch_all(pool)
                        .await?
                }
            };
            let (rows, ranks) = rows.into_iter().map(split_rank).unzip();
            (rows, Some(ranks))
        }
    };

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
    Ok(Json(Page {
        items: with_details(db, books).await?,
        next_cursor,
    }))
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
