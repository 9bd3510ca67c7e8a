//! Comments and ratings (seed 001's comments): public to read, written by signed-in readers.

use crate::db::{Database, Read, UnitOfWork};
pub use crate::repo::comment::CommentRow;
use crate::repo::{self, Page};
use crate::service::auth::Principal;
use crate::service::validate::{self, Checked, Checks};
use crate::service::{ServiceError, ServiceResult, webhooks};

/// The longest comment, in characters; imports shorten longer reviews to it.
pub const MAX_TEXT: usize = 5000;

fn check(text: Option<&str>, rating: Option<i32>) -> ServiceResult<()> {
    let mut checks = Checks::default();
    if let Some(text) = text {
        checks.check("text", validate::text(text.trim(), 1, MAX_TEXT));
    }
    if rating.is_some_and(|r| !(1..=5).contains(&r)) {
        checks.check("rating", Err("must be from 1 to 5".into()));
    }
    checks.finish()
}

/// A comment as its author writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewComment {
    pub text: String,
    pub rating: Option<i32>,
}

/// The comment as the catalog keeps it (its text trimmed), or why not.
pub fn checked(mut text: String, rating: Option<i32>) -> ServiceResult<Checked<NewComment>> {
    check(Some(&text), rating)?;
    validate::trim(&mut text);
    Ok(Checked::new(NewComment { text, rating }))
}

#[tracing::instrument(
    level = "info",
    name = "service.comments.create",
    skip_all,
    fields(book_id),
    err(level = "debug")
)]
pub async fn create(
    db: &Database,
    who: &Principal,
    book_id: i64,
    text: String,
    rating: Option<i32>,
) -> ServiceResult<CommentRow> {
    let NewComment { text, rating } = checked(text, rating)?.into_inner();
    let user_id = who.user_id;
    db.write(|tx| {
        Box::pin(async move {
            if repo::book::find(&**tx, book_id).await?.is_none() {
                return Err(ServiceError::NotFound("book".into()));
            }
            let id = repo::comment::insert(&**tx, user_id, book_id, text, rating)
                .await?
                .id;
            let made = row(&**tx, id).await?;
            let event = serde_json::json!({
                "id": made.id, "book_id": made.book_id, "user_id": made.user_id,
                "username": made.username, "text": made.text, "rating": made.rating,
                "created_at": made.created_at,
            });
            webhooks::emit(&**tx, webhooks::Event::new("comment.created", event)).await?;
            Ok(made)
        })
    })
    .await
}

/// A reader's comment that an import brings (`folio import goodreads --user`), in the
/// import's unit of work; the book is one the import has just matched or made. Added only when
/// the reader has no comment on the book: a second run adds no second one, and words they wrote
/// in folio are never overwritten. Answers whether it was added.
#[tracing::instrument(
    level = "info",
    name = "service.comments.add_unless_commented",
    skip_all,
    fields(user_id, book_id),
    err(level = "debug")
)]
pub async fn add_unless_commented(
    unit: &UnitOfWork,
    user_id: i64,
    book_id: i64,
    comment: &Checked<NewComment>,
) -> ServiceResult<bool> {
    if repo::comment::exists(&**unit, user_id, book_id).await? {
        return Ok(false);
    }
    let NewComment { text, rating } = (**comment).clone();
    repo::comment::insert(&**unit, user_id, book_id, text, rating).await?;
    Ok(true)
}

#[tracing::instrument(
    level = "info",
    name = "service.comments.get",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn get(db: &Database, id: i64) -> ServiceResult<CommentRow> {
    row(db.reader(), id).await
}

/// The comment as the API shows it. A write reads it in its own unit of work, so the answer
/// needs nothing from the database once COMMIT has succeeded: a saved comment is never answered
/// 503 (inviting a retry that would post it twice) because the database went away just after.
async fn row<'a>(read: impl Into<Read<'a>>, id: i64) -> ServiceResult<CommentRow> {
    repo::comment::find_row(read, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("comment".into()))
}

#[tracing::instrument(
    level = "info",
    name = "service.comments.page",
    skip_all,
    fields(book_id, limit),
    err(level = "debug")
)]
pub async fn page(
    db: &Database,
    book_id: i64,
    after: Option<(chrono::DateTime<chrono::Utc>, i64)>,
    limit: u64,
) -> ServiceResult<Page<CommentRow>> {
    if repo::book::find(db.reader(), book_id).await?.is_none() {
        return Err(ServiceError::NotFound("book".into()));
    }
    Ok(repo::comment::page_for_book(db.reader(), book_id, after, limit).await?)
}

/// The author edits their comment; nobody else may (not even an admin: words are the
/// author's own). `rating: Some(None)` removes the rating.
#[tracing::instrument(
    level = "info",
    name = "service.comments.update",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn update(
    db: &Database,
    who: &Principal,
    id: i64,
    text: Option<String>,
    rating: Option<Option<i32>>,
) -> ServiceResult<CommentRow> {
    check(text.as_deref(), rating.flatten())?;
    let user_id = who.user_id;
    db.write(|tx| {
        Box::pin(async move {
            let existing = repo::comment::find(&**tx, id)
                .await?
                .ok_or_else(|| ServiceError::NotFound("comment".into()))?;
            if existing.user_id != user_id {
                return Err(ServiceError::Forbidden(
                    "Only its author may edit a comment.".into(),
                ));
            }
            let text = text.map(|t| t.trim().to_string());
            repo::comment::update(&**tx, existing, text, rating).await?;
            row(&**tx, id).await
        })
    })
    .await
}

/// The author, or an admin moderating, deletes a comment.
#[tracing::instrument(
    level = "info",
    name = "service.comments.delete",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn delete(db: &Database, who: &Principal, id: i64) -> ServiceResult<()> {
    let (user_id, admin) = (who.user_id, who.is_admin());
    db.write(|tx| {
        Box::pin(async move {
            let existing = repo::comment::find(&**tx, id)
                .await?
                .ok_or_else(|| ServiceError::NotFound("comment".into()))?;
            if existing.user_id != user_id && !admin {
                return Err(ServiceError::Forbidden(
                    "Only its author or an admin may delete a comment.".into(),
                ));
            }
            repo::comment::delete(&**tx, id).await?;
            Ok(())
        })
    })
    .await
}
