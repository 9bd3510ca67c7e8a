//! KOReader's progress sync, feeding the one progress per book (issue 17).
//!
//! A push is kept per reader and document exactly as pushed (the protocol's rule: the last
//! write wins, even backwards, and documents folio does not hold are kept too). When the
//! document is an ebook file folio holds (by KOReader's partial MD5 of its bytes, or the MD5
//! of its name), the push also moves the reader's one progress of that book. A pull answers
//! the newer of the two: what this document last pushed, or the book's position from another
//! device or format, translated to a place KOReader opens in this file — the start of the
//! EPUB spine document that holds that fraction, or a PDF page.

use crate::db::Database;
use crate::media::koreader;
use crate::repo;
use crate::repo::kosync::{HeldFile, Pushed};
use crate::service::auth::Principal;
use crate::service::files::FileMetadata;
use crate::service::progress::{self, ProgressInput};
use crate::service::validate::{self, Checks};
use crate::service::{ServiceError, ServiceResult};
use crate::storage::{ContentHash, Storage};

/// The key KOReader signs in with for `password`: its lowercase hex MD5.
pub fn key_of(password: &str) -> String {
    koreader::md5_hex(password)
}

/// What a client pushes.
pub struct Push {
    pub document: String,
    pub progress: String,
    pub percentage: f64,
    pub device: String,
    pub device_id: String,
}

/// A position as KOReader reads it back.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    pub document: String,
    pub progress: String,
    pub percentage: f64,
    pub device: String,
    pub device_id: String,
    /// Epoch seconds.
    pub timestamp: i64,
}

/// The device a position set elsewhere in folio (the API, another format) is reported from.
const FOLIO_DEVICE: &str = "folio";

/// Whether `document` can be a KOReader document id: what the reference server serves.
fn check_document(document: &str) -> ServiceResult<()> {
    let servable = !document.is_empty()
        && document.len() <= 128
        && document
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    match servable {
        true => Ok(()),
        false => Err(ServiceError::invalid(
            "document",
            "must be a KOReader document id (letters, digits and _)",
        )),
    }
}

/// An account made by KOReader's "register" (only with `FOLIO_KOSYNC_REGISTRATION=true`):
/// KOReader sends the username and the MD5 of a password, never the password, so the account
/// signs in to KOReader sync only — its folio password is random and its email a
/// `.invalid` placeholder, until an admin gives it real ones.
#[tracing::instrument(
    level = "info",
    name = "service.kosync.register",
    skip_all,
    err(level = "debug")
)]
pub async fn register(
    db: &Database,
    hasher: &crate::service::auth::password::Hasher,
    username: &str,
    key: &str,
) -> ServiceResult<()> {
    let mut checks = Checks::default();
    checks.check("username", validate::username(username));
    if key.len() != 32 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        checks.check(
            "password",
            Err("must be the MD5 of the password, as KOReader sends it".into()),
        );
    }
    checks.finish()?;
    let password_hash = hasher
        .hash(crate::service::auth::token::random_secret(""))
        .await?;
    let key_hash = hasher.hash(key.to_ascii_lowercase()).await?;
    let new = repo::user::NewUser {
        username: username.to_string(),
        email: format!("{}@koreader.invalid", username.to_ascii_lowercase()),
        password_hash,
        role: crate::entity::enums::UserRole::Reader,
        referred_by_link_id: None,
    };
    db.write(|tx| {
        Box::pin(async move {
            let user = repo::user::insert(&**tx, new).await?;
            repo::kosync::set_key_hash(&**tx, user.id, key_hash, crate::db::now()).await
        })
    })
    .await?;
    Ok(())
}

/// Stores a push; answers its timestamp (the server's clock, epoch seconds).
#[tracing::instrument(
    level = "info",
    name = "service.kosync.push",
    skip_all,
    err(level = "debug")
)]
pub async fn push(db: &Database, who: &Principal, push: Push) -> ServiceResult<i64> {
    check_document(&push.document)?;
    let mut checks = Checks::default();
    if !(push.percentage.is_finite() && (0.0..=1.0).contains(&push.percentage)) {
        checks.check("percentage", Err("must be from 0 to 1".into()));
    }
    // The reference server asks for no device or device id; KOReader sends both.
    checks
        .check("progress", validate::text(&push.progress, 1, 1000))
        .check("device", validate::text(&push.device, 0, 100))
        .check("device_id", validate::text(&push.device_id, 0, 100));
    checks.finish()?;
    let now = crate::db::now();
    let pushed = Pushed {
        document: push.document,
        progress: push.progress,
        percentage: push.percentage,
        device: push.device,
        device_id: push.device_id,
        timestamp: now.timestamp(),
    };
    let held = repo::kosync::file_of(db.reader(), &pushed.document).await?;
    let (user_id, stored) = (who.user_id, pushed.clone());
    // The push and the book's progress it moves are one write: both or neither.
    db.write(|tx| {
        Box::pin(async move {
            if let Some(held) = held {
                let input = ProgressInput {
                    edition_id: Some(held.edition_id),
                    percent: stored.percentage,
                    locator: Some(stored.progress.clone()),
                    status: None,
                    device: Some(stored.device.clone()).filter(|d| !d.is_empty()),
                    updated_at: Some(now),
                };
                progress::record_in(tx, user_id, held.book_id, input).await?;
            }
            repo::kosync::put(&**tx, user_id, stored).await?;
            Ok::<_, ServiceError>(())
        })
    })
    .await?;
    Ok(pushed.timestamp)
}

/// The reader's position for `document`: the newer of its own last push and the book's
/// position (when folio holds the document), translated to it; `None` when there is neither.
#[tracing::instrument(
    level = "info",
    name = "service.kosync.pull",
    skip_all,
    err(level = "debug")
)]
pub async fn pull(
    db: &Database,
    who: &Principal,
    document: &str,
) -> ServiceResult<Option<Position>> {
    check_document(document)?;
    let stored = repo::kosync::get(db.reader(), who.user_id, document).await?;
    let held = repo::kosync::file_of(db.reader(), document).await?;
    let book = match &held {
        Some(held) => repo::progress::find(db.reader(), who.user_id, held.book_id).await?,
        None => None,
    };
    let from_stored = |p: Pushed| Position {
        document: document.to_string(),
        progress: p.progress,
        percentage: p.percentage,
        device: p.device,
        device_id: p.device_id,
        timestamp: p.timestamp,
    };
    let (Some(held), Some(book)) = (held, book) else {
        return Ok(stored.map(from_stored));
    };
    // The book's position is this document's own last push when it says the same; else the
    // newer wins, and a tie (both in one second) goes to the book, which a push of the same
    // second would have written identically.
    let pushed_here = |s: &Pushed| {
        book.edition_id == Some(held.edition_id)
            && book.locator.as_deref() == Some(s.progress.as_str())
            && (book.percent - s.percentage).abs() < 1e-9
    };
    if stored
        .as_ref()
        .is_some_and(|s| pushed_here(s) || s.timestamp > book.updated_at.timestamp())
    {
        return Ok(stored.map(from_stored));
    }
    // The book moved on elsewhere: its locator when KOReader wrote it for this edition (a web
    // reader's CFI or another file's page is not one KOReader opens), else the place that
    // fraction is in this file. An EPUB stored before spine sizes were read cannot be placed:
    // then this document's own last push stands, if there is one.
    let koreader_shaped = |locator: &str| match held.media_type.as_str() {
        "application/pdf" => locator.parse::<u32>().is_ok_and(|page| page > 0),
        _ => locator.starts_with("/body/"),
    };
    let progress = match (&book.locator, book.edition_id) {
        (Some(locator), Some(edition))
            if edition == held.edition_id && koreader_shaped(locator) =>
        {
            locator.clone()
        }
        _ => match place_in(&held, book.percent) {
            Some(place) => place,
            None => match stored {
                Some(own) => return Ok(Some(from_stored(own))),
                None => "/body/DocFragment[1]/body".to_string(),
            },
        },
    };
    Ok(Some(Position {
        document: document.to_string(),
        progress,
        percentage: book.percent,
        device: book.device.unwrap_or_else(|| FOLIO_DEVICE.into()),
        device_id: FOLIO_DEVICE.into(),
        timestamp: book.updated_at.timestamp(),
    }))
}

/// Where `percent` of the book is in this file, as KOReader writes positions: for an EPUB
/// an XPointer to the start of the spine document holding that fraction of the text, for a
/// PDF the page (KOReader's convention: round(percent × pages), from 1); `None` for an EPUB
/// whose spine sizes are not known (stored before they were read).
fn place_in(held: &HeldFile, percent: f64) -> Option<String> {
    let metadata: Option<FileMetadata> = held
        .metadata
        .as_deref()
        .and_then(|m| serde_json::from_str(m).ok());
    if held.media_type == "application/pdf" {
        let pages = metadata
            .as_ref()
            .and_then(|m| m.pages)
            .map(i64::from)
            .or(held.pages.map(i64::from))
            .unwrap_or(1)
            .max(1);
        let page = ((percent * pages as f64).round() as i64).clamp(1, pages);
        return Some(page.to_string());
    }
    let sizes = metadata.map(|m| m.spine_sizes).unwrap_or_default();
    if sizes.iter().sum::<u64>() == 0 {
        return None;
    }
    let document = spine_document(&sizes, percent);
    Some(format!("/body/DocFragment[{document}]/body"))
}

/// The 1-based spine document holding `percent` of the text, by the documents' sizes.
fn spine_document(sizes: &[u64], percent: f64) -> usize {
    let total: u64 = sizes.iter().sum();
    if total == 0 {
        return 1;
    }
    let at = (percent.clamp(0.0, 1.0) * total as f64) as u64;
    let mut end = 0;
    for (index, size) in sizes.iter().enumerate() {
        end += size;
        if at < end {
            return index + 1;
        }
    }
    sizes.len()
}

/// Computes and keeps KOReader's ids of a stored ebook file, reading its samples from storage.
#[tracing::instrument(
    level = "debug",
    name = "service.kosync.identify",
    skip_all,
    fields(file_id),
    err(level = "debug")
)]
pub async fn identify(
    db: &Database,
    storage: &Storage,
    file_id: i64,
    sha256: &str,
    size: u64,
    name: &str,
) -> ServiceResult<()> {
    use futures_util::TryStreamExt;
    let hash = ContentHash::parse(sha256)
        .map_err(|e| ServiceError::internal(format!("file {file_id}'s hash: {e}")))?;
    let mut samples = vec![];
    for range in koreader::samples(size) {
        let pieces: Vec<bytes::Bytes> = storage
            .read(&hash, Some(range))
            .await?
            .try_collect()
            .await
            .map_err(|e| ServiceError::failed("a file's sample could not be read", e))?;
        samples.push(pieces.concat());
    }
    let binary = koreader::binary_id(samples.iter().map(Vec::as_slice));
    let named = koreader::name_id(name);
    db.write(|tx| {
        Box::pin(async move { repo::kosync::set_file_ids(&**tx, file_id, &binary, &named).await })
    })
    .await?;
    Ok(())
}

/// Fills KOReader's ids of ebook files stored before they were kept (or whose upload could
/// not compute them); run in the background when the server starts. Answers how many.
#[tracing::instrument(
    level = "info",
    name = "service.kosync.identify_missing",
    skip_all,
    err(level = "debug")
)]
pub async fn identify_missing(db: &Database, storage: &Storage) -> ServiceResult<usize> {
    let missing = repo::kosync::files_without_ids(db.reader()).await?;
    for (id, sha256, size, name) in &missing {
        identify(db, storage, *id, sha256, *size as u64, name).await?;
    }
    Ok(missing.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fraction_falls_in_the_spine_document_that_holds_it() {
        let sizes = [100, 300, 600];
        assert_eq!(spine_document(&sizes, 0.0), 1);
        assert_eq!(spine_document(&sizes, 0.099), 1);
        assert_eq!(spine_document(&sizes, 0.1), 2);
        assert_eq!(spine_document(&sizes, 0.39), 2);
        assert_eq!(spine_document(&sizes, 0.4), 3);
        assert_eq!(spine_document(&sizes, 1.0), 3);
        assert_eq!(spine_document(&[], 0.5), 1);
    }
}
