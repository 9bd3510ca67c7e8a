//! The audiobook player: the browser's `<audio>` over the Range delivery, track by track, with
//! the chapters, skips, speed, a sleep timer, keyboard shortcuts and the phone's lock-screen
//! controls (Media Session) in `assets/player.js`. The place is saved every 10 s while playing,
//! on pause and when the page is hidden, and restored on open from wherever it was made — the
//! EPUB reader and KOReader included — through the one progress's fraction of the book.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::{Extension, Json};
use serde::Deserialize;

use crate::api::extract::{ApiJson, ApiPath};
use crate::api::{ApiError, AppState};
use crate::service::progress::{self, ProgressInput};
use crate::service::{ServiceError, files};
use crate::web::view;
use crate::web::{Ctx, csrf};

#[derive(Template)]
#[template(path = "player.html")]
struct PlayerPage {
    ctx: Ctx,
    edition_id: i64,
    book_id: i64,
    title: String,
    authors: String,
    cover: Option<String>,
    chapters: Vec<ChapterRow>,
    /// What the script plays: the tracks and chapters, as JSON in a data block.
    plan: String,
    /// Where to start, in seconds from the start of the book.
    start_at: f64,
    total: f64,
    saves: bool,
}

struct ChapterRow {
    title: String,
    /// Seconds from the start of the book.
    at: f64,
    shown: String,
}

/// `GET /listen/{edition}`
pub async fn listen(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(edition_id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let book = files::audiobook(&state.db, edition_id).await?;
    let Some((first, _)) = book.tracks.first() else {
        return Err(ApiError::NotFound(
            "This edition has no audio to play.".into(),
        ));
    };
    if !first.media_type.starts_with("audio/") {
        return Err(ApiError::NotFound(
            "This edition has no audio to play.".into(),
        ));
    }
    match files::open(&state.db, ctx.user.as_ref(), first.id).await {
        Ok(_) => {}
        Err(ServiceError::Forbidden(_)) => {
            return super::reader::buy_first(&state, &ctx, edition_id).await;
        }
        Err(other) => return Err(other.into()),
    }
    // Each track's start in the book: the sum of the tracks before it.
    let mut starts = vec![];
    let mut total = 0.0;
    let tracks: Vec<serde_json::Value> = book
        .tracks
        .iter()
        .map(|(file, _)| {
            starts.push((file.id, total));
            let duration = file.duration_seconds.unwrap_or(0.0);
            total += duration;
            serde_json::json!({
                "href": format!("/files/{}/content?inline=1", file.id),
                "type": file.media_type,
                "duration": duration,
            })
        })
        .collect();
    let chapters: Vec<ChapterRow> = book
        .chapters
        .iter()
        .filter_map(|chapter| {
            let (_, track_start) = starts.iter().find(|(id, _)| *id == chapter.file_id)?;
            let at = track_start + chapter.offset_seconds;
            Some(ChapterRow {
                title: chapter.title.clone(),
                shown: clock(at),
                at,
            })
        })
        .collect();
    let start_at = match &ctx.user {
        Some(who) => match progress::position(&state.db, who, book.book.book.id, None).await {
            Ok(position) => (position.progress.percent * total).clamp(0.0, total),
            Err(ServiceError::NotFound(_)) => 0.0,
            Err(other) => return Err(other.into()),
        },
        None => 0.0,
    };
    let plan = serde_json::json!({
        "tracks": tracks,
        "chapters": chapters.iter().map(|c| serde_json::json!({"title": c.title, "at": c.at})).collect::<Vec<_>>(),
        "title": book.book.book.title,
        "author": view::authors(&book.book),
        "cover": book.book.cover.as_ref().map(|c| format!("/api/v1/covers/{}", c.medium)),
    })
    .to_string()
    // A data block ends at the first `</`: none may appear inside it.
    .replace("</", "<\\/");
    let page = PlayerPage {
        edition_id,
        book_id: book.book.book.id,
        title: book.book.book.title.clone(),
        authors: view::authors(&book.book),
        cover: book
            .book
            .cover
            .as_ref()
            .map(|c| format!("/api/v1/covers/{}", c.medium)),
        chapters,
        plan,
        start_at,
        total,
        saves: ctx.user.is_some(),
        ctx,
    };
    crate::web::render(&page)
}

/// `h:mm:ss`, or `m:ss` under an hour.
fn clock(seconds: f64) -> String {
    // Whole seconds passed, as players count: 2.5 s is 0:02.
    let s = seconds.max(0.0).floor() as u64;
    let (h, m, s) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

#[derive(Deserialize)]
pub struct Heard {
    /// Seconds from the start of the book.
    seconds: f64,
    /// The book's length, as the page was told it.
    total: f64,
    csrf: Option<String>,
}

/// `POST /listen/{edition}/position`
pub async fn save_position(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(edition_id): ApiPath<i64>,
    seed: Option<Extension<csrf::Seed>>,
    headers: HeaderMap,
    ApiJson(heard): ApiJson<Heard>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let seed = seed.as_ref().map(|Extension(s)| s);
    csrf::check_script(&state, seed, &headers, heard.csrf.as_deref())?;
    let who = ctx
        .user
        .as_ref()
        .ok_or_else(|| ApiError::Unauthorized("Sign in to keep your place.".into()))?;
    if !(heard.total > 0.0 && heard.seconds.is_finite() && heard.seconds >= 0.0) {
        return Err(ApiError::BadRequest(
            "seconds and total must be positive.".into(),
        ));
    }
    let edition = crate::service::catalog::editions::get(&state.db, edition_id).await?;
    let percent = (heard.seconds / heard.total).clamp(0.0, 1.0);
    let recorded = progress::record(
        &state.db,
        who,
        edition.edition.book_id,
        ProgressInput {
            edition_id: Some(edition_id),
            percent,
            // Seconds into the book, as the audiobook apps write it.
            locator: Some(format!("{}", heard.seconds.round() as i64)),
            status: None,
            device: Some("Web player".into()),
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
    #[test]
    fn times_read_as_a_clock() {
        assert_eq!(super::clock(0.0), "0:00");
        assert_eq!(super::clock(75.4), "1:15");
        assert_eq!(super::clock(3723.0), "1:02:03");
    }
}
