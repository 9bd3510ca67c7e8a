//! `/categories`: genres in a tree, addressed by id or slug.

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
use crate::entity::category;
use crate::service::catalog::categories::{self, CategoryChanges};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_categories, create_category))
        .routes(routes!(get_category, update_category, delete_category))
}

#[derive(Serialize, ToSchema)]
pub struct CategoryResponse {
    id: i64,
    name: String,
    slug: String,
    parent_id: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<category::Model> for CategoryResponse {
    fn from(c: category::Model) -> Self {
        Self {
            id: c.id,
            name: c.name,
            slug: c.slug,
            parent_id: c.parent_id,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CategoryListParams {
    /// Only the direct sub-categories of this category (id or slug).
    parent: Option<String>,
    /// Rows per page, 1 to 100 (default 20).
    limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// List categories, by name
#[utoipa::path(
    get, path = "/categories", tag = "categories",
    params(CategoryListParams),
    responses(
        (status = 200, description = "A page of categories", body = Page<CategoryResponse>),
        (status = 404, description = "No such parent category", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid limit or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
async fn list_categories(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<CategoryListParams>,
) -> Result<JsonResponse<Page<CategoryResponse>>, ApiError> {
    let page = PageParams::of(params.limit, params.cursor.clone());
    let limit = page.limit()?;
    let after = page.after::<(String, i64)>()?;
    let parent_id = match &params.parent {
        Some(parent) => Some(categories::find(&state.db, parent).await?.id),
        None => None,
    };
    let found = categories::page(&state.db, parent_id, after, limit).await?;
    Ok(JsonResponse(Page::new(
        found.rows,
        found.has_more,
        |c| (c.name.clone(), c.id),
        CategoryResponse::from,
    )))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateCategoryRequest {
    /// 1–100 characters; unique.
    #[schema(example = "Science Fiction", min_length = 1, max_length = 100)]
    name: String,
    /// Lower-case words joined by `-`; unique. Made from the name when absent.
    #[schema(example = "science-fiction")]
    slug: Option<String>,
    /// The category this one sits under.
    parent_id: Option<i64>,
}

/// Add a category (admin)
#[utoipa::path(
    post, path = "/categories", tag = "categories",
    request_body = CreateCategoryRequest,
    responses(
        (status = 201, description = "The new category", body = CategoryResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Name or slug taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields or unknown parent", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn create_category(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiJson(body): ApiJson<CreateCategoryRequest>,
) -> Result<(StatusCode, JsonResponse<CategoryResponse>), ApiError> {
    let category =
        categories::create(&state.db, &admin, body.name, body.slug, body.parent_id).await?;
    Ok((StatusCode::CREATED, JsonResponse(category.into())))
}

/// A category, by id or slug
#[utoipa::path(
    get, path = "/categories/{id_or_slug}", tag = "categories",
    params(("id_or_slug" = String, Path, description = "Category id or slug")),
    responses(
        (status = 200, description = "The category", body = CategoryResponse),
        (status = 404, description = "No such category", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
async fn get_category(
    State(state): State<AppState>,
    ApiPath(id_or_slug): ApiPath<String>,
) -> Result<JsonResponse<CategoryResponse>, ApiError> {
    Ok(JsonResponse(
        categories::find(&state.db, &id_or_slug).await?.into(),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateCategoryRequest {
    name: Option<String>,
    slug: Option<String>,
    /// `null` makes it a top-level category.
    #[serde(default, deserialize_with = "patch::nullable")]
    #[schema(value_type = Option<i64>)]
    parent_id: Option<Option<i64>>,
}

/// Change a category (admin)
#[utoipa::path(
    patch, path = "/categories/{id_or_slug}", tag = "categories",
    params(("id_or_slug" = String, Path, description = "Category id or slug")),
    request_body = UpdateCategoryRequest,
    responses(
        (status = 200, description = "The updated category", body = CategoryResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such category", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Name or slug taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or a parent inside its own branch", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn update_category(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiPath(id_or_slug): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateCategoryRequest>,
) -> Result<JsonResponse<CategoryResponse>, ApiError> {
    let id = categories::find(&state.db, &id_or_slug).await?.id;
    let changes = CategoryChanges {
        name: body.name.map(|n| n.trim().to_string()),
        slug: body.slug,
        parent_id: body.parent_id,
    };
    Ok(JsonResponse(
        categories::update(&state.db, &admin, id, changes)
            .await?
            .into(),
    ))
}

/// Delete a category (admin)
///
/// Its books lose the tag. A category with sub-categories cannot be deleted.
#[utoipa::path(
    delete, path = "/categories/{id_or_slug}", tag = "categories",
    params(("id_or_slug" = String, Path, description = "Category id or slug")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such category", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It has sub-categories", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn delete_category(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiPath(id_or_slug): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let id = categories::find(&state.db, &id_or_slug).await?.id;
    categories::delete(&state.db, &admin, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
