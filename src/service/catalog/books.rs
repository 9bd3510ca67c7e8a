//! Books: what they are, who wrote them, where they belong, and finding them.

use std::collections::BTreeMap;

use crate::db::{Database, DbError, Read};
use crate::entity::enums::EditionFormat;
use crate::repo::book::BookFilter;
pub use crate::repo::book::{BookFields, BookOrder, SortKey, SortValue};
use crate::repo::book_view;
pub use crate::repo::book_view::BookView;
use crate::repo::{self, Page};
use crate::service::auth::Principal;
use crate::service::validate::{self, Checks};
use crate::service::{ServiceError, ServiceResult, webhooks};

pub const MAX_AUTHORS: usize = 100;
pub const MAX_CATEGORIES: usize = 50;

/// A whole book, as created.
pub struct BookInput {
    pub fields: BookFields,
    pub author_ids: Vec<i64>,
    pub category_ids: Vec<i64>,
}

/// A partial update: `None` leaves a field alone, `Some(None)` clears a nullable one.
#[derive(Default)]
pub struct BookPatch {
    pub title: Option<String>,
    pub subtitle: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub original_year: Option<Option<i32>>,
    pub language: Option<Option<String>>,
    pub series: Option<Option<String>>,
    pub series_number: Option<Option<f64>>,
    pub author_ids: Option<Vec<i64>>,
    pub category_ids: Option<Vec<i64>>,
}

/// Checks and normalises the fields (trimmed title, language tag): the one place a book's
/// rules live, for the API and the catalog's batch writes alike.
pub(super) fn check_fields(fields: &mut BookFields) -> ServiceResult<()> {
    validate::trim(&mut fields.title);
    let mut checks = Checks::default();
    checks.check("title", validate::text(&fields.title, 1, 500));
    if let Some(subtitle) = &fields.subtitle {
        checks.check("subtitle", validate::text(subtitle, 0, 500));
    }
    if let Some(description) = &fields.description {
        checks.check("description", validate::text(description, 0, 20_000));
    }
    if let Some(year) = fields.original_year {
        let latest = latest_year(year);
        if !(-5000..=latest).contains(&year) {
            checks.check(
                "original_year",
                Err(format!("must be from -5000 to {latest}")),
            );
        }
    }
    check_series(fields, &mut checks);
    if let Some(language) = &fields.language {
        match super::normalize_language(language) {
            Ok(normalized) => fields.language = Some(normalized),
            Err(message) => {
                checks.check("language", Err(message));
            }
        }
    }
    checks.finish()
}

/// A series is a name of 1 to 200 characters (blank is none) with, optionally, a place in it
/// from 0 to 100,000 (2.5 for a novella between 2 and 3); a place needs a series.
fn check_series(fields: &mut BookFields, checks: &mut Checks) {
    if let Some(series) = &mut fields.series {
        validate::trim(series);
        if series.is_empty() {
            fields.series = None;
        }
    }
    if let Some(series) = &fields.series {
        checks.check("series", validate::text(series, 1, 200));
    }
    if let Some(number) = fields.series_number {
        if !(0.0..=100_000.0).contains(&number) {
            checks.check("series_number", Err("must be from 0 to 100000".into()));
        } else if fields.series.is_none() {
            checks.check("series_number", Err("needs a series".into()));
        }
    }
    if fields.popularity_prior < 0 {
        checks.check("popularity_prior", Err("must not be negative".into()));
    }
}

/// The latest first-publication year a book may have, five years ahead (books announced), for
/// checking `year`. Imports check every row they read, so the clock is read once: the latest
/// year only grows, so any year up to the one read then is within it. Only a later year (in a
/// server running past New Year) reads the clock again.
fn latest_year(year: i32) -> i32 {
    static AT_START: std::sync::LazyLock<i32> = std::sync::LazyLock::new(now_latest);
    fn now_latest() -> i32 {
        chrono::Datelike::year(&chrono::Utc::now()) + 5
    }
    if year <= *AT_START {
        *AT_START
    } else {
        now_latest()
    }
}

/// Checks that the authors and categories named exist; 422 naming the missing ids.
async fn check_references(
    conn: &impl sea_orm::ConnectionTrait,
    author_ids: Option<&[i64]>,
    category_ids: Option<&[i64]>,
) -> ServiceResult<()> {
    let mut checks = Checks::default();
    if let Some(ids) = author_ids {
        checks.check("author_ids", super::distinct_ids(ids, MAX_AUTHORS));
        let missing = repo::author::missing(conn, ids).await?;
        if !missing.is_empty() {
            checks.check(
                "author_ids",
                Err(format!("no author has the id(s) {missing:?}")),
            );
        }
    }
    if let Some(ids) = category_ids {
        checks.check("category_ids", super::distinct_ids(ids, MAX_CATEGORIES));
        let missing = repo::category::missing(conn, ids).await?;
        if !missing.is_empty() {
            checks.check(
                "category_ids",
                Err(format!("no category has the id(s) {missing:?}")),
            );
        }
    }
    checks.finish()
}

#[tracing::instrument(
    level = "info",
    name = "service.catalog.books.create",
    skip_all,
    err(level = "debug")
)]
pub async fn create(
    db: &Database,
    who: &Principal,
    mut input: BookInput,
) -> ServiceResult<BookView> {
    super::require_admin(who)?;
    check_fields(&mut input.fields)?;
    db.write(|tx| {
        Box::pin(async move {
            check_references(&**tx, Some(&input.author_ids), Some(&input.category_ids)).await?;
            let book = repo::book::insert(&**tx, input.fields).await?;
            repo::book::set_authors(&**tx, book.id, &input.author_ids).await?;
            repo::book::set_categories(&**tx, book.id, &input.category_ids).await?;
            repo::search::refresh(&**tx, &[book.id]).await?;
            let made = view(tx.into(), book.id).await?;
            webhooks::emit(&**tx, book_event("book.created", &made)).await?;
            Ok(made)
        })
    })
    .await
}

#[tracing::instrument(
    level = "info",
    name = "service.catalog.books.get",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn get(db: &Database, id: i64) -> ServiceResult<BookView> {
    db.read_bounded(move |read| Box::pin(view(read, id))).await
}

/// These books as the API shows them, in the order of `ids`; ids of books since deleted are
/// left out. A fixed number of statements however many.
#[tracing::instrument(
    level = "info",
    name = "service.catalog.books.views",
    skip_all,
    err(level = "debug")
)]
pub async fn views(db: &Database, ids: Vec<i64>) -> ServiceResult<Vec<BookView>> {
    db.read(move |read| {
        Box::pin(async move {
            let mut books = repo::book::find_many(read, &ids).await?;
            books.sort_by_key(|b| ids.iter().position(|id| *id == b.id));
            Ok::<_, ServiceError>(book_view::load(read, books).await?)
        })
    })
    .await
}

/// The book as the API shows it. Writes read it in their own unit of work, so a saved book is
/// never answered 503 because the database went away right after COMMIT.
pub(crate) async fn view(read: Read<'_>, id: i64) -> ServiceResult<BookView> {
    let book = repo::book::find(read, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("book".into()))?;
    book_view::load(read, vec![book])
        .await?
        .pop()
        .ok_or_else(|| ServiceError::NotFound("book".into()))
}

#[tracing::instrument(
    level = "info",
    name = "service.catalog.books.update",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn update(
    db: &Database,
    who: &Principal,
    id: i64,
    patch: BookPatch,
) -> ServiceResult<BookView> {
    super::require_admin(who)?;
    db.write(|tx| {
        Box::pin(async move {
            let existing = repo::book::find(&**tx, id)
                .await?
                .ok_or_else(|| ServiceError::NotFound("book".into()))?;
            let mut fields = BookFields {
                title: patch.title.unwrap_or_else(|| existing.title.clone()),
                subtitle: patch.subtitle.unwrap_or_else(|| existing.subtitle.clone()),
                description: patch
                    .description
                    .unwrap_or_else(|| existing.description.clone()),
                original_year: patch.original_year.unwrap_or(existing.original_year),
                language: patch.language.unwrap_or_else(|| existing.language.clone()),
                series: patch.series.unwrap_or_else(|| existing.series.clone()),
                series_number: patch.series_number.unwrap_or(existing.series_number),
                popularity_prior: existing.popularity_prior,
            };
            check_fields(&mut fields)?;
            check_references(
                &**tx,
                patch.author_ids.as_deref(),
                patch.category_ids.as_deref(),
            )
            .await?;
            repo::book::update(&**tx, existing, fields).await?;
            if let Some(author_ids) = &patch.author_ids {
                repo::book::set_authors(&**tx, id, author_ids).await?;
            }
            if let Some(category_ids) = &patch.category_ids {
                repo::book::set_categories(&**tx, id, category_ids).await?;
            }
            repo::search::refresh(&**tx, &[id]).await?;
            let changed = view(tx.into(), id).await?;
            webhooks::emit(&**tx, book_event("book.updated", &changed)).await?;
            Ok(changed)
        })
    })
    .await
}

/// `book.created` or `book.updated`: the book's own fields and its authors.
fn book_event(kind: &'static str, view: &BookView) -> webhooks::Event {
    let book = &view.book;
    let authors: Vec<serde_json::Value> = view
        .authors
        .iter()
        .map(|a| serde_json::json!({ "id": a.id, "name": a.name }))
        .collect();
    webhooks::Event::new(
        kind,
        serde_json::json!({
            "id": book.id, "title": book.title, "subtitle": book.subtitle,
            "series": book.series, "series_number": book.series_number,
            "language": book.language, "original_year": book.original_year,
            "authors": authors, "created_at": book.created_at, "updated_at": book.updated_at,
        }),
    )
}

/// Gives the book a description read from one of its files, if it has none; the search index
/// follows. A description the book's rules refuse (too long) is cut, not lost.
pub(crate) async fn fill_description(
    unit: &crate::db::UnitOfWork,
    id: i64,
    description: String,
) -> ServiceResult<()> {
    let Some(existing) = repo::book::find(&**unit, id).await? else {
        return Ok(());
    };
    if existing
        .description
        .as_deref()
        .is_some_and(|d| !d.trim().is_empty())
    {
        return Ok(());
    }
    let mut fields = BookFields {
        title: existing.title.clone(),
        subtitle: existing.subtitle.clone(),
        description: Some(description.chars().take(20_000).collect()),
        original_year: existing.original_year,
        language: existing.language.clone(),
        series: existing.series.clone(),
        series_number: existing.series_number,
        popularity_prior: existing.popularity_prior,
    };
    if check_fields(&mut fields).is_err() {
        return Ok(());
    }
    repo::book::update(&**unit, existing, fields).await?;
    repo::search::refresh(&**unit, &[id]).await?;
    Ok(())
}

/// Deletes the book with its editions, comments, progress and notes. A book with a purchased
/// edition cannot be deleted: purchases are records of money that changed hands.
#[tracing::instrument(
    level = "info",
    name = "service.catalog.books.delete",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn delete(db: &Database, who: &Principal, id: i64) -> ServiceResult<()> {
    super::require_admin(who)?;
    super::delete_row(
        db,
        "book",
        "An edition of this book has been purchased; the book cannot be deleted.",
        |tx| {
            Box::pin(async move {
                // Its words leave the vocabulary; a refused delete rolls this back too.
                repo::search::remove(&**tx, &[id]).await?;
                let deleted = repo::book::delete(&**tx, id).await?;
                if deleted {
                    let event = serde_json::json!({ "id": id });
                    webhooks::emit(&**tx, webhooks::Event::new("book.deleted", event)).await?;
                }
                Ok(deleted)
            })
        },
    )
    .await
}

/// What a listing asks for: what narrows it as the client said it, its order and its page.
/// All conditions apply together.
pub struct BookQuery {
    /// Words to find in the title, subtitle, author names or description, each as a prefix.
    pub search: Option<String>,
    pub author_id: Option<i64>,
    /// A category by id or slug, with everything below it.
    pub category: Option<String>,
    /// Books with an edition in this format.
    pub format: Option<EditionFormat>,
    pub year_from: Option<i32>,
    pub year_to: Option<i32>,
    /// A language tag in any usual spelling (`en`, `EN`, `en_us`).
    pub language: Option<String>,
    /// Books in this series, by name (case and accents ignored).
    pub series: Option<String>,
    /// Only books with something to read or buy (an edition with files or a price): what an
    /// e-reader app's catalog lists.
    pub acquirable: bool,
    pub order: BookOrder,
    pub after: Option<(SortValue, i64)>,
    pub limit: u64,
}

impl BookQuery {
    /// Every book by title, a page of 20: a start to narrow with `..`.
    pub fn everything() -> Self {
        Self {
            search: None,
            author_id: None,
            category: None,
            format: None,
            year_from: None,
            year_to: None,
            language: None,
            series: None,
            acquirable: false,
            order: BookOrder {
                key: SortKey::Title,
                descending: false,
            },
            after: None,
            limit: 20,
        }
    }
}

/// A book of a page, with where it stands in the page's order: the last one's is where the
/// next page starts.
pub struct ListedBook {
    pub view: BookView,
    pub position: (SortValue, i64),
}

/// A page of a listing, and the words a search read as others (as typed → as read), for
/// "showing results for…".
pub struct BookPage {
    pub page: Page<ListedBook>,
    pub corrected: BTreeMap<String, String>,
}

impl BookPage {
    fn empty() -> Self {
        Self {
            page: Page {
                rows: vec![],
                has_more: false,
            },
            corrected: BTreeMap::new(),
        }
    }
}

/// A page of books with everything shown of them, in a fixed number of statements.
#[tracing::instrument(
    level = "info",
    name = "service.catalog.books.page",
    skip_all,
    err(level = "debug")
)]
pub async fn page(db: &Database, query: BookQuery) -> ServiceResult<BookPage> {
    let filter = filter_of(db, &query).await?;
    let database = db.instance();
    let BookQuery {
        search,
        order,
        after,
        limit,
        ..
    } = query;
    // A page with nothing narrowing it reads at most `limit + 1` rows off an index and their
    // parts, bounded as a book by id is. A search or filter may read far more rows before it
    // fills a page.
    if search.is_none() && filter.is_empty() {
        db.read_bounded(move |read| {
            Box::pin(list_page(
                read,
                database,
                filter.clone(),
                None,
                order,
                after.clone(),
                limit,
            ))
        })
        .await
    } else {
        db.read(move |read| {
            Box::pin(list_page(
                read, database, filter, search, order, after, limit,
            ))
        })
        .await
    }
}

async fn list_page(
    read: Read<'_>,
    database: u64,
    mut filter: BookFilter,
    search: Option<String>,
    order: BookOrder,
    after: Option<(SortValue, i64)>,
    limit: u64,
) -> ServiceResult<BookPage> {
    let mut corrected = BTreeMap::new();
    if let Some(query) = &search {
        // A search without a word matches no book.
        let Some(analysis) = super::search::analyze_kept(read, database, query).await? else {
            return Ok(BookPage::empty());
        };
        filter.search = Some(analysis.terms);
        corrected = analysis.corrected;
    }
    let listed = repo::book::list(read, &filter, order, after, limit)
        .await
        .map_err(|e| match e {
            DbError::Invalid { .. } => ServiceError::invalid(
                "cursor",
                "belongs to another sort order; start again without it",
            ),
            other => other.into(),
        })?;
    if let (Some(terms), Some(first)) = (&filter.search, listed.rows.first()) {
        super::search::say_what_was_found(read, terms, first, &mut corrected).await?;
    }
    let positions: Vec<_> = listed
        .rows
        .iter()
        .map(|row| (row.sort_value(order.key), row.book.id))
        .collect();
    let books = listed.rows.into_iter().map(|row| row.book).collect();
    let views = book_view::load(read, books).await?;
    Ok(BookPage {
        page: Page {
            rows: views
                .into_iter()
                .zip(positions)
                .map(|(view, position)| ListedBook { view, position })
                .collect(),
            has_more: listed.has_more,
        },
        corrected,
    })
}

/// What the query narrows the catalog by, as the repo reads it: the language tag checked, the
/// category with everything below it. The search is read where the listing is.
async fn filter_of(db: &Database, query: &BookQuery) -> ServiceResult<BookFilter> {
    let language = query
        .language
        .as_deref()
        .map(super::normalize_language)
        .transpose()
        .map_err(|m| ServiceError::invalid("language", m))?;
    let category_ids = match &query.category {
        Some(category) => {
            let root = super::categories::find(db, category).await?;
            Some(repo::category::subtree(db.reader(), root.id).await?)
        }
        None => None,
    };
    Ok(BookFilter {
        author_id: query.author_id,
        category_ids,
        format: query.format,
        year_from: query.year_from,
        year_to: query.year_to,
        language,
        series: query.series.as_deref().map(crate::text::fold),
        search: None,
        acquirable: query.acquirable,
    })
}
