//! The home page: what is new, what is popular, and where the reader left off.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use crate::api::{ApiError, AppState};
use crate::repo::book::{BookOrder, SortKey};
use crate::service::catalog::books;
use crate::service::progress;
use crate::web::Ctx;
use crate::web::view::Card;

/// Books per shelf.
const SHELF: u64 = 12;

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    ctx: Ctx,
    continuing: Vec<Card>,
    new: Vec<Card>,
    popular: Vec<Card>,
}

pub async fn home(State(state): State<AppState>, ctx: Ctx) -> Result<Response, ApiError> {
    let continuing = match &ctx.user {
        Some(who) => {
            let rows = progress::page(&state.db, who, None, 6).await?.rows;
            let ids = rows.iter().map(|r| r.book_id).collect();
            let views = books::views(&state.db, ids).await?;
            rows.iter()
                .filter_map(|row| {
                    let view = views.iter().find(|v| v.book.id == row.book_id)?;
                    Some(Card::of(view, ctx.locale).with_progress(row.percent))
                })
                .collect()
        }
        None => vec![],
    };
    let new = shelf(&state, SortKey::Created, &ctx).await?;
    let popular = shelf(&state, SortKey::Popular, &ctx).await?;
    crate::web::render(&Home {
        ctx,
        continuing,
        new,
        popular,
    })
}

async fn shelf(state: &AppState, key: SortKey, ctx: &Ctx) -> Result<Vec<Card>, ApiError> {
    let page = books::page(
        &state.db,
        books::BookQuery {
            order: BookOrder {
                key,
                descending: true,
            },
            limit: SHELF,
            ..books::BookQuery::everything()
        },
    )
    .await?
    .page;
    Ok(page
        .rows
        .iter()
        .map(|b| Card::of(&b.view, ctx.locale))
        .collect())
}
