//! Books' covers: which objects are a book's cover and its thumbnails.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter, Set};

use crate::db::DbError;
use crate::entity::book_cover;

/// The book's cover, if it has one.
#[tracing::instrument(
    level = "debug",
    name = "repo.cover.of_book",
    skip_all,
    fields(book_id),
    err(level = "debug")
)]
pub async fn of_book(
    conn: &impl ConnectionTrait,
    book_id: i64,
) -> Result<Option<book_cover::Model>, DbError> {
    Ok(book_cover::Entity::find_by_id(book_id).one(conn).await?)
}

/// Sets the book's cover, replacing any it had.
#[tracing::instrument(level = "debug", name = "repo.cover.set", skip_all, fields(book_id = cover.book_id), err(level = "debug"))]
pub async fn set(conn: &impl ConnectionTrait, cover: book_cover::Model) -> Result<(), DbError> {
    let row = book_cover::ActiveModel {
        book_id: Set(cover.book_id),
        sha256: Set(cover.sha256),
        media_type: Set(cover.media_type),
        thumb_sha256: Set(cover.thumb_sha256),
        medium_sha256: Set(cover.medium_sha256),
        updated_at: Set(cover.updated_at),
    };
    book_cover::Entity::insert(row)
        .on_conflict(
            OnConflict::column(book_cover::Column::BookId)
                .update_columns([
                    book_cover::Column::Sha256,
                    book_cover::Column::MediaType,
                    book_cover::Column::ThumbSha256,
                    book_cover::Column::MediumSha256,
                    book_cover::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// A cover row naming the object `sha256` as an original or a thumbnail: what may be served
/// under `/covers/{sha256}` (no other object is, whatever its hash).
#[tracing::instrument(
    level = "debug",
    name = "repo.cover.naming",
    skip_all,
    err(level = "debug")
)]
pub async fn naming(
    conn: &impl ConnectionTrait,
    sha256: &str,
) -> Result<Option<book_cover::Model>, DbError> {
    Ok(book_cover::Entity::find()
        .filter(
            book_cover::Column::Sha256
                .eq(sha256)
                .or(book_cover::Column::ThumbSha256.eq(sha256))
                .or(book_cover::Column::MediumSha256.eq(sha256)),
        )
        .one(conn)
        .await?)
}
