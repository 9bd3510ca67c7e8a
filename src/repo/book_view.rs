//! Books and editions with everything the API shows of them, loaded for a whole page in a
//! fixed number of statements (never one per row).
//!
//! Through SeaORM (PostgreSQL, and SQLite outside the hot reads) a page costs one statement
//! beside the list's own: the database aggregates each book's authors, categories and editions
//! (with their contributors) to JSON, so the page pays one round trip, not four. On SQLite's hot
//! reader, where a statement costs no round trip, a page reads the same parts as plain rows,
//! four `… IN (…)` statements: building and parsing the JSON, and the sorter each aggregate's
//! `ORDER BY` opens per book, made up 40 % of a 20-book page's statements (bench/README.md). A
//! single book keeps the one JSON statement there, which reads it in half the time of four.

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QueryTrait, Value,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::db::{DbError, HotRead};
use crate::entity::enums::{ContributorRole, EditionFormat};
use crate::entity::{book, edition};

#[derive(Debug, Clone, PartialEq, FromQueryResult, Deserialize)]
pub struct AuthorRef {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, FromQueryResult, Deserialize)]
pub struct CategoryRef {
    pub id: i64,
    pub name: String,
    pub slug: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ContributorRef {
    pub author_id: i64,
    pub name: String,
    pub role: ContributorRole,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EditionView {
    pub edition: edition::Model,
    pub contributors: Vec<ContributorRef>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BookView {
    pub book: book::Model,
    pub authors: Vec<AuthorRef>,
    pub categories: Vec<CategoryRef>,
    pub editions: Vec<EditionView>,
}

#[derive(FromQueryResult)]
struct Contribution {
    edition_id: i64,
    author_id: i64,
    name: String,
    role: ContributorRole,
}

/// What a book shows beside its own columns, each part aggregated to a JSON array by the
/// database: one statement for a whole page, instead of one per part.
#[derive(FromQueryResult)]
struct BookParts {
    book_id: i64,
    authors: String,
    categories: String,
    editions: String,
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
            },
            contributors: e.contributors,
        }
    }
}

fn in_list(ids: &[i64]) -> (String, Vec<Value>) {
    (
        vec!["?"; ids.len()].join(", "),
        ids.iter().map(|id| (*id).into()).collect(),
    )
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

/// The statement behind [`books`]: per book, its authors in credit order, its categories by
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
    format!(
        "SELECT b.id AS book_id, \
           (SELECT {authors} FROM book_author ba JOIN author a ON a.id = ba.author_id \
             WHERE ba.book_id = b.id){text} AS authors, \
           (SELECT {categories} FROM book_category bc JOIN category c ON c.id = bc.category_id \
             WHERE bc.book_id = b.id){text} AS categories, \
           (SELECT {editions} FROM edition e WHERE e.book_id = b.id){text} AS editions \
         FROM book b WHERE b.id IN ({placeholders})"
    )
}

fn parse<T: DeserializeOwned>(json: &str) -> Result<T, DbError> {
    serde_json::from_str(json).map_err(|e| DbError::Internal(DbErr::Json(e.to_string())))
}

/// The page of books with their authors (in credit order), categories and editions: one
/// statement for any number of books.
pub async fn books(
    conn: &impl ConnectionTrait,
    books: Vec<book::Model>,
) -> Result<Vec<BookView>, DbError> {
    if books.is_empty() {
        return Ok(vec![]);
    }
    let statement = parts_of(conn.get_database_backend(), &books);
    let parts = BookParts::find_by_statement(statement).all(conn).await?;
    assemble(books, parts)
}

/// One book with its parts on SQLite's hot reader: [`books`]' statement.
pub fn book_sqlite(read: &HotRead<'_>, book: book::Model) -> Result<BookView, DbError> {
    // Built once: formatting it anew was 1.5 % of a book by id's CPU.
    static ONE_BOOK: OnceLock<String> = OnceLock::new();
    let sql = ONE_BOOK.get_or_init(|| parts_statement(DbBackend::Sqlite, "?"));
    let parts = read.query_sql(sql, &[book.id.into()], |row| {
        Ok(BookParts {
            book_id: row.get(0)?,
            authors: row.get(1)?,
            categories: row.get(2)?,
            editions: row.get(3)?,
        })
    })?;
    let mut views = assemble(vec![book], parts)?;
    Ok(views.pop().expect("one book in, one view out"))
}

/// A page of books with their parts on SQLite's hot reader, as [`books`] shows them: the
/// authors, categories, editions, and the editions' contributors, one plain statement each.
pub fn books_sqlite(read: &HotRead<'_>, books: Vec<book::Model>) -> Result<Vec<BookView>, DbError> {
    if books.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<i64> = books.iter().map(|b| b.id).collect();
    // SQLite's placeholders are `?` as written: the SQL goes to the reader unchanged.
    let (placeholders, values) = in_list(&ids);

    let mut authors = by_key(read.query_sql(
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
    )?);
    let mut categories = by_key(read.query_sql(
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
    )?);

    let editions_of_page = edition::Entity::find()
        .filter(edition::Column::BookId.is_in(ids))
        .order_by_asc(edition::Column::BookId)
        .order_by_asc(edition::Column::Id)
        .build(DbBackend::Sqlite);
    let found = read.query(&editions_of_page, super::edition::edition_from_row)?;
    let mut contributors = contributors_sqlite(read, &found)?;
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
            book,
        })
        .collect())
}

/// Rows of (owner id, item) gathered per owner, each owner's items in the rows' order.
fn by_key<T>(rows: Vec<(i64, T)>) -> HashMap<i64, Vec<T>> {
    let mut grouped: HashMap<i64, Vec<T>> = HashMap::new();
    for (key, item) in rows {
        grouped.entry(key).or_default().push(item);
    }
    grouped
}

/// The contributors of `editions`, in credit order, by edition id; no statement when there
/// are no editions.
fn contributors_sqlite(
    read: &HotRead<'_>,
    editions: &[edition::Model],
) -> Result<HashMap<i64, Vec<ContributorRef>>, DbError> {
    if editions.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<i64> = editions.iter().map(|e| e.id).collect();
    let (placeholders, values) = in_list(&ids);
    let rows = read.query_sql(&contributors_sql(&placeholders), &values, |row| {
        let contributor = ContributorRef {
            author_id: row.get(1)?,
            name: row.get(2)?,
            role: super::edition::stored_enum(row, 3)?,
        };
        Ok((row.get(0)?, contributor))
    })?;
    Ok(by_key(rows))
}

/// The contributors of the editions in `placeholders`: edition id, author id, name and role,
/// in credit order.
fn contributors_sql(placeholders: &str) -> String {
    format!(
        "SELECT ec.edition_id, ec.author_id, a.name, ec.role FROM edition_contributor ec \
         JOIN author a ON a.id = ec.author_id \
         WHERE ec.edition_id IN ({placeholders}) ORDER BY ec.edition_id, ec.position"
    )
}

fn parts_of(backend: DbBackend, books: &[book::Model]) -> sea_orm::Statement {
    let ids: Vec<i64> = books.iter().map(|b| b.id).collect();
    let (placeholders, values) = in_list(&ids);
    super::statement(backend, &parts_statement(backend, &placeholders), values)
}

/// Each book with its parts, in the order the books came.
fn assemble(books: Vec<book::Model>, parts: Vec<BookParts>) -> Result<Vec<BookView>, DbError> {
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
                });
            };
            let editions: Vec<EditionJson> = parse(&part.editions)?;
            Ok(BookView {
                authors: parse(&part.authors)?,
                categories: parse(&part.categories)?,
                editions: editions.into_iter().map(EditionView::from).collect(),
                book,
            })
        })
        .collect()
}

/// Editions with their contributors (in order): one statement for any number of editions.
pub async fn with_contributors(
    conn: &impl ConnectionTrait,
    editions: Vec<edition::Model>,
) -> Result<Vec<EditionView>, DbError> {
    if editions.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<i64> = editions.iter().map(|e| e.id).collect();
    let (placeholders, values) = in_list(&ids);
    let rows = Contribution::find_by_statement(super::statement(
        conn.get_database_backend(),
        &contributors_sql(&placeholders),
        values,
    ))
    .all(conn)
    .await?;
    let mut contributors = by_key(
        rows.into_iter()
            .map(|r| {
                let contributor = ContributorRef {
                    author_id: r.author_id,
                    name: r.name,
                    role: r.role,
                };
                (r.edition_id, contributor)
            })
            .collect(),
    );
    Ok(editions
        .into_iter()
        .map(|edition| EditionView {
            contributors: contributors.remove(&edition.id).unwrap_or_default(),
            edition,
        })
        .collect())
}
