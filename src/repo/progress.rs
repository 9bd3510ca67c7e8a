//! Reading and listening progress: one row per reader and book, the newest write winning.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};

use super::Page;
use crate::db::DbError;
use crate::entity::enums::ReadingStatus;
use crate::entity::progress;

pub struct ProgressWrite {
    pub user_id: i64,
    pub book_id: i64,
    pub edition_id: Option<i64>,
    pub percent: f64,
    pub locator: Option<String>,
    pub status: ReadingStatus,
    pub device: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// Stores the position unless a newer one is already stored, in one statement, so two
/// devices syncing at once cannot interleave. Returns whether this write was applied.
#[tracing::instrument(
    level = "debug",
    name = "repo.progress.upsert_if_newer",
    skip_all,
    err(level = "debug")
)]
pub async fn upsert_if_newer(
    conn: &impl ConnectionTrait,
    write: ProgressWrite,
) -> Result<bool, DbError> {
    let status: sea_orm::Value = write.status.into();
    let sql = "INSERT INTO progress (user_id, book_id, edition_id, percent, locator, status, device, updated_at) \
               VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
               ON CONFLICT (user_id, book_id) DO UPDATE SET \
                   edition_id = excluded.edition_id, percent = excluded.percent, \
                   locator = excluded.locator, status = excluded.status, \
                   device = excluded.device, updated_at = excluded.updated_at \
               WHERE progress.updated_at <= excluded.updated_at";
    let values = vec![
        write.user_id.into(),
        write.book_id.into(),
        write.edition_id.into(),
        write.percent.into(),
        write.locator.into(),
        status,
        write.device.into(),
        write.updated_at.into(),
    ];
    let result = conn
        .execute_raw(super::statement(conn.get_database_backend(), sql, values))
        .await?;
    Ok(result.rows_affected() == 1)
}

#[tracing::instrument(
    level = "debug",
    name = "repo.progress.find",
    skip_all,
    fields(user_id, book_id),
    err(level = "debug")
)]
pub async fn find(
    conn: &impl ConnectionTrait,
    user_id: i64,
    book_id: i64,
) -> Result<Option<progress::Model>, DbError> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    Ok(progress::Entity::find()
        .filter(progress::Column::UserId.eq(user_id))
        .filter(progress::Column::BookId.eq(book_id))
        .one(conn)
        .await?)
}

/// A progress row with the book's title, for "continue reading".
#[derive(Debug, Clone, FromQueryResult)]
pub struct ProgressRow {
    pub id: i64,
    pub book_id: i64,
    pub title: String,
    pub edition_id: Option<i64>,
    pub percent: f64,
    pub locator: Option<String>,
    pub status: ReadingStatus,
    pub device: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// The reader's books, most recently touched first, after the cursor `(updated_at, id)`.
#[tracing::instrument(
    level = "debug",
    name = "repo.progress.page",
    skip_all,
    fields(user_id, limit),
    err(level = "debug")
)]
pub async fn page(
    conn: &impl ConnectionTrait,
    user_id: i64,
    after: Option<(DateTime<Utc>, i64)>,
    limit: u64,
) -> Result<Page<ProgressRow>, DbError> {
    let mut sql = "SELECT p.id, p.book_id, b.title, p.edition_id, p.percent, p.locator, p.status, \
                          p.device, p.updated_at \
                   FROM progress p JOIN book b ON b.id = p.book_id WHERE p.user_id = ?"
        .to_string();
    let mut values = vec![user_id.into()];
    if let Some((updated_at, id)) = after {
        sql.push_str(" AND (p.updated_at < ? OR (p.updated_at = ? AND p.id < ?))");
        values.extend([updated_at.into(), updated_at.into(), id.into()]);
    }
    sql.push_str(" ORDER BY p.updated_at DESC, p.id DESC LIMIT ?");
    values.push(((limit + 1) as i64).into());
    let rows =
        ProgressRow::find_by_statement(super::statement(conn.get_database_backend(), &sql, values))
            .all(conn)
            .await?;
    Ok(Page::from_overfetch(rows, limit))
}
