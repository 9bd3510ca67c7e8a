//! `/editions/{id}/files` and `/files/{id}`: an edition's files, uploaded by admins, fetched
//! by whoever the edition's access lets, with HTTP ranges and validators.

use axum::body::Body;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{AdminUser, ApiPath, ApiQuery, MaybeUser};
use super::json::JsonResponse;
use super::{ApiError, AppState, FieldError, Problem};
use crate::service::files::{self, EditionFile, Upload};
use crate::storage::{ByteStream, ContentHash, StagingError};

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
        .routes(routes!(edition_metadata))
        .routes(routes!(audiobook_manifest))
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// Fill what the edition and its book lack (pages, playing time, ISBN, language,
    /// publisher, release date, description) from what the files say; nothing set is
    /// overwritten.
    apply: Option<bool>,
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
    params(("id" = i64, Path, description = "Edition id"), UploadParams),
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
    ApiQuery(params): ApiQuery<UploadParams>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, JsonResponse<Vec<FileResponse>>), ApiError> {
    let multipart = multipart.map_err(|_| {
        ApiError::UnsupportedMediaType("Send the files as multipart/form-data.".into())
    })?;
    let apply = params.apply.unwrap_or(false);
    let added = receive(&state, &admin, edition_id, apply, multipart).await?;
    Ok((
        StatusCode::CREATED,
        JsonResponse(added.into_iter().map(Into::into).collect()),
    ))
}

/// An upload's files streamed to storage and added to the edition: the API's upload and the
/// web app's. Parts named `file`, each staged as it arrives; refused as a whole (nothing kept)
/// when one is too large, unreadable or not what the edition takes.
pub async fn receive(
    state: &AppState,
    admin: &crate::service::auth::Principal,
    edition_id: i64,
    apply: bool,
    mut multipart: Multipart,
) -> Result<Vec<files::EditionFile>, ApiError> {
    // Refused before a byte of a file is read: not an admin's, no such edition, print.
    files::check_target(&state.db, admin, edition_id).await?;
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
            match staging.write(&chunk).await {
                Ok(()) => {}
                // The rest of the body is read and dropped by `linger`, so the client
                // reads this answer instead of a connection closed under it.
                Err(StagingError::TooLarge { .. }) => {
                    return Err(ApiError::PayloadTooLarge(format!(
                        "The upload is larger than the {} bytes allowed \
                         (FOLIO_MAX_UPLOAD_BYTES); nothing was stored.",
                        state.storage.max_upload_bytes()
                    )));
                }
                Err(StagingError::Storage(e)) => return Err(ApiError::from_storage(e)),
            }
        }
        let staged = staging.finish().await.map_err(ApiError::from_storage)?;
        remaining -= staged.size();
        uploads.push(Upload { name, staged });
    }
    Ok(files::add(&state.db, &state.storage, admin, edition_id, uploads, apply).await?)
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
    ApiQuery(params): ApiQuery<ContentParams>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let inline = params.inline == Some(1);
    deliver(&state, who.as_ref(), id, inline, &method, &headers).await
}

/// A file's bytes (or the part its `Range` asks for, or a 304) to `who`, if the edition's
/// access lets them: the download of this API and of the OPDS catalogs' acquisition links.
pub async fn deliver(
    state: &AppState,
    who: Option<&crate::service::auth::Principal>,
    id: i64,
    inline: bool,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let file = files::open(&state.db, who, id).await?;
    let hash = ContentHash::parse(&file.sha256)
        .map_err(|e| ApiError::internal(format!("file {id}'s hash: {e}")))?;
    let size = file.size as u64;
    let etag = format!("\"{}\"", file.sha256);
    let mut response = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::ACCEPT_RANGES, "bytes")
        // Revalidated on every use (cheap with the ETag): access can be taken away.
        .header(header::CACHE_CONTROL, "private, no-cache");

    if ranges::none_match(headers, &etag) {
        return Ok(response
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .expect("a valid response"));
    }
    let range = match ranges::requested(headers, &etag, size) {
        ranges::Requested::Whole => None,
        ranges::Requested::Part(range) => Some(range),
        ranges::Requested::Unsatisfiable => {
            return Err(ApiError::RangeNotSatisfiable { size });
        }
    };
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
        Body::from_stream(served(
            state
                .storage
                .read(&hash, range)
                .await
                .map_err(ApiError::from_storage)?,
        ))
    };
    Ok(response.body(body).expect("a valid response"))
}

/// A stored file's bytes on their way to a client, counted as they go for the metrics.
pub(super) fn served(
    bytes: ByteStream,
) -> impl futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Send + 'static {
    let counter = crate::telemetry::metrics::storage_served();
    futures_util::TryStreamExt::inspect_ok(bytes, move |chunk| {
        counter.increment(chunk.len() as u64)
    })
}

/// What was read from one file.
#[derive(Serialize, ToSchema)]
pub struct FileMetadataResponse {
    file: FileResponse,
    #[schema(value_type = Object)]
    metadata: files::FileMetadata,
}

/// What an edition's files say about themselves
///
/// For each file, in order: title, creators with roles, language, ISBN (the first valid
/// one), publisher, date, description, page count, audio tags, chapters (audio) and table of
/// contents (EPUB), and whether it holds cover art.
#[utoipa::path(
    get, path = "/editions/{id}/metadata", tag = "files",
    params(("id" = i64, Path, description = "Edition id")),
    responses(
        (status = 200, description = "Each file with what was read from it", body = Vec<FileMetadataResponse>),
        (status = 404, description = "No such edition", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
async fn edition_metadata(
    State(state): State<AppState>,
    ApiPath(edition_id): ApiPath<i64>,
) -> Result<JsonResponse<Vec<FileMetadataResponse>>, ApiError> {
    let read = files::metadata(&state.db, edition_id).await?;
    Ok(JsonResponse(
        read.into_iter()
            .map(|(file, metadata)| FileMetadataResponse {
                file: file.into(),
                metadata,
            })
            .collect(),
    ))
}

/// The Readium audiobook profile a manifest conforms to.
const AUDIOBOOK_PROFILE: &str = "https://readium.org/webpub-manifest/profiles/audiobook";
pub const AUDIOBOOK_MANIFEST: &str = "application/audiobook+json";

/// An audiobook's Readium manifest
///
/// A Readium Web Publication Manifest with the audiobook profile: the tracks in
/// `readingOrder` with their durations, and the chapters in `toc` as a track and a time
/// (`…/content#t=seconds`). A position in the whole book is translated to a track and an
/// offset by adding up the tracks' durations.
#[utoipa::path(
    get, path = "/editions/{id}/manifest", tag = "files",
    params(("id" = i64, Path, description = "Edition id")),
    responses(
        (status = 200, description = "The manifest", content_type = "application/audiobook+json", body = Object),
        (status = 404, description = "No such audiobook edition, or it has no files yet", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
async fn audiobook_manifest(
    State(state): State<AppState>,
    ApiPath(edition_id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let manifest = manifest(&state, edition_id, "/api/v1").await?;
    let body = serde_json::to_vec(&manifest)
        .map_err(|e| ApiError::internal(format!("a manifest did not serialise: {e}")))?;
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, AUDIOBOOK_MANIFEST)
        .body(Body::from(body))
        .expect("a valid response"))
}

/// An audiobook edition's manifest, its links under `root` (`/api/v1`, or `/opds` for apps
/// that sign in as OPDS apps do).
pub async fn manifest(
    state: &AppState,
    edition_id: i64,
    root: &str,
) -> Result<serde_json::Value, ApiError> {
    let book = files::audiobook(&state.db, edition_id).await?;
    Ok(manifest_of(&book, root))
}

fn manifest_of(book: &files::Audiobook, root: &str) -> serde_json::Value {
    use serde_json::json;

    let edition = &book.edition.edition;
    let names = |role: crate::entity::enums::ContributorRole| -> Vec<String> {
        book.edition
            .contributors
            .iter()
            .filter(|c| c.role == role)
            .map(|c| c.name.clone())
            .collect()
    };
    let duration: f64 = book
        .tracks
        .iter()
        .filter_map(|(file, _)| file.duration_seconds)
        .sum();
    let content = |id: i64| format!("{root}/files/{id}/content");
    let mut metadata = json!({
        "@type": "http://schema.org/Audiobook",
        "conformsTo": AUDIOBOOK_PROFILE,
        "identifier": edition
            .isbn
            .as_ref()
            .map_or_else(|| format!("urn:folio:edition:{}", edition.id), |isbn| format!("urn:isbn:{isbn}")),
        "title": book.book.book.title,
        "author": book.book.authors.iter().map(|a| a.name.clone()).collect::<Vec<_>>(),
        "narrator": names(crate::entity::enums::ContributorRole::Narrator),
        "modified": edition.updated_at.to_rfc3339(),
    });
    if duration > 0.0 {
        metadata["duration"] = json!(duration);
    }
    if let Some(language) = edition
        .language
        .as_ref()
        .or(book.book.book.language.as_ref())
    {
        metadata["language"] = json!(language);
    }
    if let Some(publisher) = &edition.publisher {
        metadata["publisher"] = json!(publisher);
    }
    if let Some(description) = &book.book.book.description {
        metadata["description"] = json!(description);
    }
    let reading_order: Vec<_> = book
        .tracks
        .iter()
        .map(|(file, read)| {
            let mut link = json!({
                "href": content(file.id),
                "type": file.media_type,
                "title": read.title.clone().unwrap_or_else(|| file.name.clone()),
            });
            if let Some(duration) = file.duration_seconds {
                link["duration"] = json!(duration);
            }
            if file.size > 0 {
                link["size"] = json!(file.size);
            }
            link
        })
        .collect();
    let toc: Vec<_> = book
        .chapters
        .iter()
        .map(|chapter| {
            json!({
                "href": format!("{}#t={}", content(chapter.file_id), chapter.offset_seconds),
                "title": chapter.title,
            })
        })
        .collect();
    let mut resources = vec![];
    if let Some(cover) = &book.book.cover {
        resources.push(json!({
            "href": format!("/api/v1/covers/{}", cover.medium),
            "rel": "cover",
            "type": "image/jpeg",
        }));
    }
    json!({
        "@context": "https://readium.org/webpub-manifest/context.jsonld",
        "metadata": metadata,
        "links": [{
            "rel": "self",
            "href": format!("{root}/editions/{}/manifest", edition.id),
            "type": AUDIOBOOK_MANIFEST,
        }],
        "readingOrder": reading_order,
        "resources": resources,
        "toc": toc,
    })
}
