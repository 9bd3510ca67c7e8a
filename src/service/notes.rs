//! Notes and bookmarks (seed 002's NovelMessage): a reader's own, seen by nobody else.

use crate::db::{Database, Read};
use crate::entity::note;
pub use crate::repo::note::NoteFields;
use crate::repo::{self, Page};
use crate::service::auth::Principal;
use crate::service::validate::{self, Checks};
use crate::service::{ServiceError, ServiceResult};

fn check(fields: &NoteFields) -> ServiceResult<()> {
    let mut checks = Checks::default();
    checks.check("locator", validate::text(&fields.locator, 1, 1000));
    if let Some(text) = &fields.text {
        checks.check("text", validate::text(text, 0, 10_000));
    }
    checks.finish()
}

/// The edition, when given, must be one of the book's.
async fn check_edition<'a>(
    read: impl Into<Read<'a>>,
    book_id: i64,
    edition_id: Option<i64>,
) -> ServiceResult<()> {
    if let Some(edition_id) = edition_id {
        let edition = repo::edition::find(read, edition_id).await?;
        if edition.is_none_or(|e| e.book_id != book_id) {
            return Err(ServiceError::invalid(
                "edition_id",
                "is not an edition of this book",
            ));
        }
    }
    Ok(())
}

#[tracing::instrument(
    level = "info",
    name = "service.notes.create",
    skip_all,
    fields(book_id),
    err(level = "debug")
)]
pub async fn create(
    db: &Database,
    who: &Principal,
    book_id: i64,
    fields: NoteFields,
) -> ServiceResult<note::Model> {
    check(&fields)?;
    let user_id = who.user_id;
    db.write(|tx| {
        Box::pin(async move {
            if repo::book::find(&**tx, book_id).await?.is_none() {
                return Err(ServiceError::invalid("book_id", "no book has this id"));
            }
            check_edition(&**tx, book_id, fields.edition_id).await?;
            Ok(repo::note::insert(&**tx, user_id, book_id, fields).await?)
        })
    })
    .await
}

#[tracing::instrument(
    level = "info",
    name = "service.notes.get",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn get(db: &Database, who: &Principal, id: i64) -> ServiceResult<note::Model> {
    repo::note::find_own(db.reader(), who.user_id, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("note".into()))
}

pub struct NotePatch {
    pub edition_id: Option<Option<i64>>,
    pub locator: Option<String>,
    pub text: Option<Option<String>>,
}

#[tracing::instrument(
    level = "info",
    name = "service.notes.update",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn update(
    db: &Database,
    who: &Principal,
    id: i64,
    patch: NotePatch,
) -> ServiceResult<note::Model> {
    let user_id = who.user_id;
    db.write(|tx| {
        Box::pin(async move {
            let existing = repo::note::find_own(&**tx, user_id, id)
                .await?
                .ok_or_else(|| ServiceError::NotFound("note".into()))?;
            let fields = NoteFields {
                edition_id: patch.edition_id.unwrap_or(existing.edition_id),
                locator: patch.locator.unwrap_or_else(|| existing.locator.clone()),
                text: patch.text.unwrap_or_else(|| existing.text.clone()),
            };
            check(&fields)?;
            check_edition(&**tx, existing.book_id, fields.edition_id).await?;
            Ok(repo::note::update(&**tx, existing, fields).await?)
        })
    })
    .await
}

#[tracing::instrument(
    level = "info",
    name = "service.notes.delete",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn delete(db: &Database, who: &Principal, id: i64) -> ServiceResult<()> {
    let user_id = who.user_id;
    let deleted = db
        .write(|tx| Box::pin(async move { repo::note::delete_own(&**tx, user_id, id).await }))
        .await?;
    if deleted {
        Ok(())
    } else {
        Err(ServiceError::NotFound("note".into()))
    }
}

#[tracing::instrument(
    level = "info",
    name = "service.notes.page",
    skip_all,
    fields(limit),
    err(level = "debug")
)]
pub async fn page(
    db: &Database,
    who: &Principal,
    book_id: Option<i64>,
    after_id: Option<i64>,
    limit: u64,
) -> ServiceResult<Page<note::Model>> {
    Ok(repo::note::page(db.reader(), who.user_id, book_id, after_id, limit).await?)
}
