//! KOReader sync: the key verifiers, the pushes per reader and document, and KOReader's ids of
//! the ebook files folio holds.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult, Value};

use super::statement;
use crate::db::DbError;

/// The Argon2id hash of the account's KOReader key (the MD5 of its password), if set.
#[tracing::instrument(
    level = "debug",
    name = "repo.kosync.key_hash",
    skip_all,
    err(level = "debug")
)]
pub async fn key_hash(
    conn: &impl ConnectionTrait,
    user_id: i64,
) -> Result<Option<String>, DbError> {
    #[derive(FromQueryResult)]
    struct Row {
        key_hash: String,
    }
    let sql = "SELECT key_hash FROM kosync_key WHERE user_id = ?";
    let found = Row::find_by_statement(statement(
        conn.get_database_backend(),
        sql,
        vec![user_id.into()],
    ))
    .one(conn)
    .await?;
    Ok(found.map(|r| r.key_hash))
}

#[tracing::instrument(
    level = "debug",
    name = "repo.kosync.set_key_hash",
    skip_all,
    err(level = "debug")
)]
pub async fn set_key_hash(
    conn: &impl ConnectionTrait,
    user_id: i64,
    key_hash: String,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let sql = "INSERT INTO kosync_key (user_id, key_hash, updated_at) VALUES (?, ?, ?) \
               ON CONFLICT (user_id) DO UPDATE SET key_hash = excluded.key_hash, \
               updated_at = excluded.updated_at";
    let values: Vec<Value> = vec![user_id.into(), key_hash.into(), now.into()];
    conn.execute_raw(statement(conn.get_database_backend(), sql, values))
        .await?;
    Ok(())
}

/// A position as a KOReader client pushed it.
#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct Pushed {
    pub document: String,
    pub progress: String,
    pub percentage: f64,
    pub device: String,
    pub device_id: String,
    /// Epoch seconds.
    pub timestamp: i64,
}

/// Stores a push, replacing the reader's last one for the document whatever it was.
#[tracing::instrument(
    level = "debug",
    name = "repo.kosync.put",
    skip_all,
    err(level = "debug")
)]
pub async fn put(conn: &impl ConnectionTrait, user_id: i64, pushed: Pushed) -> Result<(), DbError> {
    let sql = "INSERT INTO kosync_progress \
               (user_id, document, progress, percentage, device, device_id, timestamp) \
               VALUES (?, ?, ?, ?, ?, ?, ?) \
               ON CONFLICT (user_id, document) DO UPDATE SET progress = excluded.progress, \
               percentage = excluded.percentage, device = excluded.device, \
               device_id = excluded.device_id, timestamp = excluded.timestamp";
    let values: Vec<Value> = vec![
        user_id.into(),
        pushed.document.into(),
        pushed.progress.into(),
        pushed.percentage.into(),
        pushed.device.into(),
        pushed.device_id.into(),
        pushed.timestamp.into(),
    ];
    conn.execute_raw(statement(conn.get_database_backend(), sql, values))
        .await?;
    Ok(())
}

#[tracing::instrument(
    level = "debug",
    name = "repo.kosync.get",
    skip_all,
    err(level = "debug")
)]
pub async fn get(
    conn: &impl ConnectionTrait,
    user_id: i64,
    document: &str,
) -> Result<Option<Pushed>, DbError> {
    let sql = "SELECT document, progress, percentage, device, device_id, timestamp \
               FROM kosync_progress WHERE user_id = ? AND document = ?";
    let values: Vec<Value> = vec![user_id.into(), document.into()];
    Ok(
        Pushed::find_by_statement(statement(conn.get_database_backend(), sql, values))
            .one(conn)
            .await?,
    )
}

/// Records KOReader's ids of a file.
#[tracing::instrument(
    level = "debug",
    name = "repo.kosync.set_file_ids",
    skip_all,
    err(level = "debug")
)]
pub async fn set_file_ids(
    conn: &impl ConnectionTrait,
    edition_file_id: i64,
    binary_id: &str,
    name_id: &str,
) -> Result<(), DbError> {
    let sql = "INSERT INTO koreader_file (edition_file_id, binary_id, name_id) VALUES (?, ?, ?) \
               ON CONFLICT (edition_file_id) DO UPDATE SET binary_id = excluded.binary_id, \
               name_id = excluded.name_id";
    let values: Vec<Value> = vec![edition_file_id.into(), binary_id.into(), name_id.into()];
    conn.execute_raw(statement(conn.get_database_backend(), sql, values))
        .await?;
    Ok(())
}

/// The ebook file a KOReader document id names (by its bytes first, else by its name), as
/// (file id, edition id, book id).
#[tracing::instrument(
    level = "debug",
    name = "repo.kosync.file_of",
    skip_all,
    err(level = "debug")
)]
pub async fn file_of(
    conn: &impl ConnectionTrait,
    document: &str,
) -> Result<Option<HeldFile>, DbError> {
    let sql = "SELECT f.id AS file_id, f.edition_id, e.book_id, f.media_type, f.metadata, \
               e.pages, k.binary_id = ? AS by_bytes \
               FROM koreader_file k JOIN edition_file f ON f.id = k.edition_file_id \
               JOIN edition e ON e.id = f.edition_id \
               WHERE k.binary_id = ? OR k.name_id = ? \
               ORDER BY by_bytes DESC, f.id LIMIT 1";
    let values: Vec<Value> = vec![document.into(), document.into(), document.into()];
    Ok(
        HeldFile::find_by_statement(statement(conn.get_database_backend(), sql, values))
            .one(conn)
            .await?,
    )
}

#[derive(Debug, Clone, FromQueryResult)]
pub struct HeldFile {
    pub file_id: i64,
    pub edition_id: i64,
    pub book_id: i64,
    pub media_type: String,
    pub metadata: Option<String>,
    pub pages: Option<i32>,
    pub by_bytes: bool,
}

/// Ebook files stored before KOReader ids were kept: (id, sha256, size, name).
#[tracing::instrument(
    level = "debug",
    name = "repo.kosync.files_without_ids",
    skip_all,
    err(level = "debug")
)]
pub async fn files_without_ids(
    conn: &impl ConnectionTrait,
) -> Result<Vec<(i64, String, i64, String)>, DbError> {
    #[derive(FromQueryResult)]
    struct Row {
        id: i64,
        sha256: String,
        size: i64,
        name: String,
    }
    let sql = "SELECT f.id, f.sha256, f.size, f.name FROM edition_file f \
               WHERE f.media_type IN ('application/epub+zip', 'application/pdf') \
               AND NOT EXISTS (SELECT 1 FROM koreader_file k WHERE k.edition_file_id = f.id)";
    let rows = Row::find_by_statement(statement(conn.get_database_backend(), sql, vec![]))
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, r.sha256, r.size, r.name))
        .collect())
}
