//! Editions' files and books' covers: the rows that name storage objects.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set,
};

use super::PerBackend;
use crate::db::{DbError, Read, Row, Unique};
use crate::entity::{book_cover, edition, edition_file};

/// An edition holds the same bytes once.
pub const SAME_BYTES: Unique = Unique { field: "sha256" };

/// A file about to be added; its position is given by [`insert_all`].
#[derive(Debug, Clone)]
pub struct NewFile {
    pub name: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    pub duration_seconds: Option<f64>,
    pub metadata: Option<String>,
}

/// Adds files after the edition's last one, in the order given.
#[tracing::instrument(
    level = "debug",
    name = "repo.file.insert_all",
    skip_all,
    fields(edition_id, count = files.len()),
    err(level = "debug")
)]
pub async fn insert_all(
    conn: &impl ConnectionTrait,
    edition_id: i64,
    files: Vec<NewFile>,
) -> Result<Vec<edition_file::Model>, DbError> {
    // The last position itself rather than MAX(position): a column read straight from the
    // table decodes as its entity declares it on both backends (see db::sqlite_writer).
    let last: Option<i32> = edition_file::Entity::find()
        .select_only()
        .column(edition_file::Column::Position)
        .filter(edition_file::Column::EditionId.eq(edition_id))
        .order_by_desc(edition_file::Column::Position)
        .into_tuple::<i32>()
        .one(conn)
        .await?;
    let now = crate::db::now();
    let mut inserted = Vec::with_capacity(files.len());
    for (i, file) in files.into_iter().enumerate() {
        let row = edition_file::ActiveModel {
            edition_id: Set(edition_id),
            position: Set(last.unwrap_or(0) + 1 + i as i32),
            name: Set(file.name),
            media_type: Set(file.media_type),
            size: Set(file.size),
            sha256: Set(file.sha256),
            duration_seconds: Set(file.duration_seconds),
            metadata: Set(file.metadata),
            created_at: Set(now),
            ..Default::default()
        };
        inserted.push(row.insert(conn).await?);
    }
    Ok(inserted)
}

/// An edition's files in reading order.
#[tracing::instrument(
    level = "debug",
    name = "repo.file.of_edition",
    skip_all,
    fields(edition_id),
    err(level = "debug")
)]
pub async fn of_edition(
    conn: &impl ConnectionTrait,
    edition_id: i64,
) -> Result<Vec<edition_file::Model>, DbError> {
    Ok(edition_file::Entity::find()
        .filter(edition_file::Column::EditionId.eq(edition_id))
        .order_by_asc(edition_file::Column::Position)
        .all(conn)
        .await?)
}

/// A file with the edition it belongs to, in one statement built once per backend: every
/// download begins here, so it reads through `db::Read` (on SQLite a rusqlite reader, on the
/// request's thread when one is idle), not SeaORM's pool.
#[tracing::instrument(
    level = "debug",
    name = "repo.file.find",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn find<'a>(
    read: impl Into<Read<'a>>,
    id: i64,
) -> Result<Option<(edition_file::Model, edition::Model)>, DbError> {
    let read = read.into();
    static BY_ID: PerBackend = PerBackend::new();
    let sql = BY_ID.sql(read.backend(), |backend| {
        let edition = edition::Entity::find().build(backend).sql;
        let columns = edition
            .strip_prefix("SELECT ")
            .and_then(|rest| rest.split(" FROM ").next())
            .expect("SeaORM selects columns from the table");
        super::numbered(
            backend,
            &format!(
                "SELECT f.id, f.edition_id, f.position, f.name, f.media_type, f.size, f.sha256, \
                 f.duration_seconds, f.metadata, f.created_at, {columns} \
                 FROM edition_file f JOIN edition ON edition.id = f.edition_id WHERE f.id = ?"
            ),
        )
    });
    let rows = read
        .rows(sql, &[id.into()], |row| {
            Ok((decode(row)?, super::edition::decode_from(row, 10)?))
        })
        .await?;
    Ok(rows.into_iter().next())
}

/// An `edition_file` row from its first ten columns, in declaration order as SeaORM selects
/// them.
fn decode(row: &Row<'_>) -> Result<edition_file::Model, DbError> {
    Ok(edition_file::Model {
        id: row.get(0)?,
        edition_id: row.get(1)?,
        position: row.get(2)?,
        name: row.get(3)?,
        media_type: row.get(4)?,
        size: row.get(5)?,
        sha256: row.get(6)?,
        duration_seconds: row.get(7)?,
        metadata: row.get(8)?,
        created_at: row.get(9)?,
    })
}

/// Deletes a file and closes the gap it leaves in its edition's order.
#[tracing::instrument(
    level = "debug",
    name = "repo.file.delete",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn delete(
    conn: &impl ConnectionTrait,
    file: &edition_file::Model,
) -> Result<(), DbError> {
    edition_file::Entity::delete_by_id(file.id)
        .exec(conn)
        .await?;
    // One at a time from the lowest, so (edition_id, position) stays unique at every step.
    let later = edition_file::Entity::find()
        .filter(edition_file::Column::EditionId.eq(file.edition_id))
        .filter(edition_file::Column::Position.gt(file.position))
        .order_by_asc(edition_file::Column::Position)
        .all(conn)
        .await?;
    for row in later {
        let position = row.position - 1;
        let mut active: edition_file::ActiveModel = row.into();
        active.position = Set(position);
        active.update(conn).await?;
    }
    Ok(())
}

/// Whether any row still names the object `sha256` (a file of any edition, a cover or one of
/// its thumbnails).
#[tracing::instrument(
    level = "debug",
    name = "repo.file.is_referenced",
    skip_all,
    err(level = "debug")
)]
pub async fn is_referenced(conn: &impl ConnectionTrait, sha256: &str) -> Result<bool, DbError> {
    let file = edition_file::Entity::find()
        .select_only()
        .column(edition_file::Column::Id)
        .filter(edition_file::Column::Sha256.eq(sha256))
        .into_tuple::<i64>()
        .one(conn)
        .await?;
    if file.is_some() {
        return Ok(true);
    }
    let cover = book_cover::Entity::find()
        .select_only()
        .column(book_cover::Column::BookId)
        .filter(
            book_cover::Column::Sha256
                .eq(sha256)
                .or(book_cover::Column::ThumbSha256.eq(sha256))
                .or(book_cover::Column::MediumSha256.eq(sha256)),
        )
        .into_tuple::<i64>()
        .one(conn)
        .await?;
    Ok(cover.is_some())
}

#[derive(FromQueryResult)]
struct Named {
    sha256: String,
}

/// Every object any row names, for `folio storage gc` and `check`: read whole, since a
/// million hashes are 64 MiB at most and the listing of the store is compared against them.
#[tracing::instrument(
    level = "debug",
    name = "repo.file.referenced",
    skip_all,
    err(level = "debug")
)]
pub async fn referenced(conn: &impl ConnectionTrait) -> Result<Vec<String>, DbError> {
    let sql = "SELECT sha256 FROM edition_file \
               UNION SELECT sha256 FROM book_cover \
               UNION SELECT thumb_sha256 FROM book_cover \
               UNION SELECT medium_sha256 FROM book_cover";
    let rows = Named::find_by_statement(super::statement(conn.get_database_backend(), sql, vec![]))
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(|r| r.sha256).collect())
}

/// Every file row, a page at a time by id, for `folio storage check` and exports.
#[tracing::instrument(
    level = "debug",
    name = "repo.file.page",
    skip_all,
    err(level = "debug")
)]
pub async fn page(
    conn: &impl ConnectionTrait,
    after_id: i64,
    limit: u64,
) -> Result<Vec<edition_file::Model>, DbError> {
    Ok(edition_file::Entity::find()
        .filter(edition_file::Column::Id.gt(after_id))
        .order_by_asc(edition_file::Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

/// The files holding any of these bytes.
#[tracing::instrument(
    level = "debug",
    name = "repo.file.with_hashes",
    skip_all,
    err(level = "debug")
)]
pub async fn with_hashes(
    conn: &impl ConnectionTrait,
    hashes: &[String],
) -> Result<Vec<edition_file::Model>, DbError> {
    Ok(edition_file::Entity::find()
        .filter(edition_file::Column::Sha256.is_in(hashes.iter().cloned()))
        .all(conn)
        .await?)
}

/// The files of these editions, each edition's in order.
#[tracing::instrument(
    level = "debug",
    name = "repo.file.of_editions",
    skip_all,
    err(level = "debug")
)]
pub async fn of_editions<'a>(
    read: impl Into<Read<'a>>,
    edition_ids: &[i64],
) -> Result<Vec<edition_file::Model>, DbError> {
    let read = read.into();
    let statement = edition_file::Entity::find()
        .filter(edition_file::Column::EditionId.is_in(edition_ids.iter().copied()))
        .order_by_asc(edition_file::Column::EditionId)
        .order_by_asc(edition_file::Column::Position)
        .build(read.backend());
    read.statement(&statement, decode).await
}
