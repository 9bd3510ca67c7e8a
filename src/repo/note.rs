//! Notes and bookmarks: private to their owner.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::Page;
use crate::db::DbError;
use crate::entity::note;

pub struct NoteFields {
    pub edition_id: Option<i64>,
    pub locator: String,
    pub text: Option<String>,
}

#[tracing::instrument(
    level = "debug",
    name = "repo.note.insert",
    skip_all,
    fields(user_id, book_id),
    err(level = "debug")
)]
pub async fn insert(
    conn: &impl ConnectionTrait,
    user_id: i64,
    book_id: i64,
    fields: NoteFields,
) -> Result<note::Model, DbError> {
    let now = crate::db::now();
    Ok(note::ActiveModel {
        user_id: Set(user_id),
        book_id: Set(book_id),
        edition_id: Set(fields.edition_id),
        locator: Set(fields.locator),
        text: Set(fields.text),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?)
}

/// The note if it is `user_id`'s; someone else's note is as good as missing.
#[tracing::instrument(
    level = "debug",
    name = "repo.note.find_own",
    skip_all,
    fields(user_id, id),
    err(level = "debug")
)]
pub async fn find_own(
    conn: &impl ConnectionTrait,
    user_id: i64,
    id: i64,
) -> Result<Option<note::Model>, DbError> {
    Ok(note::Entity::find_by_id(id)
        .filter(note::Column::UserId.eq(user_id))
        .one(conn)
        .await?)
}

#[tracing::instrument(
    level = "debug",
    name = "repo.note.update",
    skip_all,
    err(level = "debug")
)]
pub async fn update(
    conn: &impl ConnectionTrait,
    existing: note::Model,
    fields: NoteFields,
) -> Result<note::Model, DbError> {
    let mut active: note::ActiveModel = existing.into();
    active.edition_id = Set(fields.edition_id);
    active.locator = Set(fields.locator);
    active.text = Set(fields.text);
    active.updated_at = Set(crate::db::now());
    Ok(active.update(conn).await?)
}

#[tracing::instrument(
    level = "debug",
    name = "repo.note.delete_own",
    skip_all,
    fields(user_id, id),
    err(level = "debug")
)]
pub async fn delete_own(
    conn: &impl ConnectionTrait,
    user_id: i64,
    id: i64,
) -> Result<bool, DbError> {
    let result = note::Entity::delete_many()
        .filter(note::Column::Id.eq(id))
        .filter(note::Column::UserId.eq(user_id))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

#[tracing::instrument(
    level = "debug",
    name = "repo.note.page",
    skip_all,
    fields(user_id, limit),
    err(level = "debug")
)]
pub async fn page(
    conn: &impl ConnectionTrait,
    user_id: i64,
    book_id: Option<i64>,
    after_id: Option<i64>,
    limit: u64,
) -> Result<Page<note::Model>, DbError> {
    let mut query = note::Entity::find()
        .filter(note::Column::UserId.eq(user_id))
        .order_by_asc(note::Column::Id)
        .limit(limit + 1);
    if let Some(book_id) = book_id {
        query = query.filter(note::Column::BookId.eq(book_id));
    }
    if let Some(after) = after_id {
        query = query.filter(note::Column::Id.gt(after));
    }
    Ok(Page::from_overfetch(query.all(conn).await?, limit))
}
