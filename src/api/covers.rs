//! `/books/{id}/cover` and `/covers/{sha256}`: books' covers and their thumbnails.

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{AdminUser, ApiPath, ApiQuery};
use super::json::JsonResponse;
use super::{ApiError, AppState, Problem};
use crate::repo::book_view::CoverRef;
use crate::service::covers::{self, CoverImage, CoverSize, MAX_COVER_BYTES};
use crate::storage::ContentHash;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_cover, set_cover))
        .layer(DefaultBodyLimit::max(MAX_COVER_BYTES))
        .routes(routes!(cover_by_hash))
}

/// A cover's images, each at a URL named by its content: cacheable for good.
#[derive(Serialize, ToSchema)]
pub struct CoverUrls {
    /// 160 px wide, JPEG.
    #[schema(
        example = "/api/v1/covers/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    )]
    thumb: String,
    /// 480 px wide, JPEG.
    medium: String,
    /// The image as uploaded.
    full: String,
}

impl From<CoverRef> for CoverUrls {
    fn from(cover: CoverRef) -> Self {
        let url = |sha: &str| format!("/api/v1/covers/{sha}");
        Self {
            thumb: url(&cover.thumb),
            medium: url(&cover.medium),
            full: url(&cover.sha256),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CoverParams {
    /// `thumb` (160 px), `medium` (480 px) or `full` (the original; the default).
    size: Option<String>,
}

/// Set a book's cover (admin)
///
/// The body is the image itself, JPEG, PNG or WebP, at most 20 MiB; it is checked by decoding
/// it (a decompression bomb or an image over 12,000 pixels a side is refused), and thumbnails
/// 160 and 480 px wide are made once.
#[utoipa::path(
    put, path = "/books/{id}/cover", tag = "books",
    params(("id" = i64, Path, description = "Book id")),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses(
        (status = 200, description = "The cover's images", body = CoverUrls),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such book", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than 20 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an image folio takes", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("oauth2" = []), ("api_key" = []))
)]
async fn set_cover(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiPath(book_id): ApiPath<i64>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<JsonResponse<CoverUrls>, ApiError> {
    let image = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(format!("A cover may be at most {MAX_COVER_BYTES} bytes."))
        } else {
            ApiError::BadRequest("The image could not be read.".into())
        }
    })?;
    let cover = covers::set(&state.db, &state.storage, &admin, book_id, image).await?;
    Ok(JsonResponse(CoverUrls::from(CoverRef {
        sha256: cover.sha256,
        thumb: cover.thumb_sha256,
        medium: cover.medium_sha256,
    })))
}

/// A book's cover
///
/// The current cover at the size asked for. Its URL stays the same when the cover changes, so
/// it is cached briefly; the content-addressed URLs in a book's `cover` are cached for good.
#[utoipa::path(
    get, path = "/books/{id}/cover", tag = "books",
    params(("id" = i64, Path, description = "Book id"), CoverParams),
    responses(
        (status = 200, description = "The image", content_type = "image/jpeg", body = Vec<u8>),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 404, description = "No such book, or it has no cover", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a size", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
async fn get_cover(
    State(state): State<AppState>,
    ApiPath(book_id): ApiPath<i64>,
    ApiQuery(params): ApiQuery<CoverParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let size = match params.size.as_deref() {
        None | Some("full") => CoverSize::Full,
        Some("thumb") => CoverSize::Thumb,
        Some("medium") => CoverSize::Medium,
        Some(_) => {
            return Err(ApiError::Validation(vec![super::FieldError::new(
                "size",
                "must be thumb, medium or full",
            )]));
        }
    };
    let image = covers::image(&state.db, book_id, size).await?;
    serve(&state, image, "public, max-age=300", &headers).await
}

/// A cover image by its SHA-256
///
/// Only covers and their thumbnails are served here. The URL names the bytes, so the answer
/// never changes: cached for a year, `immutable`.
#[utoipa::path(
    get, path = "/covers/{sha256}", tag = "books",
    params(("sha256" = String, Path, description = "The image's SHA-256, hex")),
    responses(
        (status = 200, description = "The image", content_type = "image/jpeg", body = Vec<u8>),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 404, description = "No cover has this hash", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
async fn cover_by_hash(
    State(state): State<AppState>,
    ApiPath(sha256): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let image = covers::by_hash(&state.db, &sha256).await?;
    serve(
        &state,
        image,
        "public, max-age=31536000, immutable",
        &headers,
    )
    .await
}

async fn serve(
    state: &AppState,
    image: CoverImage,
    cache: &'static str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let etag = format!("\"{}\"", image.sha256);
    let response = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::CACHE_CONTROL, cache);
    if super::files::none_match(headers, &etag) {
        return Ok(response
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .expect("a valid response"));
    }
    let hash = ContentHash::parse(&image.sha256)
        .map_err(|e| ApiError::internal(format!("a cover's hash: {e}")))?;
    let bytes = state
        .storage
        .read(&hash, None)
        .await
        .map_err(ApiError::from_storage)?;
    Ok(response
        .header(header::CONTENT_TYPE, image.media_type)
        .body(Body::from_stream(super::files::served(bytes)))
        .expect("a valid response"))
}
