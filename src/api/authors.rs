//! `/authors`: the people credited on books and editions.

use super::json::JsonResponse;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{AdminUser, ApiJson, ApiPath, ApiQuery};
use super::pagination::{Page, PageParams};
use super::{ApiError, AppState, Problem, patch};
use crate::entity::author;
use crate::service::catalog::authors::{self, AuthorPatch};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_authors, create_author))
        .routes(routes!(get_author, update_author, delete_author))
}

#[derive(Serialize, ToSchema)]
pub struct AuthorResponse {
    id: i64,
    name: String,
    bio: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<author::Model> for AuthorResponse {
    fn from(a: author::Model) -> Self {
        Self {
            id: a.id,
            name: a.name,
            bio: a.bio,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuthorListParams {
    /// Authors whose name starts with this, ignoring case and accents ("bron" finds Brontë).
    q: Option<String>,
    /// Rows per page, 1 to 100 (default 20).
    limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// List authors, by name
#[utoipa::path(
    get, path = "/authors", tag = "authors",
    params(AuthorListParams),
    responses(
        (status = 200, description = "A page of authors", body = Page<AuthorResponse>),
        (status = 422, description = "Invalid limit or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
async fn list_authors(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<AuthorListParams>,
) -> Result<JsonResponse<Page<AuthorResponse>>, ApiError> {
    let page = PageParams::of(params.limit, params.cursor.clone());
    let limit = page.limit()?;
    let after = page.after::<(String, i64)>()?;
    let found = authors::page(&state.db, params.q.as_deref(), after, limit).await?;
    Ok(JsonResponse(Page::new(
        found.rows,
        found.has_more,
        |a| (a.name_folded.clone(), a.id),
        AuthorResponse::from,
    )))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateAuthorRequest {
    /// 1–300 characters; unique.
    #[schema(example = "Ursula K. Le Guin", min_length = 1, max_length = 300)]
    name: String,
    bio: Option<String>,
}

/// Add an author (admin)
#[utoipa::path(
    post, path = "/authors", tag = "authors",
    request_body = CreateAuthorRequest,
    responses(
        (status = 201, description = "The new author", body = AuthorResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An author with this name exists", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn create_author(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiJson(body): ApiJson<CreateAuthorRequest>,
) -> Result<(StatusCode, JsonResponse<AuthorResponse>), ApiError> {
    let author = authors::create(&state.db, &admin, body.name, body.bio).await?;
    Ok((StatusCode::CREATED, JsonResponse(author.into())))
}

/// An author
#[utoipa::path(
    get, path = "/authors/{id}", tag = "authors",
    params(("id" = i64, Path, description = "Author id")),
    responses(
        (status = 200, description = "The author", body = AuthorResponse),
        (status = 404, description = "No such author", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The id is not a number", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
async fn get_author(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<JsonResponse<AuthorResponse>, ApiError> {
    Ok(JsonResponse(authors::get(&state.db, id).await?.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateAuthorRequest {
    name: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "patch::nullable")]
    #[schema(value_type = Option<String>)]
    bio: Option<Option<String>>,
}

/// Change an author (admin)
#[utoipa::path(
    patch, path = "/authors/{id}", tag = "authors",
    params(("id" = i64, Path, description = "Author id")),
    request_body = UpdateAuthorRequest,
    responses(
        (status = 200, description = "The updated author", body = AuthorResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such author", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another author has this name", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn update_author(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<UpdateAuthorRequest>,
) -> Result<JsonResponse<AuthorResponse>, ApiError> {
    let patch = AuthorPatch {
        name: body.name,
        bio: body.bio,
    };
    Ok(JsonResponse(
        authors::update(&state.db, &admin, id, patch).await?.into(),
    ))
}

/// Delete an author nobody credits (admin)
#[utoipa::path(
    delete, path = "/authors/{id}", tag = "authors",
    params(("id" = i64, Path, description = "Author id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such author", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Still credited on a book or edition", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn delete_author(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    authors::delete(&state.db, &admin, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
