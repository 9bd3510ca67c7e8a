//! A book's page: what it is, its editions with what the reader may do with each, its rating
//! and its comments, and the reader's own comment.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use crate::api::extract::{ApiPath, ApiQuery};
use crate::api::{ApiError, AppState, pagination};
use crate::repo::book_view::{AuthorRef, CategoryRef};
use crate::service::{ServiceError, book_page, comments};
use crate::web::view::{self, EditionRow};
use crate::web::{Ctx, csrf, see_other};

const COMMENTS: u64 = 20;

#[derive(Template)]
#[template(path = "book.html")]
struct BookPage {
    ctx: Ctx,
    id: i64,
    title: String,
    subtitle: Option<String>,
    /// "Harry Potter, 1": the series and the book's place in it.
    series: Option<String>,
    description: Option<String>,
    year: Option<i32>,
    authors: Vec<AuthorRef>,
    categories: Vec<CategoryRef>,
    cover: Option<String>,
    editions: Vec<EditionRow>,
    rating: Option<String>,
    rating_count: i64,
    comments: Vec<CommentView>,
    more_comments: Option<String>,
    /// Whether the reader has commented already (one comment each).
    commented: bool,
    /// The idempotency key of this drawing of the page's "Buy" buttons: a double click or a
    /// resent form buys once.
    buy_key: String,
}

struct CommentView {
    id: i64,
    username: String,
    text: String,
    rating: Option<i32>,
    /// "★★★★☆" and its accessible words.
    stars: Option<(String, String)>,
    date: String,
    mine: bool,
}

impl CommentView {
    /// The edit form's ratings, 5 to 1, with the comment's own chosen.
    fn rating_options(&self) -> Vec<(i32, bool)> {
        (1..=5).rev().map(|r| (r, self.rating == Some(r))).collect()
    }
}

#[derive(Deserialize)]
pub struct BookParams {
    comments_after: Option<String>,
}

/// `GET /books/{id}`
pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(params): ApiQuery<BookParams>,
) -> Result<Response, ApiError> {
    let after = params
        .comments_after
        .as_deref()
        .map(pagination::decode)
        .transpose()?;
    let shown = book_page::get(&state.db, ctx.user.as_ref(), id, after, COMMENTS).await?;
    let (book, offers, page) = (shown.book, shown.offers, shown.comments);
    let more_comments = match (page.has_more, page.rows.last()) {
        (true, Some(last)) => Some(pagination::encode(&(last.created_at, last.id))),
        _ => None,
    };
    let me = ctx.user.as_ref().map(|u| u.user_id);
    let comments: Vec<CommentView> = page
        .rows
        .into_iter()
        .map(|c| CommentView {
            stars: c.rating.map(|r| {
                let r = r.clamp(0, 5) as usize;
                (
                    format!("{}{}", "★".repeat(r), "☆".repeat(5 - r)),
                    ctx.t1("rating-stars", "stars", r),
                )
            }),
            date: ctx.locale.date(c.created_at.date_naive()),
            mine: Some(c.user_id) == me,
            rating: c.rating,
            id: c.id,
            username: c.username,
            text: c.text,
        })
        .collect();
    // On the first page the reader's own comment shows if they have one; the service refuses
    // a second anyway.
    let commented = comments.iter().any(|c| c.mine);
    let page = BookPage {
        id,
        rating: view::rating(book.book.rating_sum, book.book.rating_count, ctx.locale),
        rating_count: book.book.rating_count,
        editions: EditionRow::of(&book, &offers, ctx.locale),
        cover: book
            .cover
            .as_ref()
            .map(|c| format!("/api/v1/covers/{}", c.medium)),
        series: book
            .book
            .series
            .as_ref()
            .map(|name| match book.book.series_number {
                Some(n) => format!("{name}, {n}"),
                None => name.clone(),
            }),
        title: book.book.title,
        subtitle: book.book.subtitle,
        description: book.book.description,
        year: book.book.original_year,
        authors: book.authors,
        categories: book.categories,
        comments,
        more_comments,
        commented,
        buy_key: uuid::Uuid::new_v4().to_string(),
        ctx,
    };
    crate::web::render(&page)
}

#[derive(Deserialize)]
pub struct CommentForm {
    text: String,
    rating: Option<String>,
}

/// `POST /books/{id}/comments`: the reader's comment, with a rating or none.
pub async fn comment(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    csrf::Form(form): csrf::Form<CommentForm>,
) -> Result<Response, ApiError> {
    let who = ctx
        .user
        .as_ref()
        .ok_or_else(|| ApiError::Unauthorized("Sign in to comment.".into()))?;
    let rating = rating_of(form.rating.as_deref())?;
    comments::create(&state.db, who, id, form.text, rating).await?;
    Ok(see_other(&format!("/books/{id}#comments")))
}

/// `POST /comments/{id}`: the reader rewrites their comment and its rating.
pub async fn edit_comment(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    csrf::Form(form): csrf::Form<CommentForm>,
) -> Result<Response, ApiError> {
    let who = ctx
        .user
        .as_ref()
        .ok_or_else(|| ApiError::Unauthorized("Sign in first.".into()))?;
    let rating = rating_of(form.rating.as_deref())?;
    let row = comments::update(&state.db, who, id, Some(form.text), Some(rating)).await?;
    Ok(see_other(&format!("/books/{}#comment-{id}", row.book_id)))
}

/// A rating as the form's select sends it: blank for none.
fn rating_of(value: Option<&str>) -> Result<Option<i32>, ApiError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(r) => Ok(Some(r.parse::<i32>().map_err(|_| {
            ServiceError::invalid("rating", "a rating is a whole number from 1 to 5")
        })?)),
    }
}

/// `POST /comments/{id}/delete`: the reader takes their comment back.
pub async fn delete_comment(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    csrf::Form(_): csrf::Form<serde::de::IgnoredAny>,
) -> Result<Response, ApiError> {
    let who = ctx
        .user
        .as_ref()
        .ok_or_else(|| ApiError::Unauthorized("Sign in first.".into()))?;
    let found = comments::get(&state.db, id).await?;
    comments::delete(&state.db, who, id).await?;
    Ok(see_other(&format!("/books/{}#comments", found.book_id)))
}
