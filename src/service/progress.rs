//! Reading and listening progress (seed 002's NovelState): one place per book across formats.
//!
//! The position is kept as a fraction of the book, so it carries from one format to another:
//! finish chapter three of the audiobook on the train, open the ebook at home at the same
//! place. Seconds come from an audiobook's duration, pages from an edition's page count.

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};

use crate::db::{Database, Read, UnitOfWork};
use crate::entity::enums::ReadingStatus;
use crate::entity::{edition, progress};
pub use crate::repo::progress::ProgressRow;
use crate::repo::progress::ProgressWrite;
use crate::repo::{self, Page};
use crate::service::auth::Principal;
use crate::service::validate::{self, Checks};
use crate::service::{ServiceError, ServiceResult};

/// How far ahead of the server's clock a device's clock may run.
const CLOCK_SKEW: TimeDelta = TimeDelta::minutes(5);

pub struct ProgressInput {
    pub edition_id: Option<i64>,
    pub percent: f64,
    pub locator: Option<String>,
    pub status: Option<ReadingStatus>,
    pub device: Option<String>,
    /// When the reader was at this place; the server's time when absent.
    pub updated_at: Option<DateTime<Utc>>,
}

/// The stored progress, and whether this write changed it (an older write arriving late does
/// not).
pub struct Recorded {
    pub applied: bool,
    pub progress: progress::Model,
}

async fn edition_of<'a>(
    read: impl Into<Read<'a>>,
    book_id: i64,
    edition_id: i64,
    field: &str,
) -> ServiceResult<edition::Model> {
    match repo::edition::find(read, edition_id).await? {
        Some(edition) if edition.book_id == book_id => Ok(edition),
        _ => Err(ServiceError::invalid(
            field,
            "is not an edition of this book",
        )),
    }
}

/// Checks a position as any device's is checked; answers when it was taken (the server's time
/// when the input has none).
fn check(input: &ProgressInput, now: DateTime<Utc>) -> ServiceResult<DateTime<Utc>> {
    let updated_at = input.updated_at.map(|t| t.trunc_subsecs(6)).unwrap_or(now);
    let mut checks = Checks::default();
    if !(input.percent.is_finite() && (0.0..=1.0).contains(&input.percent)) {
        checks.check("percent", Err("must be from 0 to 1".into()));
    }
    if let Some(locator) = &input.locator {
        checks.check("locator", validate::text(locator, 1, 1000));
    }
    if let Some(device) = &input.device {
        checks.check("device", validate::text(device, 1, 100));
    }
    if updated_at > now + CLOCK_SKEW {
        checks.check(
            "updated_at",
            Err("is in the future; check the device's clock".into()),
        );
    }
    checks.finish()?;
    Ok(updated_at)
}

/// Stores a checked position in `conn`'s unit of work unless a newer one is stored (the newer
/// position wins, whichever device or import wrote it); answers whether it was stored.
async fn write<C>(
    conn: &C,
    user_id: i64,
    book_id: i64,
    input: ProgressInput,
    updated_at: DateTime<Utc>,
) -> ServiceResult<bool>
where
    C: sea_orm::ConnectionTrait,
    for<'a> &'a C: Into<crate::db::Read<'a>>,
{
    if repo::book::find(conn, book_id).await?.is_none() {
        return Err(ServiceError::NotFound("book".into()));
    }
    if let Some(edition_id) = input.edition_id {
        edition_of(conn, book_id, edition_id, "edition_id").await?;
    }
    let write = ProgressWrite {
        user_id,
        book_id,
        edition_id: input.edition_id,
        percent: input.percent,
        locator: input.locator,
        status: input.status.unwrap_or(ReadingStatus::Reading),
        device: input.device,
        updated_at,
    };
    Ok(repo::progress::upsert_if_newer(conn, write).await?)
}

#[tracing::instrument(
    level = "info",
    name = "service.progress.record",
    skip_all,
    fields(book_id),
    err(level = "debug")
)]
pub async fn record(
    db: &Database,
    who: &Principal,
    book_id: i64,
    input: ProgressInput,
) -> ServiceResult<Recorded> {
    let updated_at = check(&input, crate::db::now())?;
    let user_id = who.user_id;
    db.write(|tx| {
        Box::pin(async move {
            let applied = write(&**tx, user_id, book_id, input, updated_at).await?;
            let progress = repo::progress::find(&**tx, user_id, book_id)
                .await?
                .ok_or_else(|| ServiceError::internal("progress vanished after its write"))?;
            Ok(Recorded { applied, progress })
        })
    })
    .await
}

/// A device's position written in the caller's unit of work (a KOReader push, kept with the
/// push itself): checked as [`record`] checks it, the newer position winning.
pub async fn record_in(
    unit: &UnitOfWork,
    user_id: i64,
    book_id: i64,
    input: ProgressInput,
) -> ServiceResult<bool> {
    import(unit, user_id, book_id, input, Meets::NewerWins).await
}

/// How progress that an import brings meets the progress a reader has on the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meets {
    /// The newer position wins, as between devices.
    NewerWins,
    /// Stored only when the reader has no progress on the book: for a position that says
    /// nothing of where they are (0 %), or one dated only "now", which would be the newer on
    /// every run of the import.
    OnlyIfNone,
}

/// A reader's progress that an import brings (`folio import goodreads --user`), in the
/// import's unit of work: checked as a device's sync is, for the reader by id since nobody
/// signs in. Answers whether it was stored.
#[tracing::instrument(
    level = "info",
    name = "service.progress.import",
    skip_all,
    fields(user_id, book_id),
    err(level = "debug")
)]
pub async fn import(
    unit: &UnitOfWork,
    user_id: i64,
    book_id: i64,
    input: ProgressInput,
    meets: Meets,
) -> ServiceResult<bool> {
    let updated_at = check(&input, crate::db::now())?;
    if meets == Meets::OnlyIfNone
        && repo::progress::find(&**unit, user_id, book_id)
            .await?
            .is_some()
    {
        return Ok(false);
    }
    write(&**unit, user_id, book_id, input, updated_at).await
}

#[tracing::instrument(
    level = "info",
    name = "service.progress.page",
    skip_all,
    fields(limit),
    err(level = "debug")
)]
pub async fn page(
    db: &Database,
    who: &Principal,
    after: Option<(DateTime<Utc>, i64)>,
    limit: u64,
) -> ServiceResult<Page<ProgressRow>> {
    Ok(repo::progress::page(db.reader(), who.user_id, after, limit).await?)
}

/// The position expressed for one edition.
pub struct Translated {
    pub edition_id: i64,
    /// Seconds into an audiobook (or a record) with a known duration.
    pub seconds: Option<i64>,
    /// The page of an edition with a known page count, from 1.
    pub page: Option<i64>,
}

pub struct Position {
    pub progress: progress::Model,
    pub translated: Option<Translated>,
}

/// The reader's place in the book, translated to `edition_id` when asked.
#[tracing::instrument(
    level = "info",
    name = "service.progress.position",
    skip_all,
    fields(book_id),
    err(level = "debug")
)]
pub async fn position(
    db: &Database,
    who: &Principal,
    book_id: i64,
    edition_id: Option<i64>,
) -> ServiceResult<Position> {
    let progress = repo::progress::find(db.reader(), who.user_id, book_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("progress for this book".into()))?;
    let translated = match edition_id {
        None => None,
        Some(edition_id) => {
            let edition = edition_of(db.reader(), book_id, edition_id, "edition_id").await?;
            Some(translate(progress.percent, &edition))
        }
    };
    Ok(Position {
        progress,
        translated,
    })
}

fn translate(percent: f64, edition: &edition::Model) -> Translated {
    Translated {
        edition_id: edition.id,
        seconds: edition
            .duration_seconds
            .map(|duration| (percent * duration as f64).round() as i64),
        // KOReader's convention, so a position survives a trip through any reader: page =
        // round(percent × pages), and page ÷ pages the percent back (a quarter of 300 pages is
        // page 75, and page 75 a quarter). The start of the book is page 1.
        page: edition.pages.map(|pages| {
            let pages = i64::from(pages);
            ((percent * pages as f64).round() as i64).clamp(1, pages.max(1))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::enums::EditionFormat;

    fn edition(pages: Option<i32>, duration_seconds: Option<i64>) -> edition::Model {
        edition::Model {
            id: 7,
            book_id: 1,
            format: EditionFormat::Audiobook,
            isbn: None,
            catalog_number: None,
            publisher: None,
            release_date: None,
            language: None,
            pages,
            duration_seconds,
            price_minor: None,
            currency: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            access: Default::default(),
            title: None,
            subtitle: None,
        }
    }

    #[test]
    fn positions_translate_between_formats() {
        let audiobook = edition(None, Some(36_000));
        let print = edition(Some(300), None);
        let at = |percent| {
            (
                translate(percent, &audiobook).seconds,
                translate(percent, &print).page,
            )
        };
        assert_eq!(at(0.0), (Some(0), Some(1)));
        assert_eq!(at(0.25), (Some(9_000), Some(75)));
        assert_eq!(at(0.33333), (Some(12_000), Some(100)));
        assert_eq!(at(0.5), (Some(18_000), Some(150)));
        assert_eq!(at(1.0), (Some(36_000), Some(300)));
        assert_eq!(translate(0.5, &edition(None, None)).page, None);
    }

    #[test]
    fn every_page_survives_the_round_trip_through_a_percent() {
        for pages in [1, 7, 300, 1234] {
            let book = edition(Some(pages), None);
            for page in 1..=i64::from(pages) {
                let percent = page as f64 / f64::from(pages);
                assert_eq!(
                    translate(percent, &book).page,
                    Some(page),
                    "{page} of {pages}"
                );
            }
        }
    }
}
