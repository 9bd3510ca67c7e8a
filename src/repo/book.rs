//! Books: writes, and the list behind `GET /books` — filters, full-text search, five sort
//! orders, keyset pages. A page costs the same at any depth: one statement (two in year order
//! where the books with a year give way to those without).

use sea_orm::sea_query::{
    Alias, Condition, Expr, ExprTrait, JoinType, NullOrdering, Order, Query, SelectStatement,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, Iterable, QueryFilter,
    QueryTrait, Set, Value,
};
use serde::{Deserialize, Serialize};

use super::{Page, PerBackend, search};
use crate::db::{DbError, Read, Row};
use crate::entity::enums::EditionFormat;
use crate::entity::{book, book_author, book_category, edition, edition_file};
use crate::text;

/// The editable fields of a book.
#[derive(Debug, Clone, Default)]
pub struct BookFields {
    pub title: String,
    pub subtitle: Option<String>,
    pub description: Option<String>,
    pub original_year: Option<i32>,
    pub language: Option<String>,
    pub series: Option<String>,
    /// Only with a series.
    pub series_number: Option<f64>,
    /// Ratings counted by another catalog (0 when none was imported).
    pub popularity_prior: i64,
}

/// A new book's row, not yet written; its id is the database's to give unless set.
pub fn new_row(fields: BookFields, now: sea_orm::prelude::DateTimeUtc) -> book::ActiveModel {
    book::ActiveModel {
        title_folded: Set(text::fold(&fields.title)),
        title: Set(fields.title),
        subtitle: Set(fields.subtitle),
        description: Set(fields.description),
        original_year: Set(fields.original_year),
        language: Set(fields.language),
        rating_count: Set(0),
        rating_sum: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        series_folded: Set(fields.series.as_deref().map(text::fold)),
        series: Set(fields.series),
        series_number: Set(fields.series_number),
        popularity_prior: Set(fields.popularity_prior),
        activity: Set(0),
        ..Default::default()
    }
}

#[tracing::instrument(
    level = "debug",
    name = "repo.book.insert",
    skip_all,
    err(level = "debug")
)]
pub async fn insert(
    conn: &impl ConnectionTrait,
    fields: BookFields,
) -> Result<book::Model, DbError> {
    Ok(new_row(fields, crate::db::now()).insert(conn).await?)
}

/// A book by id: SeaORM's statement for it (without its `LIMIT 1`, which a primary key makes
/// moot), built once per backend: building it anew was 3 % of a book by id's CPU.
#[tracing::instrument(
    level = "debug",
    name = "repo.book.find",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn find<'a>(read: impl Into<Read<'a>>, id: i64) -> Result<Option<book::Model>, DbError> {
    let read = read.into();
    static BY_ID: PerBackend = PerBackend::new();
    let sql = BY_ID.sql(read.backend(), |backend| {
        book::Entity::find_by_id(0).build(backend).sql
    });
    Ok(read.rows(sql, &[id.into()], decode).await?.pop())
}

/// The books of `ids` that exist, in no particular order.
#[tracing::instrument(
    level = "debug",
    name = "repo.book.find_many",
    skip_all,
    err(level = "debug")
)]
pub async fn find_many<'a>(
    read: impl Into<Read<'a>>,
    ids: &[i64],
) -> Result<Vec<book::Model>, DbError> {
    let read = read.into();
    let statement = book::Entity::find()
        .filter(book::Column::Id.is_in(ids.iter().copied()))
        .build(read.backend());
    read.statement(&statement, decode).await
}

/// A `book` row, its columns in declaration order as SeaORM selects them. A test checks this
/// against SeaORM's own decoding, so the two cannot drift apart unnoticed.
pub fn decode(row: &Row<'_>) -> Result<book::Model, DbError> {
    Ok(book::Model {
        id: row.get(0)?,
        title: row.get(1)?,
        title_folded: row.get(2)?,
        subtitle: row.get(3)?,
        description: row.get(4)?,
        original_year: row.get(5)?,
        language: row.get(6)?,
        rating_count: row.get(7)?,
        rating_sum: row.get(8)?,
        created_at: row.get(9)?,
        updated_at: row.get(10)?,
        series: row.get(11)?,
        series_folded: row.get(12)?,
        series_number: row.get(13)?,
        popularity_prior: row.get(14)?,
        activity: row.get(15)?,
    })
}

/// Writes `fields` over the book's; `updated_at` moves.
#[tracing::instrument(
    level = "debug",
    name = "repo.book.update",
    skip_all,
    err(level = "debug")
)]
pub async fn update(
    conn: &impl ConnectionTrait,
    existing: book::Model,
    fields: BookFields,
) -> Result<book::Model, DbError> {
    let mut active: book::ActiveModel = existing.into();
    active.title_folded = Set(text::fold(&fields.title));
    active.title = Set(fields.title);
    active.subtitle = Set(fields.subtitle);
    active.description = Set(fields.description);
    active.original_year = Set(fields.original_year);
    active.language = Set(fields.language);
    active.series_folded = Set(fields.series.as_deref().map(text::fold));
    active.series = Set(fields.series);
    active.series_number = Set(fields.series_number);
    active.popularity_prior = Set(fields.popularity_prior);
    active.updated_at = Set(crate::db::now());
    Ok(active.update(conn).await?)
}

/// Deletes the book with its editions, comments, progress and notes; a Conflict when one of
/// its editions has been purchased.
#[tracing::instrument(
    level = "debug",
    name = "repo.book.delete",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn delete(conn: &impl ConnectionTrait, id: i64) -> Result<bool, DbError> {
    let result = book::Entity::delete_by_id(id)
        .exec(conn)
        .await
        .map_err(DbError::on_delete)?;
    Ok(result.rows_affected == 1)
}

/// Replaces the book's authors with `author_ids`, in that credit order.
#[tracing::instrument(
    level = "debug",
    name = "repo.book.set_authors",
    skip_all,
    fields(book_id),
    err(level = "debug")
)]
pub async fn set_authors(
    conn: &impl ConnectionTrait,
    book_id: i64,
    author_ids: &[i64],
) -> Result<(), DbError> {
    book_author::Entity::delete_many()
        .filter(book_author::Column::BookId.eq(book_id))
        .exec(conn)
        .await?;
    if author_ids.is_empty() {
        return Ok(());
    }
    let rows =
        author_ids
            .iter()
            .enumerate()
            .map(|(position, author_id)| book_author::ActiveModel {
                book_id: Set(book_id),
                author_id: Set(*author_id),
                position: Set(position as i32),
            });
    book_author::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

#[tracing::instrument(
    level = "debug",
    name = "repo.book.set_categories",
    skip_all,
    fields(book_id),
    err(level = "debug")
)]
pub async fn set_categories(
    conn: &impl ConnectionTrait,
    book_id: i64,
    category_ids: &[i64],
) -> Result<(), DbError> {
    book_category::Entity::delete_many()
        .filter(book_category::Column::BookId.eq(book_id))
        .exec(conn)
        .await?;
    if category_ids.is_empty() {
        return Ok(());
    }
    let rows = category_ids
        .iter()
        .map(|category_id| book_category::ActiveModel {
            book_id: Set(book_id),
            category_id: Set(*category_id),
        });
    book_category::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Files each book under a category: (book id, category id) pairs, in a few statements.
#[tracing::instrument(
    level = "debug",
    name = "repo.book.file_all",
    skip_all,
    err(level = "debug")
)]
pub async fn file_all(conn: &impl ConnectionTrait, pairs: &[(i64, i64)]) -> Result<(), DbError> {
    let rows = pairs
        .iter()
        .map(|&(book_id, category_id)| book_category::ActiveModel {
            book_id: Set(book_id),
            category_id: Set(category_id),
        })
        .collect();
    super::bulk::insert_all(conn, rows).await
}

/// What `GET /books` narrows the catalog by; all conditions apply together.
#[derive(Debug, Clone, Default)]
pub struct BookFilter {
    pub author_id: Option<i64>,
    /// A category and everything below it; an empty list matches nothing.
    pub category_ids: Option<Vec<i64>>,
    pub format: Option<EditionFormat>,
    pub year_from: Option<i32>,
    pub year_to: Option<i32>,
    pub language: Option<String>,
    /// A series' folded name.
    pub series: Option<String>,
    /// The search, as the index takes it.
    pub search: Option<search::Terms>,
    /// Only books with something to read or buy: an edition with files or a price.
    pub acquirable: bool,
}

impl BookFilter {
    /// Whether nothing narrows the listing: the catalog in one of its orders.
    pub fn is_empty(&self) -> bool {
        self.search.is_none() && self.searches_only()
    }

    /// Whether the search is all that narrows the listing.
    fn searches_only(&self) -> bool {
        self.author_id.is_none()
            && self.category_ids.is_none()
            && self.format.is_none()
            && self.year_from.is_none()
            && self.year_to.is_none()
            && self.language.is_none()
            && self.series.is_none()
            && !self.acquirable
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Title,
    Year,
    Created,
    /// Most rated first when descending (`rating_count`).
    Popular,
    /// Search relevance; only with a search.
    Relevance,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookOrder {
    pub key: SortKey,
    pub descending: bool,
}

/// Where the previous page ended: the last row's sort value and id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SortValue {
    Title(String),
    Year(Option<i32>),
    Created(chrono::DateTime<chrono::Utc>),
    Popular(i64),
    /// The search tier, and the book's search key within it (see `repo::search`).
    Relevance(search::Tier, i64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct BookRow {
    pub book: book::Model,
    /// Where the book stands in a search in relevance order.
    pub relevance: Option<(search::Tier, i64)>,
}

impl BookRow {
    pub fn sort_value(&self, key: SortKey) -> SortValue {
        match key {
            SortKey::Title => SortValue::Title(self.book.title_folded.clone()),
            SortKey::Year => SortValue::Year(self.book.original_year),
            SortKey::Created => SortValue::Created(self.book.created_at),
            SortKey::Popular => SortValue::Popular(self.book.rating_count),
            SortKey::Relevance => {
                let (tier, key) = self.relevance.unwrap_or((search::Tier::CorrectedAny, 0));
                SortValue::Relevance(tier, key)
            }
        }
    }
}

const MATCHES: &str = "m";

/// A page of books: at most `limit` after `after`, in `order`, narrowed by `filter`.
#[tracing::instrument(
    level = "debug",
    name = "repo.book.list",
    skip_all,
    fields(limit),
    err(level = "debug")
)]
pub async fn list<'a>(
    read: impl Into<Read<'a>>,
    filter: &BookFilter,
    order: BookOrder,
    after: Option<(SortValue, i64)>,
    limit: u64,
) -> Result<Page<BookRow>, DbError> {
    let read = read.into();
    let backend = read.backend();
    if filter.search.as_ref().is_some_and(|t| t.tiers().is_empty()) {
        // The vocabulary says no book can match.
        return Ok(Page::from_overfetch(vec![], limit));
    }
    if order.key == SortKey::Relevance {
        return list_relevant(read, filter, after, limit).await;
    }
    let mut books = Vec::new();
    for after in starts(order, after) {
        let Some(room) = room_left(&books, limit) else {
            break;
        };
        let query = list_query(backend, filter, order, after, room)?;
        let statement = backend.build(&query);
        let rows = read
            .statement(&statement, |row| {
                Ok(BookRow {
                    book: decode(row)?,
                    relevance: None,
                })
            })
            .await?;
        books.extend(rows);
    }
    Ok(Page::from_overfetch(books, limit))
}

/// A page of a search in relevance order: tier after tier (see `repo::search`), each read in
/// its key order from the cursor on, until the page is full. On SQLite the key is the index's
/// rowid, so a tier's statement reads no further than the page needs; a filter is checked on
/// each match as it comes.
async fn list_relevant(
    read: Read<'_>,
    filter: &BookFilter,
    after: Option<(SortValue, i64)>,
    limit: u64,
) -> Result<Page<BookRow>, DbError> {
    let backend = read.backend();
    let Some(terms) = &filter.search else {
        return Err(DbError::Invalid {
            field: "sort".into(),
        });
    };
    let after = match after {
        None => None,
        Some((SortValue::Relevance(tier, key), _)) => Some((tier, key)),
        Some(_) => {
            return Err(DbError::Invalid {
                field: "cursor".into(),
            });
        }
    };
    let key_at = book::Column::iter().count();
    let mut books: Vec<BookRow> = Vec::new();
    for tier in terms.tiers() {
        if after.is_some_and(|(after_tier, _)| tier < after_tier) {
            continue;
        }
        let Some(room) = room_left(&books, limit) else {
            break;
        };
        let after_key = after.and_then(|(t, key)| (t == tier).then_some(key));
        let query = tier_query(backend, filter, terms, tier, after_key, room);
        let statement = backend.build(&query);
        let rows = read
            .statement(&statement, |row| {
                Ok(BookRow {
                    book: decode(row)?,
                    relevance: Some((tier, row.get(key_at)?)),
                })
            })
            .await?;
        books.extend(rows);
    }
    Ok(Page::from_overfetch(books, limit))
}

/// The statement of one tier of a relevance page: the tier's matches in key order after
/// `after_key`, joined to their books, filtered, at most `room + 1`.
fn tier_query(
    backend: DbBackend,
    filter: &BookFilter,
    terms: &search::Terms,
    tier: search::Tier,
    after_key: Option<i64>,
    room: u64,
) -> SelectStatement {
    let (key, id, matched) = search::tier_source(backend, terms, tier);
    let mut query = Query::select();
    query
        .columns(book::Column::iter().map(|c| (book::Entity, c)))
        .expr(Expr::cust(key.clone()));
    if backend == DbBackend::Postgres && terms.plan() == search::Plan::MatchesFirst {
        // The matches first, fenced off (OFFSET) so the planner cannot walk the keys instead.
        let mut matches = Query::select();
        matches
            .columns([Alias::new("book_id"), Alias::new("search_key")])
            .from(Alias::new("book_search"))
            .and_where(matched)
            .offset(0);
        query.from_subquery(matches, Alias::new("book_search"));
    } else {
        query.from(Alias::new("book_search")).and_where(matched);
    }
    query
        // The index drives, in key order; each match's book by its id (see `list_query` for
        // why SQLite is told the join order).
        .cross_join(book::Entity)
        .and_where(Expr::cust(format!("book.id = {id}")));
    if let Some(after_key) = after_key {
        query.and_where(Expr::cust(key.clone()).gt(after_key));
    }
    apply_filter(&mut query, filter);
    query
        .order_by_expr(Expr::cust(key), Order::Asc)
        .limit(room + 1);
    query
}

/// Where a page's statements start. One statement, but for a page in year order after a book
/// with a year: books without a year come last, and "after this book, or without a year" is an
/// `OR` no index can seek, which read a million-book catalog from its start (60 ms deep in it).
/// So the books with a year later than the cursor's are one statement, and, only when they do
/// not fill the page, the books without a year (all of them, by id) a second. The second
/// starts past the ends of the id range (ids are positive and given by the database), and
/// reads the catalog as it is then: a book whose year was removed between the two could show
/// twice on that one page, as a keyset page may after any edit between two pages.
fn starts(order: BookOrder, after: Option<(SortValue, i64)>) -> Vec<Option<(SortValue, i64)>> {
    match after {
        Some((SortValue::Year(Some(year)), id)) if order.key == SortKey::Year => {
            let first_without_year = if order.descending { i64::MAX } else { i64::MIN };
            vec![
                Some((SortValue::Year(Some(year)), id)),
                Some((SortValue::Year(None), first_without_year)),
            ]
        }
        after => vec![after],
    }
}

/// How many more rows a page wants (its `limit`, the statement overfetching one more to tell
/// whether another page follows); `None` once it has them.
fn room_left(books: &[BookRow], limit: u64) -> Option<u64> {
    let have = books.len() as u64;
    (have <= limit).then(|| limit - have)
}

/// The statement behind a page of books: filters, search, order and the keyset cursor.
fn list_query(
    backend: DbBackend,
    filter: &BookFilter,
    order: BookOrder,
    after: Option<(SortValue, i64)>,
    limit: u64,
) -> Result<SelectStatement, DbError> {
    let mut query = Query::select();
    query.columns(book::Column::iter().map(|c| (book::Entity, c)));
    match &filter.search {
        None => {
            query.from(book::Entity);
        }
        Some(terms) => {
            let matches = search::matches(backend, terms);
            let on = Expr::col((Alias::new(MATCHES), Alias::new(search::MATCHED_ID)))
                .equals((book::Entity, book::Column::Id));
            if backend == DbBackend::Sqlite {
                // The match drives, evaluated once: SQLite flattens the subquery and, left to
                // choose, loops over the books a filter leaves and runs the whole MATCH again
                // for each: `?q=a&format=print` took 7 s on 10,000 books and held a reader all
                // that time. `CROSS JOIN` fixes SQLite's join order to the written one
                // (sea-query writes no `ON` for it, hence the `WHERE`; PostgreSQL plans the
                // inner join well by itself).
                query
                    .from_subquery(matches, Alias::new(MATCHES))
                    .cross_join(book::Entity)
                    .and_where(on);
            } else {
                query.from(book::Entity).join_subquery(
                    JoinType::InnerJoin,
                    matches,
                    Alias::new(MATCHES),
                    on,
                );
            }
        }
    }
    apply_filter(&mut query, filter);
    apply_order(&mut query, order, after)?;
    query.limit(limit + 1);
    Ok(query)
}

fn book_id() -> Expr {
    Expr::col((book::Entity, book::Column::Id))
}

fn apply_filter(query: &mut SelectStatement, filter: &BookFilter) {
    if let Some(author_id) = filter.author_id {
        query.and_where(
            book_id().in_subquery(
                Query::select()
                    .column(book_author::Column::BookId)
                    .from(book_author::Entity)
                    .and_where(Expr::col(book_author::Column::AuthorId).eq(author_id))
                    .to_owned(),
            ),
        );
    }
    if let Some(category_ids) = &filter.category_ids {
        query.and_where(
            book_id().in_subquery(
                Query::select()
                    .column(book_category::Column::BookId)
                    .from(book_category::Entity)
                    .and_where(
                        Expr::col(book_category::Column::CategoryId).is_in(category_ids.clone()),
                    )
                    .to_owned(),
            ),
        );
    }
    if let Some(format) = filter.format {
        let format: Value = format.into();
        query.and_where(
            book_id().in_subquery(
                Query::select()
                    .column(edition::Column::BookId)
                    .from(edition::Entity)
                    .and_where(Expr::col(edition::Column::Format).eq(format))
                    .to_owned(),
            ),
        );
    }
    if filter.acquirable {
        query.and_where(
            book_id().in_subquery(
                Query::select()
                    .column(edition::Column::BookId)
                    .from(edition::Entity)
                    .cond_where(
                        Condition::any()
                            .add(Expr::col(edition::Column::PriceMinor).is_not_null())
                            .add(
                                Expr::col(edition::Column::Id).in_subquery(
                                    Query::select()
                                        .column(edition_file::Column::EditionId)
                                        .from(edition_file::Entity)
                                        .to_owned(),
                                ),
                            ),
                    )
                    .to_owned(),
            ),
        );
    }
    let year = || Expr::col((book::Entity, book::Column::OriginalYear));
    if let Some(from) = filter.year_from {
        query.and_where(year().gte(from));
    }
    if let Some(to) = filter.year_to {
        query.and_where(year().lte(to));
    }
    if let Some(language) = &filter.language {
        query.and_where(Expr::col((book::Entity, book::Column::Language)).eq(language.clone()));
    }
    if let Some(series) = &filter.series {
        query.and_where(Expr::col((book::Entity, book::Column::SeriesFolded)).eq(series.clone()));
    }
}

/// `ORDER BY key, id` in the chosen direction, and the keyset condition that starts after the
/// previous page. Books without a year come last in both directions.
fn apply_order(
    query: &mut SelectStatement,
    order: BookOrder,
    after: Option<(SortValue, i64)>,
) -> Result<(), DbError> {
    let key: Expr = match order.key {
        SortKey::Title => Expr::col((book::Entity, book::Column::TitleFolded)),
        SortKey::Year => Expr::col((book::Entity, book::Column::OriginalYear)),
        SortKey::Created => Expr::col((book::Entity, book::Column::CreatedAt)),
        SortKey::Popular => Expr::col((book::Entity, book::Column::RatingCount)),
        // Read tier by tier in `list_relevant`, never here.
        SortKey::Relevance => {
            return Err(DbError::Invalid {
                field: "cursor".into(),
            });
        }
    };
    let direction = if order.descending {
        Order::Desc
    } else {
        Order::Asc
    };
    query
        .order_by_expr_with_nulls(key.clone(), direction.clone(), NullOrdering::Last)
        .order_by_expr(book_id(), direction);

    let Some((value, id)) = after else {
        return Ok(());
    };
    let beyond = |left: Expr, right: Expr| -> Expr {
        if order.descending {
            left.lt(right)
        } else {
            left.gt(right)
        }
    };
    let value: Option<Value> = match (order.key, value) {
        (SortKey::Title, SortValue::Title(v)) => Some(v.into()),
        (SortKey::Year, SortValue::Year(v)) => v.map(Value::from),
        (SortKey::Created, SortValue::Created(v)) => Some(v.into()),
        (SortKey::Popular, SortValue::Popular(v)) => Some(v.into()),
        _ => {
            return Err(DbError::Invalid {
                field: "cursor".into(),
            });
        }
    };
    // `(key, id) > (value, id)` rather than `key > value OR (key = value AND id > id)`: both
    // databases seek an index on (key, id) to a row value, but read the OR from the index's
    // start, so page 25,000 of a million books took 45 ms on SQLite where the first took 0.1.
    let condition = match value {
        // Books without a year follow in a statement of their own (see `starts`).
        Some(v) => beyond(
            Expr::tuple([key.clone(), book_id()]),
            Expr::tuple([Expr::val(v), Expr::val(id)]),
        ),
        // Only books without a year remain, by id.
        None => key.is_null().and(beyond(book_id(), Expr::val(id))),
    };
    query.cond_where(condition);
    Ok(())
}

#[cfg(test)]
mod tests {
    use sea_orm::{Database, Statement};

    use super::*;
    use crate::migration::{Migrator, MigratorTrait};

    /// What SQLite's planner does with a page's statement, one line per step.
    async fn plan(conn: &impl ConnectionTrait, query: &SelectStatement) -> Vec<String> {
        let statement = DbBackend::Sqlite.build(query);
        let explain = Statement::from_sql_and_values(
            DbBackend::Sqlite,
            format!("EXPLAIN QUERY PLAN {}", statement.sql),
            statement.values.map(|v| v.0).unwrap_or_default(),
        );
        conn.query_all_raw(explain)
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get::<String>("", "detail").unwrap())
            .collect()
    }

    /// A search narrowed by a filter, in any order: the full-text match is the outer loop,
    /// run once, and each match's book is looked up by id. The other way round SQLite ran the
    /// whole MATCH again for every book the filter let through (7 s for `?q=a&format=print`
    /// on 10,000 books).
    #[tokio::test]
    async fn a_filtered_search_runs_its_match_once_and_looks_books_up_by_id() {
        use crate::entity::enums::EditionFormat;
        let conn = Database::connect("sqlite::memory:").await.unwrap();
        Migrator::up(&conn, None).await.unwrap();
        let search = Some(search::Terms {
            words: vec![search::Word {
                text: "a".into(),
                is_term: true,
                extensions: None,
                corrections: vec!["b".into()],
                books: None,
            }],
            phrase: vec!["a".into()],
            phrase_possible: true,
            author_name: false,
        });
        let filters = [
            BookFilter {
                search: search.clone(),
                format: Some(EditionFormat::Print),
                ..Default::default()
            },
            BookFilter {
                search: search.clone(),
                author_id: Some(7),
                ..Default::default()
            },
            BookFilter {
                search: search.clone(),
                category_ids: Some(vec![1, 2]),
                ..Default::default()
            },
            BookFilter {
                search: search.clone(),
                year_from: Some(1900),
                language: Some("en".into()),
                ..Default::default()
            },
            BookFilter {
                search,
                ..Default::default()
            },
        ];
        for filter in &filters {
            for key in [
                SortKey::Title,
                SortKey::Year,
                SortKey::Created,
                SortKey::Popular,
            ] {
                let order = BookOrder {
                    key,
                    descending: false,
                };
                let query = list_query(DbBackend::Sqlite, filter, order, None, 20).unwrap();
                let steps = plan(&conn, &query).await;
                let step = |prefix: &str| steps.iter().position(|s| s.starts_with(prefix));
                let matched = step("SCAN book_search").or(step("CO-ROUTINE"));
                let book = step("SEARCH book USING INTEGER PRIMARY KEY");
                assert!(
                    matched.is_some() && book.is_some() && matched < book,
                    "{key:?}: {steps:?}"
                );
                assert!(
                    !steps.iter().any(|s| s.starts_with("SCAN book ")),
                    "{key:?}: {steps:?}"
                );
            }
        }
    }

    /// A relevance page reads each tier off the index in key order and stops when full: no
    /// sort of the matches, each match's book by id, the filters checked on the way.
    #[tokio::test]
    async fn a_relevance_page_reads_the_index_in_key_order_and_sorts_nothing() {
        use crate::entity::enums::EditionFormat;
        let conn = Database::connect("sqlite::memory:").await.unwrap();
        Migrator::up(&conn, None).await.unwrap();
        let terms = search::Terms {
            words: vec![
                search::Word {
                    text: "harry".into(),
                    is_term: true,
                    extensions: None,
                    corrections: vec![],
                    books: None,
                },
                search::Word {
                    text: "pottr".into(),
                    is_term: true,
                    extensions: None,
                    corrections: vec!["potter".into()],
                    books: None,
                },
            ],
            phrase: vec!["harry".into(), "pottr".into()],
            phrase_possible: true,
            author_name: true,
        };
        for filter in [
            BookFilter::default(),
            BookFilter {
                format: Some(EditionFormat::Ebook),
                year_from: Some(1990),
                ..Default::default()
            },
        ] {
            for tier in terms.tiers() {
                let query = tier_query(DbBackend::Sqlite, &filter, &terms, tier, Some(7), 20);
                let steps = plan(&conn, &query).await;
                assert!(
                    steps[0].starts_with("SCAN book_search VIRTUAL TABLE"),
                    "{tier:?}: {steps:?}"
                );
                assert!(
                    steps
                        .iter()
                        .any(|s| s.starts_with("SEARCH book USING INTEGER PRIMARY KEY")),
                    "{tier:?}: {steps:?}"
                );
                assert!(
                    !steps.iter().any(|s| s.contains("TEMP B-TREE")),
                    "{tier:?}: {steps:?}"
                );
            }
        }
    }

    /// The keyset promise (page 5,000 costs what page 1 costs) in the planner's words: after a
    /// cursor, every order seeks its index to the cursor rather than reading from the start.
    #[tokio::test]
    async fn a_page_after_a_cursor_seeks_its_index_instead_of_reading_from_the_start() {
        let conn = Database::connect("sqlite::memory:").await.unwrap();
        Migrator::up(&conn, None).await.unwrap();
        let cursors = [
            (SortKey::Title, SortValue::Title("middlemarch".into())),
            (SortKey::Year, SortValue::Year(Some(1871))),
            (SortKey::Year, SortValue::Year(None)),
            (SortKey::Created, SortValue::Created(chrono::Utc::now())),
            (SortKey::Popular, SortValue::Popular(12)),
        ];
        for (key, value) in cursors {
            for descending in [false, true] {
                let order = BookOrder { key, descending };
                for after in starts(order, Some((value.clone(), 42))) {
                    let query =
                        list_query(DbBackend::Sqlite, &BookFilter::default(), order, after, 20)
                            .unwrap();
                    let steps = plan(&conn, &query).await;
                    assert!(
                        steps.iter().any(|s| s.starts_with("SEARCH book USING")),
                        "{order:?} after {value:?}: {steps:?}"
                    );
                    assert!(
                        !steps.iter().any(|s| s.starts_with("SCAN book")),
                        "{order:?} after {value:?}: {steps:?}"
                    );
                }
            }
        }
    }
}
