//! The books' files: what an edition may hold, who may fetch it, and keeping storage and rows
//! in step (a row only for a whole object; an object kept while a row names it).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::db::Database;
use crate::entity::enums::{EditionAccess, EditionFormat, PurchaseStatus};
use crate::media::{self, Format, Inspected, MediaError};
use crate::repo;
use crate::repo::file::NewFile;
use crate::service::auth::Principal;
use crate::service::{FieldError, ServiceError, ServiceResult};
use crate::storage::{ContentHash, Staged, Storage, StorageError};

pub use crate::entity::edition_file::Model as EditionFile;

/// A file sent for an edition: the name the client gave it and its bytes, staged on disk.
pub struct Upload {
    pub name: String,
    pub staged: Staged,
}

/// What was read from a file, kept with its row (`GET /editions/{id}/metadata` shows it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileMetadata {
    pub title: Option<String>,
    pub subtitle: Option<String>,
    pub creators: Vec<MetadataCreator>,
    pub language: Option<String>,
    /// The first identifier that is a valid ISBN, as ISBN-13 digits.
    pub isbn: Option<String>,
    pub publisher: Option<String>,
    pub date: Option<String>,
    pub description: Option<String>,
    pub pages: Option<u32>,
    pub album: Option<String>,
    pub track_number: Option<u32>,
    pub disc_number: Option<u32>,
    pub chapters: Vec<MetadataChapter>,
    pub toc: Vec<MetadataTocEntry>,
    /// Whether the file holds cover art.
    pub has_cover: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetadataCreator {
    pub name: String,
    /// `author`, `narrator`, `translator`, `editor`, `illustrator` or `other`.
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetadataChapter {
    pub title: String,
    pub start_seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetadataTocEntry {
    pub title: String,
    pub href: String,
    pub spine_position: Option<u32>,
    pub depth: u8,
}

impl FileMetadata {
    fn of(metadata: &media::Metadata) -> Self {
        let role = |role: media::Role| {
            match role {
                media::Role::Author => "author",
                media::Role::Narrator => "narrator",
                media::Role::Translator => "translator",
                media::Role::Editor => "editor",
                media::Role::Illustrator => "illustrator",
                media::Role::Other => "other",
            }
            .to_string()
        };
        Self {
            title: metadata.title.clone(),
            subtitle: metadata.subtitle.clone(),
            creators: metadata
                .creators
                .iter()
                .map(|c| MetadataCreator {
                    name: c.name.clone(),
                    role: role(c.role),
                })
                .collect(),
            language: metadata.language.clone(),
            isbn: metadata
                .isbn_candidates
                .iter()
                .find_map(|candidate| super::catalog::isbn::normalize(candidate).ok()),
            publisher: metadata.publisher.clone(),
            date: metadata.date.clone(),
            description: metadata.description.clone(),
            pages: metadata.pages,
            album: metadata.album.clone(),
            track_number: metadata.track_number,
            disc_number: metadata.disc_number,
            chapters: metadata
                .chapters
                .iter()
                .map(|c| MetadataChapter {
                    title: c.title.clone(),
                    start_seconds: c.start_seconds,
                })
                .collect(),
            toc: metadata
                .toc
                .iter()
                .map(|t| MetadataTocEntry {
                    title: t.title.clone(),
                    href: t.href.clone(),
                    spine_position: t.spine_position,
                    depth: t.depth,
                })
                .collect(),
            has_cover: metadata.cover.is_some(),
        }
    }
}

/// What storage trouble means to a caller: unreachable or full is an answer (503, 507), a
/// missing object or anything else a fault.
impl From<StorageError> for ServiceError {
    fn from(err: StorageError) -> Self {
        match err {
            err @ (StorageError::Unavailable(_) | StorageError::Full(_)) => {
                ServiceError::FileStorage(err)
            }
            err => ServiceError::failed("file storage failed", err),
        }
    }
}

/// Which files an edition of `format` takes; `Err` says why not, for the client.
fn fits(edition: EditionFormat, format: Format) -> Result<(), String> {
    let ok = match edition {
        EditionFormat::Ebook => format.is_ebook(),
        EditionFormat::Audiobook => format.is_audio(),
        EditionFormat::Print | EditionFormat::Vinyl => false,
    };
    if ok {
        return Ok(());
    }
    Err(match edition {
        EditionFormat::Ebook => format!("is {format}; an ebook edition takes EPUB or PDF files"),
        EditionFormat::Audiobook => {
            format!("is {format}; an audiobook edition takes MP3, M4B/M4A, Ogg/Opus or FLAC files")
        }
        EditionFormat::Print => "cannot be added: a print edition holds no files".into(),
        EditionFormat::Vinyl => "cannot be added: a vinyl edition holds no files".into(),
    })
}

fn require_admin(who: &Principal) -> ServiceResult<()> {
    if who.is_admin() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(
            "Adding and removing files needs an admin.".into(),
        ))
    }
}

/// Checks, before any bytes are received, that `who` may add files to the edition and that
/// it takes files at all: a print edition's 2 GiB upload is refused before it is read.
#[tracing::instrument(
    level = "info",
    name = "service.files.check_target",
    skip_all,
    fields(edition_id),
    err(level = "debug")
)]
pub async fn check_target(db: &Database, who: &Principal, edition_id: i64) -> ServiceResult<()> {
    require_admin(who)?;
    let edition = repo::edition::find(db.reader(), edition_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("edition".into()))?;
    if matches!(edition.format, EditionFormat::Print | EditionFormat::Vinyl) {
        let why = fits(edition.format, Format::Epub).unwrap_err();
        return Err(ServiceError::invalid("files", format!("A file {why}.")));
    }
    Ok(())
}

/// Adds files to an edition, after any it has: each judged by its bytes, stored, then its row
/// written. Nothing is written unless every file is taken.
#[tracing::instrument(
    level = "info",
    name = "service.files.add",
    skip_all,
    fields(edition_id, count = uploads.len()),
    err(level = "debug")
)]
pub async fn add(
    db: &Database,
    storage: &Storage,
    who: &Principal,
    edition_id: i64,
    uploads: Vec<Upload>,
) -> ServiceResult<Vec<EditionFile>> {
    require_admin(who)?;
    if uploads.is_empty() {
        return Err(ServiceError::invalid(
            "files",
            "Send at least one file, as a multipart part named `file`.",
        ));
    }
    let edition = repo::edition::find(db.reader(), edition_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("edition".into()))?;

    let mut judged = Vec::with_capacity(uploads.len());
    let mut errors = vec![];
    for (i, upload) in uploads.into_iter().enumerate() {
        let name = clean_name(&upload.name);
        match inspect(&upload.staged).await? {
            Ok(inspected) => match fits(edition.format, inspected.format) {
                Ok(()) => judged.push((upload, name, inspected)),
                Err(why) => errors.push(FieldError::new(
                    format!("files[{i}]"),
                    format!("'{name}' {why}."),
                )),
            },
            Err(why) => errors.push(FieldError::new(
                format!("files[{i}]"),
                format!("'{name}' {why}."),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(ServiceError::Validation(errors));
    }
    refuse_repeats(db, edition_id, &judged).await?;

    let mut rows = Vec::with_capacity(judged.len());
    for (upload, name, inspected) in &judged {
        storage.store_staged(&upload.staged).await?;
        rows.push(NewFile {
            name: with_extension(name, inspected.format),
            media_type: inspected.format.media_type().to_string(),
            size: upload.staged.size() as i64,
            sha256: upload.staged.hash().to_string(),
            duration_seconds: inspected.metadata.duration_seconds.filter(|d| *d > 0.0),
            metadata: Some(
                serde_json::to_string(&FileMetadata::of(&inspected.metadata))
                    .map_err(|e| ServiceError::failed("file metadata did not serialise", e))?,
            ),
        });
    }
    let added = db
        .write(|tx| {
            Box::pin(async move {
                // The edition may have been deleted while the bytes were stored; its objects
                // are then unreferenced, and `folio storage gc` removes them.
                repo::edition::find(&**tx, edition_id)
                    .await?
                    .ok_or_else(|| ServiceError::NotFound("edition".into()))?;
                Ok::<_, ServiceError>(repo::file::insert_all(&**tx, edition_id, rows).await?)
            })
        })
        .await?;
    // A book without a cover takes the first art its files hold.
    let art = judged
        .iter()
        .find_map(|(_, _, inspected)| inspected.metadata.cover.as_ref());
    if let Some(art) = art {
        super::covers::offer(db, storage, edition.book_id, art.bytes.clone()).await;
    }
    Ok(added)
}

/// Judges a staged file on a blocking thread: parsing reads the file.
async fn inspect(staged: &Staged) -> ServiceResult<Result<Inspected, MediaError>> {
    let path = staged.path().to_path_buf();
    match tokio::task::spawn_blocking(move || media::inspect(&path)).await {
        Ok(Err(MediaError::Io(e))) => Err(ServiceError::failed("reading an upload failed", e)),
        Ok(judged) => Ok(judged),
        Err(panicked) => Err(ServiceError::failed("reading an upload panicked", panicked)),
    }
}

/// An edition holds the same bytes once: a file it has, or one sent twice, is a conflict.
async fn refuse_repeats(
    db: &Database,
    edition_id: i64,
    judged: &[(Upload, String, Inspected)],
) -> ServiceResult<()> {
    let existing = repo::file::of_edition(db.reader(), edition_id).await?;
    let mut seen: HashSet<&str> = existing.iter().map(|f| f.sha256.as_str()).collect();
    for (upload, name, _) in judged {
        if !seen.insert(upload.staged.hash().as_str()) {
            return Err(ServiceError::Conflict {
                field: "files".into(),
                detail: format!("The edition already has the file '{name}' (the same bytes)."),
            });
        }
    }
    Ok(())
}

/// A client's file name as a download may be saved under: the last path component, without
/// control characters, at most 200 characters.
fn clean_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .to_string();
    if cleaned.is_empty() {
        "file".into()
    } else {
        cleaned
    }
}

/// The name with the extension of the format its bytes are, so a FLAC sent as `track.mp3`
/// downloads as `track.flac`.
fn with_extension(name: &str, format: Format) -> String {
    let accepted: &[&str] = match format {
        Format::Mp4Audio => &["m4b", "m4a", "mp4"],
        Format::Ogg => &["ogg", "opus", "oga"],
        Format::Jpeg => &["jpg", "jpeg"],
        _ => &[],
    };
    let (stem, extension) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.len() <= 5 => (stem, Some(ext)),
        _ => (name, None),
    };
    match extension {
        Some(ext)
            if ext.eq_ignore_ascii_case(format.extension())
                || accepted.iter().any(|a| ext.eq_ignore_ascii_case(a)) =>
        {
            name.to_string()
        }
        _ => format!("{stem}.{}", format.extension()),
    }
}

/// An edition's files, in order. Anyone may list them (what a buyer gets is part of the
/// offer); fetching the bytes is what access governs.
#[tracing::instrument(
    level = "info",
    name = "service.files.list",
    skip_all,
    fields(edition_id),
    err(level = "debug")
)]
pub async fn list(db: &Database, edition_id: i64) -> ServiceResult<Vec<EditionFile>> {
    repo::edition::find(db.reader(), edition_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("edition".into()))?;
    Ok(repo::file::of_edition(db.reader(), edition_id).await?)
}

/// Deletes a file, then its object unless another row still names it.
#[tracing::instrument(
    level = "info",
    name = "service.files.delete",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn delete(
    db: &Database,
    storage: &Storage,
    who: &Principal,
    id: i64,
) -> ServiceResult<()> {
    require_admin(who)?;
    let file = db
        .write(|tx| {
            Box::pin(async move {
                let (file, _) = repo::file::find(&**tx, id)
                    .await?
                    .ok_or_else(|| ServiceError::NotFound("file".into()))?;
                repo::file::delete(&**tx, &file).await?;
                Ok::<_, ServiceError>(file)
            })
        })
        .await?;
    release(db, storage, &file.sha256, file.created_at).await;
    Ok(())
}

/// Removes an object no row names any more. Best effort: the row is gone either way, and
/// `folio storage gc` removes what this leaves. An object written again since `named_since`
/// (the same bytes being uploaded elsewhere right now) is left for gc to judge later.
pub(super) async fn release(
    db: &Database,
    storage: &Storage,
    sha256: &str,
    named_since: DateTime<Utc>,
) {
    let Ok(hash) = ContentHash::parse(sha256) else {
        return;
    };
    let outcome = async {
        if repo::file::is_referenced(db.reader(), sha256).await? {
            return Ok::<_, ServiceError>(());
        }
        if let Some(object) = storage.stat(&hash).await? {
            if object.last_modified <= named_since {
                storage.delete(&hash).await?;
            }
        }
        Ok(())
    }
    .await;
    if let Err(e) = outcome {
        tracing::warn!(error = %e, %hash, "an unreferenced object was left for `folio storage gc`");
    }
}

/// Who may fetch an edition's files, and why not: 401 for someone who should sign in, 403 for
/// an account that may not (with how to buy it, when it is for sale).
#[tracing::instrument(
    level = "info",
    name = "service.files.open",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn open(db: &Database, who: Option<&Principal>, id: i64) -> ServiceResult<EditionFile> {
    let (file, edition) = repo::file::find(db.reader(), id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("file".into()))?;
    let allowed = match (edition.access, who) {
        (EditionAccess::Public, _) => true,
        (_, Some(who)) if who.is_admin() => true,
        (_, None) => {
            return Err(ServiceError::Unauthenticated(
                "Sign in to download this edition's files.".into(),
            ));
        }
        (EditionAccess::Members, Some(_)) => true,
        (EditionAccess::Buyers, Some(who)) => {
            repo::purchase::open_purchase(db.reader(), who.user_id, edition.id)
                .await?
                .is_some_and(|p| p.status == PurchaseStatus::Paid)
        }
    };
    if allowed {
        return Ok(file);
    }
    Err(ServiceError::Forbidden(match edition.price_minor {
        Some(_) => format!(
            "This edition's files are for its buyers. Buy it with POST /api/v1/purchases \
             {{\"edition_id\": {}}}; once the payment is confirmed, the download is yours.",
            edition.id
        ),
        None => "This edition's files are for its buyers, and it is not for sale.".into(),
    }))
}

/// What `folio storage gc` found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GcReport {
    /// Objects no row names, old enough to remove (removed unless a dry run).
    pub removed: Vec<(String, u64)>,
    /// Objects no row names yet, too young to judge (an upload may be committing them).
    pub young: usize,
    /// Temporary upload files a crash left behind.
    pub stale_uploads: Vec<std::path::PathBuf>,
    pub kept: usize,
}

/// Removes objects no row names, written more than `min_age` ago, and upload files a crash
/// left; with `dry_run`, only lists them.
#[tracing::instrument(
    level = "info",
    name = "service.files.gc",
    skip_all,
    err(level = "debug")
)]
pub async fn gc(
    db: &Database,
    storage: &Storage,
    min_age: std::time::Duration,
    dry_run: bool,
) -> ServiceResult<GcReport> {
    use futures_util::TryStreamExt;

    let cutoff = Utc::now() - chrono::Duration::from_std(min_age).unwrap_or_default();
    // Listed before the references are read: an object stored after this listing began is
    // not in it, and one whose row commits meanwhile is in the references.
    let objects: Vec<_> = storage.list().try_collect().await?;
    let referenced: HashSet<String> = repo::file::referenced(db.reader())
        .await?
        .into_iter()
        .collect();
    let mut report = GcReport::default();
    for object in objects {
        if referenced.contains(object.hash.as_str()) {
            report.kept += 1;
        } else if object.last_modified > cutoff {
            report.young += 1;
        } else {
            if !dry_run {
                storage.delete(&object.hash).await?;
            }
            report.removed.push((object.hash.to_string(), object.size));
        }
    }
    report.stale_uploads = storage.stale_uploads(cutoff)?;
    if !dry_run {
        for path in &report.stale_uploads {
            let _ = std::fs::remove_file(path);
        }
    }
    Ok(report)
}

/// What `folio storage check` found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CheckReport {
    pub checked: usize,
    /// Rows whose object is missing, the wrong size or the wrong bytes: (file id, problem).
    pub broken: Vec<(i64, String)>,
    /// Objects no row names.
    pub orphans: Vec<String>,
}

/// Verifies that every file row's object exists with its size and SHA-256 (reading every byte
/// back), and lists objects no row names.
#[tracing::instrument(
    level = "info",
    name = "service.files.check",
    skip_all,
    err(level = "debug")
)]
pub async fn check(db: &Database, storage: &Storage) -> ServiceResult<CheckReport> {
    use futures_util::{StreamExt, TryStreamExt};

    let mut report = CheckReport::default();
    let mut after = 0;
    loop {
        let rows = repo::file::page(db.reader(), after, 500).await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for row in rows {
            report.checked += 1;
            let Ok(hash) = ContentHash::parse(&row.sha256) else {
                report
                    .broken
                    .push((row.id, "its SHA-256 is not valid hex".into()));
                continue;
            };
            let problem = match storage.stat(&hash).await? {
                None => Some("its object is missing".to_string()),
                Some(object) if object.size != row.size as u64 => Some(format!(
                    "its object is {} bytes, the row says {}",
                    object.size, row.size
                )),
                Some(_) => {
                    let mut hasher = crate::storage::Hasher::default();
                    let mut bytes = storage.read(&hash, None).await?;
                    while let Some(chunk) = bytes.next().await {
                        let chunk = chunk
                            .map_err(|e| ServiceError::failed("reading an object failed", e))?;
                        hasher.update(&chunk);
                    }
                    (hasher.finish() != hash)
                        .then(|| "its object's bytes do not match its SHA-256".to_string())
                }
            };
            if let Some(problem) = problem {
                report.broken.push((row.id, problem));
            }
        }
    }
    let referenced: HashSet<String> = repo::file::referenced(db.reader())
        .await?
        .into_iter()
        .collect();
    let objects: Vec<_> = storage.list().try_collect().await?;
    report.orphans = objects
        .into_iter()
        .filter(|o| !referenced.contains(o.hash.as_str()))
        .map(|o| o.hash.to_string())
        .collect();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_their_paths_and_get_the_extension_of_their_bytes() {
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("C:\\Books\\Dune.epub"), "Dune.epub");
        assert_eq!(clean_name("a\u{0}b\nc.mp3"), "abc.mp3");
        assert_eq!(clean_name(".."), "file");
        assert_eq!(clean_name(".hidden.epub"), "hidden.epub");
        assert_eq!(with_extension("track.mp3", Format::Flac), "track.flac");
        assert_eq!(with_extension("book.M4A", Format::Mp4Audio), "book.M4A");
        assert_eq!(with_extension("book", Format::Epub), "book.epub");
        assert_eq!(with_extension("notes.v2.pdf", Format::Pdf), "notes.v2.pdf");
    }

    #[test]
    fn an_edition_takes_only_the_files_of_its_format() {
        assert!(fits(EditionFormat::Ebook, Format::Epub).is_ok());
        assert!(fits(EditionFormat::Ebook, Format::Pdf).is_ok());
        assert!(fits(EditionFormat::Audiobook, Format::Mp4Audio).is_ok());
        assert!(
            fits(EditionFormat::Ebook, Format::Mp3)
                .unwrap_err()
                .contains("ebook edition")
        );
        assert!(fits(EditionFormat::Audiobook, Format::Pdf).is_err());
        assert!(fits(EditionFormat::Print, Format::Pdf).is_err());
        assert!(fits(EditionFormat::Vinyl, Format::Flac).is_err());
        assert!(fits(EditionFormat::Audiobook, Format::Jpeg).is_err());
    }
}
