//! `/me/progress` and `/me/notes`: a reader's place in their books, and their notes.

use super::json::JsonResponse;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, ApiPath, ApiQuery, CurrentUser};
use super::pagination::{Page, PageParams};
use super::{ApiError, AppState, Problem, patch};
use crate::entity::enums::ReadingStatus;
use crate::entity::{note, progress as progress_row};
use crate::service::notes::{self, NoteFields, NotePatch};
use crate::service::progress::{self, ProgressInput, ProgressRow};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_progress))
        .routes(routes!(get_progress, put_progress))
        .routes(routes!(list_notes, create_note))
        .routes(routes!(get_note, update_note, delete_note))
}

#[derive(Serialize, ToSchema)]
pub struct ProgressResponse {
    book_id: i64,
    /// The edition the position was recorded on.
    edition_id: Option<i64>,
    /// 0 to 1 through the book: the position every format shares.
    #[schema(example = 0.42)]
    percent: f64,
    /// Where in that edition: seconds into an audiobook, a page, an EPUB CFI.
    locator: Option<String>,
    status: ReadingStatus,
    device: Option<String>,
    updated_at: DateTime<Utc>,
}

impl From<progress_row::Model> for ProgressResponse {
    fn from(p: progress_row::Model) -> Self {
        Self {
            book_id: p.book_id,
            edition_id: p.edition_id,
            percent: p.percent,
            locator: p.locator,
            status: p.status,
            device: p.device,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct PutProgressRequest {
    edition_id: Option<i64>,
    #[schema(example = 0.42, minimum = 0.0, maximum = 1.0)]
    percent: f64,
    #[schema(example = "epubcfi(/6/14!/4/2/1:0)")]
    locator: Option<String>,
    status: Option<ReadingStatus>,
    #[schema(example = "kobo-clara")]
    device: Option<String>,
    /// When the reader was there; now when absent. The newest position wins.
    updated_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct PutProgressResponse {
    /// `false` when a newer position was already stored: this one changed nothing.
    applied: bool,
    #[serde(flatten)]
    progress: ProgressResponse,
}

/// Record your place in a book
///
/// One place per book across formats. The newest `updated_at` wins: an older position arriving
/// late (a device that was offline) changes nothing, and the answer says `applied: false`.
#[utoipa::path(
    put, path = "/me/progress/{book_id}", tag = "reading",
    params(("book_id" = i64, Path, description = "Book id")),
    request_body = PutProgressRequest,
    responses(
        (status = 200, description = "The stored position", body = PutProgressResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such book", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or an edition of another book", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn put_progress(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(book_id): ApiPath<i64>,
    ApiJson(body): ApiJson<PutProgressRequest>,
) -> Result<JsonResponse<PutProgressResponse>, ApiError> {
    let input = ProgressInput {
        edition_id: body.edition_id,
        percent: body.percent,
        locator: body.locator,
        status: body.status,
        device: body.device,
        updated_at: body.updated_at,
    };
    let recorded = progress::record(&state.db, &me, book_id, input).await?;
    Ok(JsonResponse(PutProgressResponse {
        applied: recorded.applied,
        progress: recorded.progress.into(),
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PositionParams {
    /// Express the position for this edition: `seconds` for an audiobook with a duration,
    /// `page` for an edition with a page count.
    edition_id: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct PositionResponse {
    #[serde(flatten)]
    progress: ProgressResponse,
    /// The edition the position is translated to (with `?edition_id=`).
    for_edition_id: Option<i64>,
    #[schema(example = 5400)]
    seconds: Option<i64>,
    #[schema(example = 126)]
    page: Option<i64>,
}

/// Your place in a book, for any of its editions
#[utoipa::path(
    get, path = "/me/progress/{book_id}", tag = "reading",
    params(("book_id" = i64, Path, description = "Book id"), PositionParams),
    responses(
        (status = 200, description = "Your place", body = PositionResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No progress recorded for this book", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An edition of another book", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn get_progress(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(book_id): ApiPath<i64>,
    ApiQuery(params): ApiQuery<PositionParams>,
) -> Result<JsonResponse<PositionResponse>, ApiError> {
    let position = progress::position(&state.db, &me, book_id, params.edition_id).await?;
    let translated = position.translated;
    Ok(JsonResponse(PositionResponse {
        progress: position.progress.into(),
        for_edition_id: translated.as_ref().map(|t| t.edition_id),
        seconds: translated.as_ref().and_then(|t| t.seconds),
        page: translated.as_ref().and_then(|t| t.page),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct ProgressListItem {
    book_id: i64,
    title: String,
    edition_id: Option<i64>,
    percent: f64,
    locator: Option<String>,
    status: ReadingStatus,
    device: Option<String>,
    updated_at: DateTime<Utc>,
}

impl From<ProgressRow> for ProgressListItem {
    fn from(p: ProgressRow) -> Self {
        Self {
            book_id: p.book_id,
            title: p.title,
            edition_id: p.edition_id,
            percent: p.percent,
            locator: p.locator,
            status: p.status,
            device: p.device,
            updated_at: p.updated_at,
        }
    }
}

/// Continue reading: your books, most recently touched first
#[utoipa::path(
    get, path = "/me/progress", tag = "reading",
    params(PageParams),
    responses(
        (status = 200, description = "A page of your books in progress", body = Page<ProgressListItem>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid parameters or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn list_progress(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<JsonResponse<Page<ProgressListItem>>, ApiError> {
    let found = progress::page(&state.db, &me, page.after()?, page.limit()?).await?;
    Ok(JsonResponse(Page::new(
        found.rows,
        found.has_more,
        |p| (p.updated_at, p.id),
        ProgressListItem::from,
    )))
}

#[derive(Serialize, ToSchema)]
pub struct NoteResponse {
    id: i64,
    book_id: i64,
    edition_id: Option<i64>,
    locator: String,
    /// None for a bookmark.
    text: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<note::Model> for NoteResponse {
    fn from(n: note::Model) -> Self {
        Self {
            id: n.id,
            book_id: n.book_id,
            edition_id: n.edition_id,
            locator: n.locator,
            text: n.text,
            created_at: n.created_at,
            updated_at: n.updated_at,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NoteListParams {
    /// Only the notes in this book.
    book_id: Option<i64>,
    /// Rows per page, 1 to 100 (default 20).
    limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Your notes and bookmarks
#[utoipa::path(
    get, path = "/me/notes", tag = "reading",
    params(NoteListParams),
    responses(
        (status = 200, description = "A page of your notes", body = Page<NoteResponse>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid parameters or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn list_notes(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiQuery(params): ApiQuery<NoteListParams>,
) -> Result<JsonResponse<Page<NoteResponse>>, ApiError> {
    let page = PageParams::of(params.limit, params.cursor);
    let found = notes::page(&state.db, &me, params.book_id, page.after()?, page.limit()?).await?;
    Ok(JsonResponse(Page::new(
        found.rows,
        found.has_more,
        |n| n.id,
        NoteResponse::from,
    )))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateNoteRequest {
    book_id: i64,
    edition_id: Option<i64>,
    /// Where the note is: seconds, a page, an EPUB CFI.
    #[schema(example = "epubcfi(/6/14!/4/2/1:0)", min_length = 1, max_length = 1000)]
    locator: String,
    /// Up to 10,000 characters; none for a bookmark.
    #[schema(max_length = 10000)]
    text: Option<String>,
}

/// Add a note or bookmark
#[utoipa::path(
    post, path = "/me/notes", tag = "reading",
    request_body = CreateNoteRequest,
    responses(
        (status = 201, description = "The new note", body = NoteResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, an unknown book or another book's edition", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn create_note(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiJson(body): ApiJson<CreateNoteRequest>,
) -> Result<(StatusCode, JsonResponse<NoteResponse>), ApiError> {
    let fields = NoteFields {
        edition_id: body.edition_id,
        locator: body.locator,
        text: body.text,
    };
    let note = notes::create(&state.db, &me, body.book_id, fields).await?;
    Ok((StatusCode::CREATED, JsonResponse(note.into())))
}

/// One of your notes
#[utoipa::path(
    get, path = "/me/notes/{id}", tag = "reading",
    params(("id" = i64, Path, description = "Note id")),
    responses(
        (status = 200, description = "The note", body = NoteResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "You have no note with this id", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn get_note(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<JsonResponse<NoteResponse>, ApiError> {
    Ok(JsonResponse(notes::get(&state.db, &me, id).await?.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateNoteRequest {
    #[serde(default, deserialize_with = "patch::nullable")]
    #[schema(value_type = Option<i64>)]
    edition_id: Option<Option<i64>>,
    locator: Option<String>,
    /// `null` turns the note into a bookmark.
    #[serde(default, deserialize_with = "patch::nullable")]
    #[schema(value_type = Option<String>)]
    text: Option<Option<String>>,
}

/// Edit one of your notes
#[utoipa::path(
    patch, path = "/me/notes/{id}", tag = "reading",
    params(("id" = i64, Path, description = "Note id")),
    request_body = UpdateNoteRequest,
    responses(
        (status = 200, description = "The updated note", body = NoteResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "You have no note with this id", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn update_note(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<UpdateNoteRequest>,
) -> Result<JsonResponse<NoteResponse>, ApiError> {
    let patch = NotePatch {
        edition_id: body.edition_id,
        locator: body.locator,
        text: body.text,
    };
    Ok(JsonResponse(
        notes::update(&state.db, &me, id, patch).await?.into(),
    ))
}

/// Delete one of your notes
#[utoipa::path(
    delete, path = "/me/notes/{id}", tag = "reading",
    params(("id" = i64, Path, description = "Note id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "You have no note with this id", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn delete_note(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    notes::delete(&state.db, &me, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
