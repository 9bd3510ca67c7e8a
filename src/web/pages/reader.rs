//! The EPUB reader: a chapter at a time, rendered from the stored file ([`crate::web::chapter`]),
//! with the table of contents, previous and next, and the reader's place saved to the one
//! progress as they scroll and restored on open — wherever it was made (this reader, the
//! player, KOReader), by the fraction of the book's text it stands at. A PDF opens in the
//! browser's own viewer instead.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;

use crate::api::extract::{ApiJson, ApiPath, ApiQuery};
use crate::api::{ApiError, AppState};
use crate::entity::edition_file;
use crate::media::epub::Book;
use crate::service::catalog::{books, editions};
use crate::service::progress::{self, ProgressInput};
use crate::service::{ServiceError, acquisition, files};
use crate::storage::ContentHash;
use crate::web::chapter::{self, Chapter};
use crate::web::view::{self, EditionRow};
use crate::web::{Ctx, csrf};

const EPUB: &str = "application/epub+zip";

/// The edition's EPUB, if this reader may open it: a visitor is sent to sign in, a reader
/// who has not bought it gets the page that offers to.
async fn epub_of(
    state: &AppState,
    ctx: &Ctx,
    edition_id: i64,
) -> Result<Result<edition_file::Model, Response>, ApiError> {
    let edition = editions::get(&state.db, edition_id).await?;
    let offers = acquisition::offers(&state.db, ctx.user.as_ref(), &[&edition.edition]).await?;
    let file = offers
        .get(&edition_id)
        .and_then(|offer| offer.files.iter().find(|f| f.media_type == EPUB))
        .ok_or_else(|| ApiError::NotFound("This edition has no EPUB to read.".into()))?;
    match files::open(&state.db, ctx.user.as_ref(), file.id).await {
        Ok(file) => Ok(Ok(file)),
        Err(ServiceError::Forbidden(_)) => Ok(Err(buy_first(state, ctx, edition_id).await?)),
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "buy_first.html")]
struct BuyFirst {
    ctx: Ctx,
    book_id: i64,
    title: String,
    edition: EditionRow,
    buy_key: String,
}

/// The 403 of an edition the reader has not bought: what it costs and a button to buy it.
pub(super) async fn buy_first(
    state: &AppState,
    ctx: &Ctx,
    edition_id: i64,
) -> Result<Response, ApiError> {
    let edition = editions::get(&state.db, edition_id).await?;
    let book = books::get(&state.db, edition.edition.book_id).await?;
    let offers = acquisition::offers(&state.db, ctx.user.as_ref(), &[&edition.edition]).await?;
    let row = EditionRow::of(&book, &offers, ctx.locale)
        .into_iter()
        .find(|e| e.id == edition_id)
        .ok_or_else(|| ApiError::NotFound("No such edition.".into()))?;
    let page = BuyFirst {
        ctx: ctx.clone(),
        book_id: book.book.id,
        title: book.book.title,
        edition: row,
        buy_key: uuid::Uuid::new_v4().to_string(),
    };
    let mut response = crate::web::render(&page)?;
    *response.status_mut() = axum::http::StatusCode::FORBIDDEN;
    Ok(response)
}

/// What the reader needs of the file, read off the blocking pool.
struct Opened {
    chapter: Chapter,
    /// 1-based.
    number: usize,
    chapters: usize,
    toc: Vec<(String, Option<usize>, u8)>,
    /// Bytes of text before this chapter, in it, and in the whole book.
    start: u64,
    size: u64,
    total: u64,
    /// Where in the chapter the reader was (0–1), when the chapter came from their progress.
    within: f64,
}

/// Opens the stored EPUB and renders chapter `wanted` (1-based), or the one holding
/// `percent` of the text.
async fn open_chapter(
    state: &AppState,
    file: &edition_file::Model,
    edition_id: i64,
    wanted: Option<usize>,
    percent: Option<f64>,
) -> Result<Opened, ApiError> {
    let hash = ContentHash::parse(&file.sha256)
        .map_err(|e| ApiError::internal(format!("file {}'s hash: {e}", file.id)))?;
    let path = state
        .storage
        .local_copy(&hash)
        .await
        .map_err(|e| ApiError::from(ServiceError::FileStorage(e)))?;
    tokio::task::spawn_blocking(move || -> Result<Opened, ApiError> {
        let mut book = Book::open(&path)
            .map_err(|e| ApiError::internal(format!("a stored EPUB does not open: {e}")))?;
        let spine = book.spine().to_vec();
        if spine.is_empty() {
            return Err(ApiError::NotFound("This EPUB has no chapters.".into()));
        }
        let sizes = book.spine_sizes();
        let total: u64 = sizes.iter().sum();
        let (number, within) = match (wanted, percent) {
            (Some(n), _) => (n.clamp(1, spine.len()), 0.0),
            (None, Some(percent)) => place(&sizes, percent),
            (None, None) => (1, 0.0),
        };
        let start: u64 = sizes[..number - 1].iter().sum();
        let document = &spine[number - 1];
        let (bytes, _) = book
            .item(document)
            .ok_or_else(|| ApiError::NotFound("This chapter cannot be read.".into()))?;
        let chapter = chapter::render(&bytes, document, &spine, edition_id);
        let toc = book
            .toc()
            .iter()
            .map(|entry| {
                let target = entry.spine_position.map(|p| p as usize + 1);
                (entry.title.clone(), target, entry.depth)
            })
            .collect();
        Ok(Opened {
            chapter,
            number,
            chapters: spine.len(),
            toc,
            start,
            size: sizes[number - 1],
            total,
            within,
        })
    })
    .await
    .map_err(|e| ApiError::internal(format!("the EPUB reader stopped: {e}")))?
}

/// The 1-based chapter holding `percent` of the text, and how far into it. Counted in whole
/// bytes, so the start of a chapter saved as a fraction comes back to that chapter, not to the
/// end of the one before it.
fn place(sizes: &[u64], percent: f64) -> (usize, f64) {
    let total: u64 = sizes.iter().sum();
    if total == 0 {
        return (1, 0.0);
    }
    let at = (percent.clamp(0.0, 1.0) * total as f64).round() as u64;
    let mut start = 0;
    for (index, &size) in sizes.iter().enumerate() {
        let end = start + size;
        if at < end || index == sizes.len() - 1 {
            let within = if size == 0 {
                0.0
            } else {
                (at - start) as f64 / size as f64
            };
            return (index + 1, within.clamp(0.0, 1.0));
        }
        start = end;
    }
    (sizes.len().max(1), 0.0)
}

#[derive(Template)]
#[template(path = "reader.html")]
struct ReaderPage {
    ctx: Ctx,
    edition_id: i64,
    book_id: i64,
    title: String,
    authors: String,
    opened: Opened,
    /// Whether the reader's place is saved (signed in).
    saves: bool,
}

impl ReaderPage {
    fn chapter_label(&self) -> String {
        self.ctx.locale.t2(
            "reader-chapter-of",
            ("number", self.opened.number),
            ("count", self.opened.chapters),
        )
    }
}

#[derive(Deserialize)]
pub struct ReaderParams {
    chapter: Option<usize>,
}

/// `GET /read/{edition}`
pub async fn read(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(edition_id): ApiPath<i64>,
    ApiQuery(params): ApiQuery<ReaderParams>,
) -> Result<Response, ApiError> {
    let file = match epub_of(&state, &ctx, edition_id).await? {
        Ok(file) => file,
        Err(refusal) => return Ok(refusal),
    };
    let edition = editions::get(&state.db, edition_id).await?;
    let book = books::get(&state.db, edition.edition.book_id).await?;
    let percent = match (&ctx.user, params.chapter) {
        (Some(who), None) => match progress::position(&state.db, who, book.book.id, None).await {
            Ok(position) => Some(position.progress.percent),
            Err(ServiceError::NotFound(_)) => None,
            Err(other) => return Err(other.into()),
        },
        _ => None,
    };
    let opened = open_chapter(&state, &file, edition_id, params.chapter, percent).await?;
    let page = ReaderPage {
        edition_id,
        book_id: book.book.id,
        title: book.book.title.clone(),
        authors: view::authors(&book),
        saves: ctx.user.is_some(),
        opened,
        ctx,
    };
    // The chapter's markup is sanitised; the pages' Content-Security-Policy is the second
    // wall: nothing may run but folio's script, no image or style come from elsewhere.
    crate::web::render(&page)
}

/// `GET /read/{edition}/res/{*path}`: an image, stylesheet or font of the book.
pub async fn resource(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((edition_id, path)): Path<(i64, String)>,
) -> Result<Response, ApiError> {
    let file = match epub_of(&state, &ctx, edition_id).await? {
        Ok(file) => file,
        Err(refusal) => return Ok(refusal),
    };
    let hash = ContentHash::parse(&file.sha256)
        .map_err(|e| ApiError::internal(format!("file {}'s hash: {e}", file.id)))?;
    let local = state
        .storage
        .local_copy(&hash)
        .await
        .map_err(|e| ApiError::from(ServiceError::FileStorage(e)))?;
    let found = tokio::task::spawn_blocking(move || {
        Book::open(&local)
            .ok()
            .and_then(|mut book| book.item(&path))
    })
    .await
    .map_err(|e| ApiError::internal(format!("the EPUB reader stopped: {e}")))?;
    let Some((bytes, media_type)) = found else {
        return Err(ApiError::NotFound("The book has no such resource.".into()));
    };
    // Pictures, styles and fonts only: a chapter is read through the reader, never as a page
    // of its own.
    let allowed = media_type.starts_with("image/")
        || media_type == "text/css"
        || media_type.starts_with("font/")
        || media_type.starts_with("application/font")
        || media_type == "application/vnd.ms-opentype";
    if !allowed {
        return Err(ApiError::NotFound("The book has no such resource.".into()));
    }
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&media_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    // An SVG opened on its own is a document: it may not run anything either.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; img-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self'; sandbox"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    Ok(response)
}

#[derive(Deserialize)]
pub struct Place {
    /// 0–1 through the book.
    percent: f64,
    /// The 1-based chapter it is in.
    chapter: usize,
    /// The page's CSRF token, when it could not go in a header (`sendBeacon`).
    csrf: Option<String>,
}

/// `POST /read/{edition}/position`: the reader's script saves where they are (debounced).
pub async fn save_position(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(edition_id): ApiPath<i64>,
    seed: Option<Extension<csrf::Seed>>,
    headers: HeaderMap,
    ApiJson(place): ApiJson<Place>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let seed = seed.as_ref().map(|Extension(s)| s);
    csrf::check_script(&state, seed, &headers, place.csrf.as_deref())?;
    let who = ctx
        .user
        .as_ref()
        .ok_or_else(|| ApiError::Unauthorized("Sign in to keep your place.".into()))?;
    let edition = editions::get(&state.db, edition_id).await?;
    let recorded = progress::record(
        &state.db,
        who,
        edition.edition.book_id,
        ProgressInput {
            edition_id: Some(edition_id),
            percent: place.percent,
            // An EPUB CFI naming the spine item, as web readers (Readium) write one.
            locator: Some(format!("epubcfi(/6/{}!)", place.chapter.max(1) * 2)),
            status: None,
            device: Some("Web reader".into()),
            updated_at: None,
        },
    )
    .await?;
    Ok(Json(serde_json::json!({
        "percent": recorded.progress.percent,
        "applied": recorded.applied,
    })))
}

#[cfg(test)]
mod tests {
    use super::place;

    #[test]
    fn a_fraction_of_the_text_falls_in_its_chapter() {
        let sizes = [100, 300, 600];
        assert_eq!(place(&sizes, 0.0), (1, 0.0));
        assert_eq!(place(&sizes, 0.05), (1, 0.5));
        assert_eq!(place(&sizes, 0.25), (2, 0.5));
        assert_eq!(place(&sizes, 0.7), (3, 0.5));
        assert_eq!(place(&sizes, 1.0), (3, 1.0));
        assert_eq!(place(&[], 0.5), (1, 0.0));
        // The start of a chapter, as a fraction, is that chapter.
        let sizes = [3_333, 3_331, 3_335];
        let second = 3_333.0 / 9_999.0;
        assert_eq!(place(&sizes, second).0, 2);
    }
}
