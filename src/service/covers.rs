//! Books' covers: an image checked by decoding it, kept with two thumbnails made once, all
//! content-addressed so they can be cached for good.

use bytes::Bytes;

use crate::db::Database;
use crate::entity::book_cover;
use crate::media::{self, MediaError};
use crate::repo;
use crate::service::auth::Principal;
use crate::service::{ServiceError, ServiceResult};
use crate::storage::{ContentHash, Storage};

/// Thumbnail widths: a list's (`thumb`) and a book page's (`medium`).
pub const THUMB_WIDTH: u32 = 160;
pub const MEDIUM_WIDTH: u32 = 480;
/// The largest cover image taken (an upload's body, or art embedded in a file).
pub const MAX_COVER_BYTES: usize = 20 * 1024 * 1024;

/// Which of a cover's images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoverSize {
    Thumb,
    Medium,
    Full,
}

/// One of a cover's images: its object and its media type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverImage {
    pub sha256: String,
    pub media_type: String,
}

/// Sets a book's cover from an image's bytes (admin).
#[tracing::instrument(
    level = "info",
    name = "service.covers.set",
    skip_all,
    fields(book_id),
    err(level = "debug")
)]
pub async fn set(
    db: &Database,
    storage: &Storage,
    who: &Principal,
    book_id: i64,
    image: Bytes,
) -> ServiceResult<book_cover::Model> {
    super::catalog::require_admin(who)?;
    repo::book::find(db.reader(), book_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("book".into()))?;
    store(db, storage, book_id, image)
        .await?
        .map_err(|why| ServiceError::invalid("cover", format!("The image {why}.")))
}

/// Sets the cover from art found in a file, if the book has none yet. The art is the file's
/// to give: one that does not decode is skipped, not an error.
pub(crate) async fn offer_image(db: &Database, storage: &Storage, book_id: i64, image: Vec<u8>) {
    let outcome = async {
        if repo::cover::of_book(db.reader(), book_id).await?.is_some() {
            return Ok::<_, ServiceError>(());
        }
        if let Err(why) = store(db, storage, book_id, image.into()).await? {
            tracing::info!(book_id, %why, "a file's cover art was not used");
        }
        Ok(())
    }
    .await;
    if let Err(e) = outcome {
        tracing::warn!(book_id, error = %e, "a file's cover art could not be stored");
    }
}

/// Checks the image, makes its thumbnails, stores all three and points the book at them;
/// `Ok(Err(why))` for an image that is not one folio takes.
async fn store(
    db: &Database,
    storage: &Storage,
    book_id: i64,
    image: Bytes,
) -> ServiceResult<Result<book_cover::Model, MediaError>> {
    if image.len() > MAX_COVER_BYTES {
        return Ok(Err(MediaError::damaged(
            media::Format::Jpeg,
            format!("is larger than the {MAX_COVER_BYTES} bytes a cover may be"),
        )));
    }
    let decoded = {
        let image = image.clone();
        tokio::task::spawn_blocking(move || {
            let info = media::image::check(&image)?;
            let thumb = media::image::thumbnail(&image, THUMB_WIDTH)?;
            let medium = media::image::thumbnail(&image, MEDIUM_WIDTH)?;
            Ok::<_, MediaError>((info, thumb, medium))
        })
        .await
        .map_err(|e| ServiceError::failed("making thumbnails panicked", e))?
    };
    let (info, thumb, medium) = match decoded {
        Ok(made) => made,
        Err(why) => return Ok(Err(why)),
    };
    let original = storage.store_bytes(image).await?;
    let thumb = storage.store_bytes(thumb.into()).await?;
    let medium = storage.store_bytes(medium.into()).await?;
    let cover = book_cover::Model {
        book_id,
        sha256: original.to_string(),
        media_type: info.format.media_type().to_string(),
        thumb_sha256: thumb.to_string(),
        medium_sha256: medium.to_string(),
        updated_at: crate::db::now(),
    };
    let saved = cover.clone();
    let replaced = db
        .write(|tx| {
            Box::pin(async move {
                repo::book::find(&**tx, book_id)
                    .await?
                    .ok_or_else(|| ServiceError::NotFound("book".into()))?;
                let old = repo::cover::of_book(&**tx, book_id).await?;
                repo::cover::set(&**tx, saved).await?;
                Ok::<_, ServiceError>(old)
            })
        })
        .await?;
    if let Some(old) = replaced {
        for hash in [old.sha256, old.thumb_sha256, old.medium_sha256] {
            super::files::release(db, storage, &hash, old.updated_at).await;
        }
    }
    Ok(Ok(cover))
}

/// One of the book's cover images, or `None` when it has no cover.
#[tracing::instrument(
    level = "info",
    name = "service.covers.image",
    skip_all,
    fields(book_id),
    err(level = "debug")
)]
pub async fn image(db: &Database, book_id: i64, size: CoverSize) -> ServiceResult<CoverImage> {
    let cover = repo::cover::of_book(db.reader(), book_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("cover".into()))?;
    Ok(pick(cover, size))
}

/// The cover image stored under `sha256`, if it is one: only covers are served by hash.
#[tracing::instrument(
    level = "info",
    name = "service.covers.by_hash",
    skip_all,
    err(level = "debug")
)]
pub async fn by_hash(db: &Database, sha256: &str) -> ServiceResult<CoverImage> {
    let hash = ContentHash::parse(sha256).map_err(|_| ServiceError::NotFound("cover".into()))?;
    let cover = repo::cover::naming(db.reader(), hash.as_str())
        .await?
        .ok_or_else(|| ServiceError::NotFound("cover".into()))?;
    let size = if cover.sha256 == hash.as_str() {
        CoverSize::Full
    } else if cover.thumb_sha256 == hash.as_str() {
        CoverSize::Thumb
    } else {
        CoverSize::Medium
    };
    Ok(pick(cover, size))
}

fn pick(cover: book_cover::Model, size: CoverSize) -> CoverImage {
    match size {
        CoverSize::Full => CoverImage {
            sha256: cover.sha256,
            media_type: cover.media_type,
        },
        CoverSize::Thumb => CoverImage {
            sha256: cover.thumb_sha256,
            media_type: "image/jpeg".into(),
        },
        CoverSize::Medium => CoverImage {
            sha256: cover.medium_sha256,
            media_type: "image/jpeg".into(),
        },
    }
}
