//! Comments and ratings. The book's rating summary follows them by trigger (migration 0003).

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult,
    QueryFilter, Set,
};

use super::{Page, PerBackend};
use crate::db::{DbError, Read, Row};
use crate::entity::comment;

#[tracing::instrument(
    level = "debug",
    name = "repo.comment.insert",
    skip_all,
    fields(user_id, book_id),
    err(level = "debug")
)]
pub async fn insert<'a>(
    unit: impl Into<Read<'a>>,
    user_id: i64,
    book_id: i64,
    text: String,
    rating: Option<i32>,
) -> Result<comment::Model, DbError> {
    use comment::Column as C;
    static INSERT: PerBackend = PerBackend::new();
    let now = crate::db::now();
    let row = vec![
        (C::UserId, user_id.into()),
        (C::BookId, book_id.into()),
        (C::Text, text.into()),
        (C::Rating, rating.into()),
        (C::CreatedAt, now.into()),
        (C::UpdatedAt, now.into()),
    ];
    super::insert_one::<comment::Entity, _>(unit.into(), &INSERT, row, decode).await
}

/// A `comment` row, its columns in declaration order as SeaORM selects them.
fn decode(row: &Row<'_>) -> Result<comment::Model, DbError> {
    Ok(comment::Model {
        id: row.get(0)?,
        user_id: row.get(1)?,
        book_id: row.get(2)?,
        text: row.get(3)?,
        rating: row.get(4)?,
        created_at: row.get(5)?,
        updated_at: row.get(6)?,
    })
}

#[tracing::instrument(
    level = "debug",
    name = "repo.comment.find",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn find(conn: &impl ConnectionTrait, id: i64) -> Result<Option<comment::Model>, DbError> {
    Ok(comment::Entity::find_by_id(id).one(conn).await?)
}

#[tracing::instrument(
    level = "debug",
    name = "repo.comment.update",
    skip_all,
    err(level = "debug")
)]
pub async fn update(
    conn: &impl ConnectionTrait,
    existing: comment::Model,
    text: Option<String>,
    rating: Option<Option<i32>>,
) -> Result<comment::Model, DbError> {
    let mut active: comment::ActiveModel = existing.into();
    if let Some(text) = text {
        active.text = Set(text);
    }
    if let Some(rating) = rating {
        active.rating = Set(rating);
    }
    active.updated_at = Set(crate::db::now());
    Ok(active.update(conn).await?)
}

#[tracing::instrument(
    level = "debug",
    name = "repo.comment.delete",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn delete(conn: &impl ConnectionTrait, id: i64) -> Result<bool, DbError> {
    let result = comment::Entity::delete_by_id(id)
        .exec(conn)
        .await
        .map_err(DbError::on_delete)?;
    Ok(result.rows_affected == 1)
}

/// A comment with its author's public name (never their email).
#[derive(Debug, Clone, FromQueryResult)]
pub struct CommentRow {
    pub id: i64,
    pub book_id: i64,
    pub user_id: i64,
    pub username: String,
    pub text: String,
    pub rating: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COMMENT_COLUMNS: &str = "c.id, c.book_id, c.user_id, u.username, c.text, c.rating, \
                               c.created_at, c.updated_at";

#[tracing::instrument(
    level = "debug",
    name = "repo.comment.find_row",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn find_row<'a>(
    read: impl Into<Read<'a>>,
    id: i64,
) -> Result<Option<CommentRow>, DbError> {
    let read = read.into();
    static BY_ID: PerBackend = PerBackend::new();
    let sql = BY_ID.sql(read.backend(), |backend| {
        super::numbered(
            backend,
            &format!(
                "SELECT {COMMENT_COLUMNS} FROM comment c JOIN \"user\" u ON u.id = c.user_id \
                 WHERE c.id = ?"
            ),
        )
    });
    Ok(read.rows(sql, &[id.into()], decode_row).await?.pop())
}

/// A [`CommentRow`] from [`COMMENT_COLUMNS`].
fn decode_row(row: &Row<'_>) -> Result<CommentRow, DbError> {
    Ok(CommentRow {
        id: row.get(0)?,
        book_id: row.get(1)?,
        user_id: row.get(2)?,
        username: row.get(3)?,
        text: row.get(4)?,
        rating: row.get(5)?,
        created_at: row.get(6)?,
        updated_at: row.get(7)?,
    })
}

/// A book's comments, newest first, after the cursor `(created_at, id)`.
#[tracing::instrument(
    level = "debug",
    name = "repo.comment.page_for_book",
    skip_all,
    fields(book_id, limit),
    err(level = "debug")
)]
pub async fn page_for_book<'a>(
    read: impl Into<Read<'a>>,
    book_id: i64,
    after: Option<(DateTime<Utc>, i64)>,
    limit: u64,
) -> Result<Page<CommentRow>, DbError> {
    let read = read.into();
    let mut sql = format!(
        "SELECT {COMMENT_COLUMNS} FROM comment c JOIN \"user\" u ON u.id = c.user_id \
         WHERE c.book_id = ?"
    );
    let mut values = vec![book_id.into()];
    if let Some((created_at, id)) = after {
        sql.push_str(" AND (c.created_at < ? OR (c.created_at = ? AND c.id < ?))");
        values.extend([created_at.into(), created_at.into(), id.into()]);
    }
    sql.push_str(" ORDER BY c.created_at DESC, c.id DESC LIMIT ?");
    values.push(((limit + 1) as i64).into());
    let sql = super::numbered(read.backend(), &sql);
    let rows = read.rows(&sql, &values, decode_row).await?;
    Ok(Page::from_overfetch(rows, limit))
}

/// Whether `user_id` has commented on `book_id` (for tests of cascades and for the API).
#[tracing::instrument(
    level = "debug",
    name = "repo.comment.exists",
    skip_all,
    fields(user_id, book_id),
    err(level = "debug")
)]
pub async fn exists(
    conn: &impl ConnectionTrait,
    user_id: i64,
    book_id: i64,
) -> Result<bool, DbError> {
    Ok(comment::Entity::find()
        .filter(
            Condition::all()
                .add(comment::Column::UserId.eq(user_id))
                .add(comment::Column::BookId.eq(book_id)),
        )
        .one(conn)
        .await?
        .is_some())
}
