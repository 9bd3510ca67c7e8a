//! `/books/{id}/editions` and `/editions`: the formats the store lists and sells.

use super::json::JsonResponse;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{AdminUser, ApiJson, ApiPath, ApiQuery};
use super::pagination::{Page, PageParams};
use super::{ApiError, AppState, Problem, patch};
use crate::entity::enums::{ContributorRole, EditionAccess, EditionFormat};
use crate::service::catalog::editions::{
    self, EditionFields, EditionFilter, EditionInput, EditionPatch, EditionView,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_book_editions, create_edition))
        .routes(routes!(list_editions))
        .routes(routes!(get_edition, update_edition, delete_edition))
}

#[derive(Serialize, ToSchema)]
pub struct ContributorResponse {
    author_id: i64,
    name: String,
    role: ContributorRole,
}

#[derive(Serialize, ToSchema)]
pub struct EditionResponse {
    id: i64,
    book_id: i64,
    format: EditionFormat,
    /// The title printed on this edition when it differs from the book's ("1984" for the
    /// book "Nineteen Eighty-Four"); null for the book's own.
    #[schema(example = "1984")]
    title: Option<String>,
    subtitle: Option<String>,
    /// ISBN-13, digits only.
    #[schema(example = "9780553383041")]
    isbn: Option<String>,
    catalog_number: Option<String>,
    publisher: Option<String>,
    release_date: Option<NaiveDate>,
    language: Option<String>,
    pages: Option<i32>,
    duration_seconds: Option<i64>,
    /// The price in the currency's minor units (cents): 1299 is 12.99.
    #[schema(example = 1299)]
    price_minor: Option<i64>,
    #[schema(example = "EUR")]
    currency: Option<String>,
    /// Who may download its files: anyone (`public`), any signed-in account (`members`), or
    /// its buyers (`buyers`); admins always may.
    access: EditionAccess,
    contributors: Vec<ContributorResponse>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<EditionView> for EditionResponse {
    fn from(view: EditionView) -> Self {
        let e = view.edition;
        Self {
            id: e.id,
            book_id: e.book_id,
            format: e.format,
            title: e.title,
            subtitle: e.subtitle,
            isbn: e.isbn,
            catalog_number: e.catalog_number,
            publisher: e.publisher,
            release_date: e.release_date,
            language: e.language,
            pages: e.pages,
            duration_seconds: e.duration_seconds,
            price_minor: e.price_minor,
            currency: e.currency,
            access: e.access,
            contributors: view
                .contributors
                .into_iter()
                .map(|c| ContributorResponse {
                    author_id: c.author_id,
                    name: c.name,
                    role: c.role,
                })
                .collect(),
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema, Clone, Copy)]
pub struct ContributorRequest {
    author_id: i64,
    role: ContributorRole,
}

#[derive(Deserialize, ToSchema)]
pub struct CreateEditionRequest {
    format: EditionFormat,
    /// The title printed on the edition, when it differs from the book's.
    #[schema(max_length = 500)]
    title: Option<String>,
    subtitle: Option<String>,
    /// ISBN-10 or ISBN-13, hyphens allowed; stored as ISBN-13. Not for vinyl.
    #[schema(example = "0-553-38304-4")]
    isbn: Option<String>,
    /// A label's catalogue number, for vinyl.
    catalog_number: Option<String>,
    /// Publisher, or label for vinyl.
    publisher: Option<String>,
    release_date: Option<NaiveDate>,
    language: Option<String>,
    pages: Option<i32>,
    duration_seconds: Option<i64>,
    /// Minor units (cents); requires `currency`.
    price_minor: Option<i64>,
    /// ISO 4217 code; requires `price_minor`.
    currency: Option<String>,
    /// Who may download its files; `buyers` when left out.
    #[serde(default)]
    access: EditionAccess,
    #[serde(default)]
    contributors: Vec<ContributorRequest>,
}

fn pairs(contributors: &[ContributorRequest]) -> Vec<(i64, ContributorRole)> {
    contributors.iter().map(|c| (c.author_id, c.role)).collect()
}

async fn editions_page(
    state: &AppState,
    filter: EditionFilter,
    page: PageParams,
) -> Result<Page<EditionResponse>, ApiError> {
    let found = editions::page(&state.db, filter, page.after()?, page.limit()?).await?;
    Ok(Page::new(
        found.rows,
        found.has_more,
        |e| e.edition.id,
        EditionResponse::from,
    ))
}

/// A book's editions
#[utoipa::path(
    get, path = "/books/{id}/editions", tag = "editions",
    params(("id" = i64, Path, description = "Book id"), PageParams),
    responses(
        (status = 200, description = "A page of the book's editions", body = Page<EditionResponse>),
        (status = 404, description = "No such book", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid parameters or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
async fn list_book_editions(
    State(state): State<AppState>,
    ApiPath(book_id): ApiPath<i64>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<JsonResponse<Page<EditionResponse>>, ApiError> {
    let filter = EditionFilter {
        book_id: Some(book_id),
        ..Default::default()
    };
    Ok(JsonResponse(editions_page(&state, filter, page).await?))
}

/// Add an edition to a book (admin)
#[utoipa::path(
    post, path = "/books/{id}/editions", tag = "editions",
    params(("id" = i64, Path, description = "Book id")),
    request_body = CreateEditionRequest,
    responses(
        (status = 201, description = "The new edition", body = EditionResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such book", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another edition has this ISBN", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (a wrong ISBN check digit among them)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn create_edition(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiPath(book_id): ApiPath<i64>,
    ApiJson(body): ApiJson<CreateEditionRequest>,
) -> Result<(StatusCode, JsonResponse<EditionResponse>), ApiError> {
    let input = EditionInput {
        contributors: pairs(&body.contributors),
        fields: EditionFields {
            format: body.format,
            isbn: body.isbn,
            catalog_number: body.catalog_number,
            publisher: body.publisher,
            release_date: body.release_date,
            language: body.language,
            pages: body.pages,
            duration_seconds: body.duration_seconds,
            price_minor: body.price_minor,
            currency: body.currency,
            access: body.access,
            title: body.title,
            subtitle: body.subtitle,
        },
    };
    let edition = editions::create(&state.db, &admin, book_id, input).await?;
    Ok((StatusCode::CREATED, JsonResponse(edition.into())))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EditionListParams {
    /// The edition with this ISBN, in any spelling (ISBN-10 or -13, hyphens or not).
    isbn: Option<String>,
    format: Option<EditionFormat>,
    /// Rows per page, 1 to 100 (default 20).
    limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// List editions, or look one up by ISBN
#[utoipa::path(
    get, path = "/editions", tag = "editions",
    params(EditionListParams),
    responses(
        (status = 200, description = "A page of editions", body = Page<EditionResponse>),
        (status = 422, description = "Invalid parameters (an ISBN with a wrong check digit) or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
async fn list_editions(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<EditionListParams>,
) -> Result<JsonResponse<Page<EditionResponse>>, ApiError> {
    let filter = EditionFilter {
        book_id: None,
        isbn: params.isbn,
        format: params.format,
        access: None,
    };
    Ok(JsonResponse(
        editions_page(&state, filter, PageParams::of(params.limit, params.cursor)).await?,
    ))
}

/// An edition
#[utoipa::path(
    get, path = "/editions/{id}", tag = "editions",
    params(("id" = i64, Path, description = "Edition id")),
    responses(
        (status = 200, description = "The edition", body = EditionResponse),
        (status = 404, description = "No such edition", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The id is not a number", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
async fn get_edition(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<JsonResponse<EditionResponse>, ApiError> {
    Ok(JsonResponse(editions::get(&state.db, id).await?.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateEditionRequest {
    format: Option<EditionFormat>,
    #[serde(default, deserialize_with = "patch::nullable")]
    #[schema(value_type = Option<String>)]
    isbn: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    #[schema(value_type = Option<String>)]
    catalog_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    #[schema(value_type = Option<String>)]
    publisher: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    #[schema(value_type = Option<NaiveDate>)]
    release_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    #[schema(value_type = Option<String>)]
    language: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    #[schema(value_type = Option<i32>)]
    pages: Option<Option<i32>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    #[schema(value_type = Option<i64>)]
    duration_seconds: Option<Option<i64>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    #[schema(value_type = Option<i64>)]
    price_minor: Option<Option<i64>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    #[schema(value_type = Option<String>)]
    currency: Option<Option<String>>,
    /// Who may download its files.
    access: Option<EditionAccess>,
    #[serde(default, deserialize_with = "patch::nullable")]
    #[schema(value_type = Option<String>)]
    title: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    #[schema(value_type = Option<String>)]
    subtitle: Option<Option<String>>,
    /// Replaces the contributors.
    contributors: Option<Vec<ContributorRequest>>,
}

/// Change an edition (admin)
///
/// Fields left out stay as they are; `null` clears an optional field.
#[utoipa::path(
    patch, path = "/editions/{id}", tag = "editions",
    params(("id" = i64, Path, description = "Edition id")),
    request_body = UpdateEditionRequest,
    responses(
        (status = 200, description = "The updated edition", body = EditionResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such edition", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another edition has this ISBN", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn update_edition(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<UpdateEditionRequest>,
) -> Result<JsonResponse<EditionResponse>, ApiError> {
    let patch = EditionPatch {
        format: body.format,
        isbn: body.isbn,
        catalog_number: body.catalog_number,
        publisher: body.publisher,
        release_date: body.release_date,
        language: body.language,
        pages: body.pages,
        duration_seconds: body.duration_seconds,
        price_minor: body.price_minor,
        currency: body.currency,
        access: body.access,
        title: body.title,
        subtitle: body.subtitle,
        contributors: body.contributors.as_deref().map(pairs),
    };
    Ok(JsonResponse(
        editions::update(&state.db, &admin, id, patch).await?.into(),
    ))
}

/// Delete an edition nobody bought (admin)
#[utoipa::path(
    delete, path = "/editions/{id}", tag = "editions",
    params(("id" = i64, Path, description = "Edition id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such edition", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It has been purchased", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn delete_edition(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    editions::delete(&state.db, &admin, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
