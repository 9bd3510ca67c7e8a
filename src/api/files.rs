//! `/editions/{id}/files` and `/files/{id}`: an edition's files, uploaded by admins, fetched
//! by whoever the edition's access lets, with HTTP ranges and validators.

use axum::body::Body;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{AdminUser, ApiPath, MaybeUser};
use super::json::JsonResponse;
use super::{ApiError, AppState, FieldError, Problem};
use crate::service::files::{self, EditionFile, Upload};
use crate::storage::{ContentHash, StagingError};

mod ranges;

pub use ranges::none_match;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_files, upload_files))
        // The upload's own limit (FOLIO_MAX_UPLOAD_BYTES) is counted as the parts are written
        // to disk; the router-wide 1 MiB JSON limit does not apply here.
        .layer(DefaultBodyLimit::disable())
        .routes(routes!(delete_file))
        .routes(routes!(file_content))
}

/// The route whose requests may run past the request timeout: an upload lasts as long as the
/// client takes to send it. (A download's handler returns at once; its body streams after.)
pub const UPLOAD_ROUTE: &str = "/api/v1/editions/{id}/files";

#[derive(Serialize, ToSchema)]
pub struct FileResponse {
    id: i64,
    edition_id: i64,
    /// The name a download is saved as.
    #[schema(example = "dune.epub")]
    name: String,
    #[schema(example = "application/epub+zip")]
    media_type: String,
    /// Bytes.
    size: i64,
    /// The SHA-256 of the bytes, in hex; also the download's ETag.
    sha256: String,
    /// 1-based order within the edition (an audiobook's tracks).
    position: i32,
    /// Playing time of an audio file.
    duration_seconds: Option<f64>,
    /// Where to download it.
    #[schema(example = "/api/v1/files/12/content")]
    content_url: String,
    created_at: DateTime<Utc>,
}

impl From<EditionFile> for FileResponse {
    fn from(f: EditionFile) -> Self {
        Self {
            content_url: format!("/api/v1/files/{}/content", f.id),
            id: f.id,
            edition_id: f.edition_id,
            name: f.name,
            media_type: f.media_type,
            size: f.size,
            sha256: f.sha256,
            position: f.position,
            duration_seconds: f.duration_seconds,
            created_at: f.created_at,
        }
    }
}

/// The upload form: one or more parts named `file`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The files, in order (an audiobook's tracks); each judged by its bytes.
    #[schema(value_type = Vec<String>, format = Binary)]
    file: Vec<Vec<u8>>,
}

/// An edition's files
#[utoipa::path(
    get, path = "/editions/{id}/files", tag = "files",
    params(("id" = i64, Path, description = "Edition id")),
    responses(
        (status = 200, description = "The edition's files, in order", body = Vec<FileResponse>),
        (status = 404, description = "No such edition", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
async fn list_files(
    State(state): State<AppState>,
    ApiPath(edition_id): ApiPath<i64>,
) -> Result<JsonResponse<Vec<FileResponse>>, ApiError> {
    let found = files::list(&state.db, edition_id).await?;
    Ok(JsonResponse(found.into_iter().map(Into::into).collect()))
}

/// Upload files to an edition (admin)
///
/// `multipart/form-data` with one or more parts named `file`; several parts are an
/// audiobook's tracks in order, appended after any it has. Each file's bytes decide its type:
/// an ebook edition takes EPUB and PDF, an audiobook edition MP3, M4B/M4A, Ogg/Opus and FLAC;
/// print and vinyl editions take none. Nothing is stored unless every file is taken.
#[utoipa::path(
    post, path = "/editions/{id}/files", tag = "files",
    params(("id" = i64, Path, description = "Edition id")),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "The files added", body = Vec<FileResponse>),
        (status = 400, description = "Not a readable multipart body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such edition", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The edition already has one of the files", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than FOLIO_MAX_UPLOAD_BYTES", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not multipart/form-data", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A file that is not what the edition takes, named with what is wrong", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The file storage is unavailable", body = Problem, content_type = "application/problem+json"),
        (status = 507, description = "The file storage is full", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn upload_files(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiPath(edition_id): ApiPath<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, JsonResponse<Vec<FileResponse>>), ApiError> {
    let mut multipart = multipart.map_err(|_| {
        ApiError::UnsupportedMediaType("Send the files as multipart/form-data.".into())
    })?;
    // Refused before a byte of a file is read: not an admin's, no such edition, print.
    files::check_target(&state.db, &admin, edition_id).await?;
    let mut uploads = vec![];
    let mut remaining = state.storage.max_upload_bytes();
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        if field.name() != Some("file") {
            return Err(ApiError::Validation(vec![FieldError::new(
                field.name().unwrap_or("(unnamed)"),
                "unexpected part; send each file as a part named `file`",
            )]));
        }
        let name = field.file_name().unwrap_or("file").to_string();
        let mut staging = state
            .storage
            .stage(remaining)
            .await
            .map_err(ApiError::from_storage)?;
        while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
            staging.write(&chunk).await.map_err(|e| match e {
                StagingError::TooLarge { limit } => ApiError::PayloadTooLarge(format!(
                    "The upload is larger than the {limit} bytes allowed (FOLIO_MAX_UPLOAD_BYTES)."
                )),
                StagingError::Storage(e) => ApiError::from_storage(e),
            })?;
        }
        let staged = staging.finish().await.map_err(ApiError::from_storage)?;
        remaining -= staged.size();
        uploads.push(Upload { name, staged });
    }
    let added = files::add(&state.db, &state.storage, &admin, edition_id, uploads).await?;
    Ok((
        StatusCode::CREATED,
        JsonResponse(added.into_iter().map(Into::into).collect()),
    ))
}

fn unreadable(e: MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge("The upload is too large.".into())
    } else {
        ApiError::BadRequest(format!(
            "The multipart body could not be read: {}",
            e.body_text()
        ))
    }
}

/// Delete a file (admin)
///
/// The file's bytes are removed from storage unless another edition holds the same bytes.
#[utoipa::path(
    delete, path = "/files/{id}", tag = "files",
    params(("id" = i64, Path, description = "File id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such file", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn delete_file(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    files::delete(&state.db, &state.storage, &admin, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContentParams {
    /// `1` to show the file in the browser (reading, playing) rather than save it.
    #[serde(default)]
    inline: Option<u8>,
}

/// Download a file
///
/// Who may: anyone for a `public` edition, any signed-in account for `members`, accounts that
/// bought it (until refunded) for `buyers`, and admins. Supports a single `Range` (206,
/// `Content-Range`; 416 when unsatisfiable), `If-None-Match` (304) and `If-Range` against the
/// `ETag`, which is the file's SHA-256, and `HEAD`.
#[utoipa::path(
    get, path = "/files/{id}/content", tag = "files",
    params(("id" = i64, Path, description = "File id"), ContentParams),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, description = "The requested range of the file", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 401, description = "Sign in to download this edition", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not bought (the detail says how to buy it)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such file", body = Problem, content_type = "application/problem+json"),
        (status = 416, description = "The range is outside the file", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The file storage is unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = []), ("api_key" = []))
)]
async fn file_content(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    ApiPath(id): ApiPath<i64>,
    Query(params): Query<ContentParams>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let file = files::open(&state.db, who.as_ref(), id).await?;
    let hash = ContentHash::parse(&file.sha256)
        .map_err(|e| ApiError::internal(format!("file {id}'s hash: {e}")))?;
    let size = file.size as u64;
    let etag = format!("\"{}\"", file.sha256);
    let mut response = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::ACCEPT_RANGES, "bytes")
        // Revalidated on every use (cheap with the ETag): access can be taken away.
        .header(header::CACHE_CONTROL, "private, no-cache");

    if ranges::none_match(&headers, &etag) {
        return Ok(response
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .expect("a valid response"));
    }
    let range = match ranges::requested(&headers, &etag, size) {
        ranges::Requested::Whole => None,
        ranges::Requested::Part(range) => Some(range),
        ranges::Requested::Unsatisfiable => {
            return Err(ApiError::RangeNotSatisfiable { size });
        }
    };
    let inline = params.inline == Some(1);
    response = response
        .header(header::CONTENT_TYPE, &file.media_type)
        .header(
            header::CONTENT_DISPOSITION,
            ranges::content_disposition(&file.name, inline),
        );
    let (status, length) = match &range {
        Some(range) => {
            response = response.header(
                header::CONTENT_RANGE,
                format!("bytes {}-{}/{size}", range.start, range.end - 1),
            );
            (StatusCode::PARTIAL_CONTENT, range.end - range.start)
        }
        None => (StatusCode::OK, size),
    };
    response = response
        .status(status)
        .header(header::CONTENT_LENGTH, HeaderValue::from(length));
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from_stream(
            state
                .storage
                .read(&hash, range)
                .await
                .map_err(ApiError::from_storage)?,
        )
    };
    Ok(response.body(body).expect("a valid response"))
}
