//! `/books/{id}/comments` and `/comments/{id}`: what readers say about books.

use super::json::JsonResponse;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, ApiPath, ApiQuery, CurrentUser};
use super::pagination::{Page, PageParams};
use super::{ApiError, AppState, Problem, patch};
use crate::service::comments::{self, CommentRow};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_comments, create_comment))
        .routes(routes!(update_comment, delete_comment))
}

/// Who wrote a comment: their public name only.
#[derive(Serialize, ToSchema)]
pub struct CommentAuthor {
    id: i64,
    username: String,
}

#[derive(Serialize, ToSchema)]
pub struct CommentResponse {
    id: i64,
    book_id: i64,
    user: CommentAuthor,
    text: String,
    /// 1 to 5, or none.
    rating: Option<i32>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<CommentRow> for CommentResponse {
    fn from(c: CommentRow) -> Self {
        Self {
            id: c.id,
            book_id: c.book_id,
            user: CommentAuthor {
                id: c.user_id,
                username: c.username,
            },
            text: c.text,
            rating: c.rating,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A book's comments, newest first
#[utoipa::path(
    get, path = "/books/{id}/comments", tag = "comments",
    params(("id" = i64, Path, description = "Book id"), PageParams),
    responses(
        (status = 200, description = "A page of comments", body = Page<CommentResponse>),
        (status = 404, description = "No such book", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid parameters or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
async fn list_comments(
    State(state): State<AppState>,
    ApiPath(book_id): ApiPath<i64>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<JsonResponse<Page<CommentResponse>>, ApiError> {
    let found = comments::page(&state.db, book_id, page.after()?, page.limit()?).await?;
    Ok(JsonResponse(Page::new(
        found.rows,
        found.has_more,
        |c| (c.created_at, c.id),
        CommentResponse::from,
    )))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateCommentRequest {
    /// 1–5,000 characters.
    #[schema(
        example = "A quiet, strange, wonderful book.",
        min_length = 1,
        max_length = 5000
    )]
    text: String,
    /// 1 to 5.
    #[schema(example = 5, minimum = 1, maximum = 5)]
    rating: Option<i32>,
}

/// Comment on a book, with an optional rating
#[utoipa::path(
    post, path = "/books/{id}/comments", tag = "comments",
    params(("id" = i64, Path, description = "Book id")),
    request_body = CreateCommentRequest,
    responses(
        (status = 201, description = "The new comment", body = CommentResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such book", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn create_comment(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(book_id): ApiPath<i64>,
    ApiJson(body): ApiJson<CreateCommentRequest>,
) -> Result<(StatusCode, JsonResponse<CommentResponse>), ApiError> {
    let comment = comments::create(&state.db, &me, book_id, body.text, body.rating).await?;
    Ok((StatusCode::CREATED, JsonResponse(comment.into())))
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateCommentRequest {
    text: Option<String>,
    /// `null` removes the rating.
    #[serde(default, deserialize_with = "patch::nullable")]
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 5)]
    rating: Option<Option<i32>>,
}

/// Edit your comment
#[utoipa::path(
    patch, path = "/comments/{id}", tag = "comments",
    params(("id" = i64, Path, description = "Comment id")),
    request_body = UpdateCommentRequest,
    responses(
        (status = 200, description = "The updated comment", body = CommentResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not your comment", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such comment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn update_comment(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<UpdateCommentRequest>,
) -> Result<JsonResponse<CommentResponse>, ApiError> {
    Ok(JsonResponse(
        comments::update(&state.db, &me, id, body.text, body.rating)
            .await?
            .into(),
    ))
}

/// Delete your comment (or any, as an admin)
#[utoipa::path(
    delete, path = "/comments/{id}", tag = "comments",
    params(("id" = i64, Path, description = "Comment id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not your comment, and not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such comment", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn delete_comment(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    comments::delete(&state.db, &me, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
