//! `/books`: browse, search and curate the catalog.

use super::json::JsonResponse;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::editions::EditionResponse;
use super::extract::{AdminUser, ApiJson, ApiPath, ApiQuery};
use super::pagination::{self, Page, PageParams};
use super::{ApiError, AppState, FieldError, Problem, patch};
use crate::entity::enums::EditionFormat;
use crate::service::catalog::books::{
    self, BookFields, BookInput, BookOrder, BookPatch, BookQuery, BookView, SortKey, SortValue,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_books, create_book))
        .routes(routes!(get_book, update_book, delete_book))
}

#[derive(Serialize, ToSchema)]
pub struct AuthorSummary {
    id: i64,
    name: String,
}

#[derive(Serialize, ToSchema)]
pub struct CategorySummary {
    id: i64,
    name: String,
    slug: String,
}

/// Readers' ratings of the book: average 0 and count 0 until someone rates it.
#[derive(Serialize, ToSchema)]
pub struct RatingSummary {
    #[schema(example = 4.25)]
    average: f64,
    count: i64,
}

#[derive(Serialize, ToSchema)]
pub struct BookResponse {
    id: i64,
    title: String,
    subtitle: Option<String>,
    description: Option<String>,
    original_year: Option<i32>,
    language: Option<String>,
    /// The series the book belongs to, or null.
    #[schema(example = "Earthsea")]
    series: Option<String>,
    /// Its place in the series (1, 2, 2.5…), or null.
    #[schema(example = 1.0)]
    series_number: Option<f64>,
    /// In credit order.
    authors: Vec<AuthorSummary>,
    categories: Vec<CategorySummary>,
    editions: Vec<EditionResponse>,
    /// The cover's images, or null when the book has none.
    cover: Option<super::covers::CoverUrls>,
    rating: RatingSummary,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<BookView> for BookResponse {
    fn from(view: BookView) -> Self {
        let book = view.book;
        let average = if book.rating_count > 0 {
            ((book.rating_sum as f64 / book.rating_count as f64) * 100.0).round() / 100.0
        } else {
            0.0
        };
        Self {
            id: book.id,
            title: book.title,
            subtitle: book.subtitle,
            description: book.description,
            original_year: book.original_year,
            language: book.language,
            series: book.series,
            series_number: book.series_number,
            authors: view
                .authors
                .into_iter()
                .map(|a| AuthorSummary {
                    id: a.id,
                    name: a.name,
                })
                .collect(),
            categories: view
                .categories
                .into_iter()
                .map(|c| CategorySummary {
                    id: c.id,
                    name: c.name,
                    slug: c.slug,
                })
                .collect(),
            editions: view
                .editions
                .into_iter()
                .map(EditionResponse::from)
                .collect(),
            cover: view.cover.map(super::covers::CoverUrls::from),
            rating: RatingSummary {
                average,
                count: book.rating_count,
            },
            created_at: book.created_at,
            updated_at: book.updated_at,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BookListParams {
    /// Search over titles (the book's, its editions', its series), ISBNs, authors,
    /// contributors and the description. Every word is a prefix ("harr pott" finds Harry
    /// Potter); case and accents are ignored ("bronte" finds Brontë); an ISBN-10 or -13 finds
    /// its edition's book first; a typo is forgiven in a word of 5–8 letters, two in a longer
    /// one (never the first letter), after every exact match. Results come most relevant first
    /// (an author's whole name, a phrase of the title, whole words of the title… then the
    /// better known book) unless `sort` says otherwise.
    q: Option<String>,
    /// Books crediting this author.
    author_id: Option<i64>,
    /// Books in this category (id or slug) or any category below it.
    category: Option<String>,
    /// Books with an edition in this format.
    format: Option<EditionFormat>,
    /// Books first published in or after this year.
    year_from: Option<i32>,
    /// Books first published in or before this year.
    year_to: Option<i32>,
    /// Books in this language (`en`, `en-US`…).
    language: Option<String>,
    /// Books in this series (its name; case and accents are ignored).
    series: Option<String>,
    /// `title`, `-title`, `year`, `-year`, `created`, `-created`, `popular`, `-popular` (by
    /// how many ratings; `-popular` is most rated first), or `relevance` (with `q`). Books
    /// without a year come last when sorting by year.
    #[param(example = "-year")]
    sort: Option<String>,
    /// Rows per page, 1 to 100 (default 20).
    limit: Option<u64>,
    /// The `next_cursor` of the previous page, with the same parameters.
    cursor: Option<String>,
}

/// The cursor of a book list: the sort it belongs to, and where the last page ended.
#[derive(Serialize, Deserialize)]
struct BookCursor {
    sort: String,
    value: SortValue,
    id: i64,
}

fn parse_sort(sort: Option<&str>, searching: bool) -> Result<BookOrder, ApiError> {
    let sort = sort.unwrap_or(if searching { "relevance" } else { "title" });
    let (descending, name) = match sort.strip_prefix('-') {
        Some(name) => (true, name),
        None => (false, sort),
    };
    let key = match name {
        "title" => SortKey::Title,
        "year" => SortKey::Year,
        "created" => SortKey::Created,
        "popular" => SortKey::Popular,
        "relevance" if searching && !descending => SortKey::Relevance,
        _ => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "sort",
                "must be title, -title, year, -year, created, -created, popular, -popular, or \
                 relevance with q",
            )]));
        }
    };
    Ok(BookOrder { key, descending })
}

fn order_name(order: BookOrder) -> String {
    let key = match order.key {
        SortKey::Title => "title",
        SortKey::Year => "year",
        SortKey::Created => "created",
        SortKey::Popular => "popular",
        SortKey::Relevance => "relevance",
    };
    if order.descending {
        format!("-{key}")
    } else {
        key.to_string()
    }
}

/// List, filter and search books
#[utoipa::path(
    get, path = "/books", tag = "books",
    params(BookListParams),
    responses(
        (status = 200, description = "A page of books with authors, categories and editions", body = BookPage),
        (status = 404, description = "No such category", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid parameters or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
async fn list_books(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<BookListParams>,
) -> Result<JsonResponse<BookPage>, ApiError> {
    let searching = params.q.is_some();
    let order = parse_sort(params.sort.as_deref(), searching)?;
    // The order the cursor belongs to, resolved: the default with `q` (relevance) and without
    // it (title) are different orders, and their cursors must not pass for each other.
    let sort_name = order_name(order);
    let page = PageParams::of(params.limit, params.cursor.clone());
    let limit = page.limit()?;
    let after = match page.after::<BookCursor>()? {
        Some(cursor) if cursor.sort == sort_name => Some((cursor.value, cursor.id)),
        Some(_) => {
            return Err(pagination::invalid_cursor(
                "belongs to another sort order; start again without it",
            ));
        }
        None => None,
    };
    let query = BookQuery {
        search: params.q,
        author_id: params.author_id,
        category: params.category,
        format: params.format,
        year_from: params.year_from,
        year_to: params.year_to,
        language: params.language,
        series: params.series,
        acquirable: false,
        order,
        after,
        limit,
    };
    let found = books::page(&state.db, query).await?;
    let page = Page::new(
        found.page.rows,
        found.page.has_more,
        |book| BookCursor {
            sort: sort_name.clone(),
            value: book.position.0.clone(),
            id: book.position.1,
        },
        |book| BookResponse::from(book.view),
    );
    Ok(JsonResponse(BookPage {
        items: page.items,
        next_cursor: page.next_cursor,
        corrected: found.corrected,
    }))
}

/// A page of books. A search whose words found nothing as typed says which words it read them
/// as, for "showing results for…".
#[derive(Serialize, ToSchema)]
pub struct BookPage {
    items: Vec<BookResponse>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    next_cursor: Option<String>,
    /// Each search word that found nothing as typed, and the word of the catalog it was read
    /// as (a typo corrected); empty otherwise.
    #[schema(example = json!({"hobit": "hobbit"}))]
    corrected: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize, ToSchema)]
pub struct CreateBookRequest {
    #[schema(example = "A Wizard of Earthsea", min_length = 1, max_length = 500)]
    title: String,
    subtitle: Option<String>,
    description: Option<String>,
    #[schema(example = 1968)]
    original_year: Option<i32>,
    #[schema(example = "en")]
    language: Option<String>,
    /// The series the book belongs to.
    #[schema(example = "Earthsea", max_length = 200)]
    series: Option<String>,
    /// Its place in the series, 0 to 100000; needs `series`.
    #[schema(example = 1.0)]
    series_number: Option<f64>,
    /// Author ids in credit order.
    #[serde(default)]
    author_ids: Vec<i64>,
    #[serde(default)]
    category_ids: Vec<i64>,
}

/// Add a book (admin)
#[utoipa::path(
    post, path = "/books", tag = "books",
    request_body = CreateBookRequest,
    responses(
        (status = 201, description = "The new book", body = BookResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or unknown author or category ids", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn create_book(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiJson(body): ApiJson<CreateBookRequest>,
) -> Result<(StatusCode, JsonResponse<BookResponse>), ApiError> {
    let input = BookInput {
        fields: BookFields {
            title: body.title,
            subtitle: body.subtitle,
            description: body.description,
            original_year: body.original_year,
            language: body.language,
            series: body.series,
            series_number: body.series_number,
            popularity_prior: 0,
        },
        author_ids: body.author_ids,
        category_ids: body.category_ids,
    };
    let book = books::create(&state.db, &admin, input).await?;
    Ok((StatusCode::CREATED, JsonResponse(book.into())))
}

/// A book with its authors, categories, editions and rating
#[utoipa::path(
    get, path = "/books/{id}", tag = "books",
    params(("id" = i64, Path, description = "Book id")),
    responses(
        (status = 200, description = "The book", body = BookResponse),
        (status = 404, description = "No such book", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The id is not a number", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
async fn get_book(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<JsonResponse<BookResponse>, ApiError> {
    Ok(JsonResponse(books::get(&state.db, id).await?.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateBookRequest {
    title: Option<String>,
    #[serde(default, deserialize_with = "patch::nullable")]
    #[schema(value_type = Option<String>)]
    subtitle: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    #[schema(value_type = Option<i32>)]
    original_year: Option<Option<i32>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    #[schema(value_type = Option<String>)]
    language: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    #[schema(value_type = Option<String>)]
    series: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    #[schema(value_type = Option<f64>)]
    series_number: Option<Option<f64>>,
    /// Replaces the authors, in this credit order.
    author_ids: Option<Vec<i64>>,
    /// Replaces the categories.
    category_ids: Option<Vec<i64>>,
}

/// Change a book (admin)
///
/// Fields left out stay as they are; `null` clears an optional field.
#[utoipa::path(
    patch, path = "/books/{id}", tag = "books",
    params(("id" = i64, Path, description = "Book id")),
    request_body = UpdateBookRequest,
    responses(
        (status = 200, description = "The updated book", body = BookResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such book", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn update_book(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<UpdateBookRequest>,
) -> Result<JsonResponse<BookResponse>, ApiError> {
    let patch = BookPatch {
        title: body.title,
        subtitle: body.subtitle,
        description: body.description,
        original_year: body.original_year,
        language: body.language,
        series: body.series,
        series_number: body.series_number,
        author_ids: body.author_ids,
        category_ids: body.category_ids,
    };
    Ok(JsonResponse(
        books::update(&state.db, &admin, id, patch).await?.into(),
    ))
}

/// Delete a book with its editions, comments, progress and notes (admin)
#[utoipa::path(
    delete, path = "/books/{id}", tag = "books",
    params(("id" = i64, Path, description = "Book id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such book", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An edition of it has been purchased", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn delete_book(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    books::delete(&state.db, &admin, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
