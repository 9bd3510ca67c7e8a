//! `/users`: the admin's view of every account.

use super::json::JsonResponse;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{AdminUser, ApiJson, ApiPath, ApiQuery};
use super::pagination::{Page, PageParams};
use super::{ApiError, AppState, Problem};
use crate::entity::enums::UserRole;
use crate::entity::user;
use crate::service::accounts;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(update_user))
}

/// An account as its owner and admins see it. Nobody else ever sees the email.
#[derive(Serialize, ToSchema)]
pub struct UserResponse {
    id: i64,
    username: String,
    email: String,
    role: UserRole,
    disabled: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<user::Model> for UserResponse {
    fn from(user: user::Model) -> Self {
        Self {
            id: user.id,
            username: user.username,
            email: user.email,
            role: user.role,
            disabled: user.disabled,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

/// List accounts (admin)
#[utoipa::path(
    get, path = "/users", tag = "users",
    params(PageParams),
    responses(
        (status = 200, description = "A page of accounts, oldest first", body = Page<UserResponse>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid limit or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn list_users(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<JsonResponse<Page<UserResponse>>, ApiError> {
    let found = accounts::page(&state.db, params.after()?, params.limit()?).await?;
    Ok(JsonResponse(Page::new(
        found.rows,
        found.has_more,
        |u| u.id,
        UserResponse::from,
    )))
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateUserRequest {
    role: Option<UserRole>,
    /// A disabled account's tokens and keys stop working on their next request.
    disabled: Option<bool>,
}

/// Change an account's role or disable it (admin)
#[utoipa::path(
    patch, path = "/users/{id}", tag = "users",
    params(("id" = i64, Path, description = "Account id")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "The updated account", body = UserResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An admin cannot demote or disable themselves", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn update_user(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<UpdateUserRequest>,
) -> Result<JsonResponse<UserResponse>, ApiError> {
    let user = accounts::update_by_admin(&state.db, &admin, id, body.role, body.disabled).await?;
    Ok(JsonResponse(user.into()))
}
