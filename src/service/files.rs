//! The books' files: what an edition may hold, who may fetch it, and keeping storage and rows
//! in step (a row only for a whole object; an object kept while a row names it).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::db::{Database, UnitOfWork};
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
    /// An EPUB's spine documents' sizes in reading order (KOReader's positions, issue 17).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spine_sizes: Vec<u64>,
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
            spine_sizes: metadata.spine_sizes.clone(),
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

/// A file judged by its bytes, that an edition of its kind takes.
pub struct Judged {
    pub upload: Upload,
    /// Its name as a download is saved (cleaned, with the extension of its format).
    pub name: String,
    pub inspected: Inspected,
}

/// Judges an upload by its bytes: what it is and what it holds, or why folio does not take
/// it ("'name' is not …"), for the client or the rejects file.
pub async fn judge(upload: Upload) -> ServiceResult<Result<Judged, String>> {
    let name = clean_name(&upload.name);
    Ok(match inspect(&upload.staged).await? {
        Ok(inspected) => Ok(Judged {
            name: with_extension(&name, inspected.format),
            upload,
            inspected,
        }),
        Err(why) => Err(format!("'{name}' {why}")),
    })
}

/// Whether an edition of `format` takes the judged file; why not, for the client.
pub fn fits_edition(format: EditionFormat, judged: &Judged) -> Result<(), String> {
    fits(format, judged.inspected.format)
        .map_err(|why| format!("'{}' {why}", clean_name(&judged.upload.name)))
}

/// Adds files to an edition, after any it has: each judged by its bytes, stored, then its row
/// written; with `apply`, what the edition and its book lack is filled from what the files
/// say. Nothing is written unless every file is taken.
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
    apply: bool,
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
        let outcome = judge(upload)
            .await?
            .and_then(|j| fits_edition(edition.format, &j).map(|()| j));
        match outcome {
            Ok(j) => judged.push(j),
            Err(why) => errors.push(FieldError::new(format!("files[{i}]"), format!("{why}."))),
        }
    }
    if !errors.is_empty() {
        return Err(ServiceError::Validation(errors));
    }
    refuse_repeats(db, edition_id, &judged).await?;
    let rows = store(storage, &judged).await?;
    let read: Vec<media::Metadata> = judged
        .iter()
        .map(|j| j.inspected.metadata.clone())
        .collect();
    let added = db
        .write(|tx| {
            Box::pin(async move {
                // The edition may have been deleted while the bytes were stored; its objects
                // are then unreferenced, and `folio storage gc` removes them.
                repo::edition::find(&**tx, edition_id)
                    .await?
                    .ok_or_else(|| ServiceError::NotFound("edition".into()))?;
                let added = attach_in(tx, edition_id, rows).await?;
                if apply {
                    apply_in(tx, edition_id, &read).await?;
                }
                Ok::<_, ServiceError>(added)
            })
        })
        .await?;
    offer_cover(db, storage, edition.book_id, &judged).await;
    identify_ebooks(db, storage, &added).await;
    Ok(added)
}

/// Keeps KOReader's ids of the ebooks among `files` (issue 17). Derived data: a failure is
/// logged, and the server fills what is missing when it next starts.
async fn identify_ebooks(db: &Database, storage: &Storage, files: &[EditionFile]) {
    let ebooks = files.iter().filter(|f| {
        matches!(
            f.media_type.as_str(),
            "application/epub+zip" | "application/pdf"
        )
    });
    for file in ebooks {
        let size = file.size as u64;
        let identified =
            super::kosync::identify(db, storage, file.id, &file.sha256, size, &file.name).await;
        if let Err(e) = identified {
            tracing::warn!(file_id = file.id, error = %e, "could not compute KOReader's ids of a file");
        }
    }
}

/// Stores each judged file's bytes; the rows to write for them.
pub async fn store(storage: &Storage, judged: &[Judged]) -> ServiceResult<Vec<NewFile>> {
    let mut rows = Vec::with_capacity(judged.len());
    for j in judged {
        storage.store_staged(&j.upload.staged).await?;
        rows.push(NewFile {
            name: j.name.clone(),
            media_type: j.inspected.format.media_type().to_string(),
            size: j.upload.staged.size() as i64,
            sha256: j.upload.staged.hash().to_string(),
            duration_seconds: j.inspected.metadata.duration_seconds.filter(|d| *d > 0.0),
            metadata: Some(
                serde_json::to_string(&FileMetadata::of(&j.inspected.metadata))
                    .map_err(|e| ServiceError::failed("file metadata did not serialise", e))?,
            ),
        });
    }
    Ok(rows)
}

/// Writes the rows of stored files after the edition's last file, in a unit of work.
pub async fn attach_in(
    unit: &UnitOfWork,
    edition_id: i64,
    rows: Vec<NewFile>,
) -> ServiceResult<Vec<EditionFile>> {
    let added = repo::file::insert_all(&**unit, edition_id, rows)
        .await
        .map_err(|e| {
            let clash = ServiceError::from(e);
            if clash.conflicts_on(repo::file::SAME_BYTES) {
                ServiceError::Conflict {
                    field: "files".into(),
                    detail: "The edition already has one of these files (the same bytes).".into(),
                }
            } else {
                clash
            }
        })?;
    let events: Vec<_> = added
        .iter()
        .map(|file| {
            let event = serde_json::json!({
                "id": file.id, "edition_id": file.edition_id, "position": file.position,
                "name": file.name, "media_type": file.media_type, "size": file.size,
                "sha256": file.sha256, "duration_seconds": file.duration_seconds,
                "created_at": file.created_at,
            });
            super::webhooks::Event::new("edition.file_added", event)
        })
        .collect();
    super::webhooks::emit_all(&**unit, events).await?;
    Ok(added)
}

/// A book without a cover takes the first art its files hold.
pub async fn offer_cover(db: &Database, storage: &Storage, book_id: i64, judged: &[Judged]) {
    let art = judged
        .iter()
        .find_map(|j| j.inspected.metadata.cover.as_ref());
    if let Some(art) = art {
        super::covers::offer_image(db, storage, book_id, art.bytes.clone()).await;
    }
}

/// Fills what the edition and its book lack from what its stored files were read to say:
/// the "apply" of a file uploaded without it, after the shop keeper has looked at it.
#[tracing::instrument(
    level = "info",
    name = "service.files.apply_stored",
    skip_all,
    fields(edition_id),
    err(level = "debug")
)]
pub async fn apply_stored(db: &Database, who: &Principal, edition_id: i64) -> ServiceResult<()> {
    require_admin(who)?;
    let read: Vec<media::Metadata> = metadata(db, edition_id)
        .await?
        .into_iter()
        .map(|(file, m)| media::Metadata {
            title: m.title,
            subtitle: m.subtitle,
            language: m.language,
            isbn_candidates: m.isbn.into_iter().collect(),
            publisher: m.publisher,
            date: m.date,
            description: m.description,
            pages: m.pages,
            duration_seconds: file.duration_seconds,
            ..Default::default()
        })
        .collect();
    db.write(|tx| Box::pin(async move { apply_in(tx, edition_id, &read).await }))
        .await
}

/// Fills what the edition and its book lack from what its files say: pages, playing time
/// (the tracks' sum), ISBN (unless another edition has it), language, publisher, release
/// date, and the book's description. What is set is never overwritten.
pub async fn apply_in(
    unit: &UnitOfWork,
    edition_id: i64,
    read: &[media::Metadata],
) -> ServiceResult<()> {
    let Some(edition) = repo::edition::find(&**unit, edition_id).await? else {
        return Ok(());
    };
    let first = |field: fn(&media::Metadata) -> Option<String>| read.iter().find_map(field);
    let mut fields = repo::edition::EditionFields::from(&edition);
    let mut candidate = fields.clone();
    if candidate.pages.is_none() {
        candidate.pages = read
            .iter()
            .find_map(|m| m.pages)
            .map(|p| p.min(100_000) as i32);
    }
    if candidate.duration_seconds.is_none() {
        let total: f64 = read.iter().filter_map(|m| m.duration_seconds).sum();
        candidate.duration_seconds = (total >= 1.0).then(|| total.round() as i64);
    }
    if candidate.language.is_none() {
        candidate.language = first(|m| m.language.clone());
    }
    if candidate.publisher.is_none() {
        candidate.publisher = first(|m| m.publisher.clone()).map(|p| p.chars().take(300).collect());
    }
    if candidate.release_date.is_none() {
        candidate.release_date = read
            .iter()
            .find_map(|m| m.date.as_deref().and_then(full_date));
    }
    // The title the file carries is the edition's printed title, kept when it is not the
    // book's own ("1984" in a file of "Nineteen Eighty-Four").
    if candidate.title.is_none() {
        let audio = candidate.format == EditionFormat::Audiobook;
        let printed = read.iter().find_map(|m| {
            if audio {
                m.album.clone().or(m.title.clone())
            } else {
                m.title.clone()
            }
        });
        if let Some(printed) = printed
            && let Some(book) = repo::book::find(&**unit, edition.book_id).await?
            && crate::text::fold(&printed) != book.title_folded
        {
            candidate.title = Some(printed.chars().take(500).collect());
        }
    }
    if candidate.isbn.is_none() && candidate.format != EditionFormat::Vinyl {
        let isbn = read
            .iter()
            .flat_map(|m| m.isbn_candidates.iter())
            .find_map(|c| super::catalog::isbn::normalize(c).ok());
        if let Some(isbn) = isbn {
            let taken = repo::edition::find_by_isbn(&**unit, &isbn).await?.is_some();
            if !taken {
                candidate.isbn = Some(isbn);
            }
        }
    }
    // A value the edition's rules refuse (a language tag folio does not know) is dropped,
    // one field at a time, rather than losing the others.
    type Copy = fn(&mut repo::edition::EditionFields, &repo::edition::EditionFields);
    let copies: [Copy; 7] = [
        |to, from| to.title.clone_from(&from.title),
        |to, from| to.pages = from.pages,
        |to, from| to.duration_seconds = from.duration_seconds,
        |to, from| to.language.clone_from(&from.language),
        |to, from| to.publisher.clone_from(&from.publisher),
        |to, from| to.release_date = from.release_date,
        |to, from| to.isbn.clone_from(&from.isbn),
    ];
    for copy in copies {
        let mut trial = fields.clone();
        copy(&mut trial, &candidate);
        if super::catalog::editions::checked(trial.clone()).is_ok() {
            fields = trial;
        }
    }
    let fields = super::catalog::editions::checked(fields)?.into_inner();
    repo::edition::update(&**unit, edition.clone(), fields).await?;
    if let Some(description) = first(|m| m.description.clone()) {
        super::catalog::books::fill_description(unit, edition.book_id, description).await?;
    }
    // Its title and ISBN find the book.
    repo::search::refresh(&**unit, &[edition.book_id]).await?;
    Ok(())
}

/// A date a file wrote, when it names a day (`2019-04-02`, `2019-04-02T00:00:00Z`); a bare
/// year says too little for a release date.
fn full_date(written: &str) -> Option<chrono::NaiveDate> {
    let day = written.trim().get(..10)?;
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()
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
async fn refuse_repeats(db: &Database, edition_id: i64, judged: &[Judged]) -> ServiceResult<()> {
    let existing = repo::file::of_edition(db.reader(), edition_id).await?;
    let mut seen: HashSet<&str> = existing.iter().map(|f| f.sha256.as_str()).collect();
    for Judged { upload, name, .. } in judged {
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

/// The files already holding any of these bytes (a folder scan's second run finds its files
/// here and adds nothing).
pub async fn holding(db: &Database, hashes: &[String]) -> ServiceResult<Vec<EditionFile>> {
    Ok(repo::file::with_hashes(db.reader(), hashes).await?)
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
        if let Some(object) = storage.stat(&hash).await?
            && object.last_modified <= named_since
        {
            storage.delete(&hash).await?;
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
    // Every download starts here: a bounded read, on SQLite's hot readers.
    let (file, edition) = db
        .read_bounded(move |read| Box::pin(async move { repo::file::find(read, id).await }))
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

/// An audiobook as a Readium manifest describes it: the book, the edition, its tracks in order
/// with what was read from each, and its chapters across them.
#[derive(Debug, Clone)]
pub struct Audiobook {
    pub book: crate::repo::book_view::BookView,
    pub edition: crate::repo::edition_view::EditionView,
    pub tracks: Vec<(EditionFile, FileMetadata)>,
    pub chapters: Vec<BookChapter>,
}

/// A chapter of a whole audiobook: where it starts, as a track and an offset into it.
#[derive(Debug, Clone, PartialEq)]
pub struct BookChapter {
    pub title: String,
    /// The track's file.
    pub file_id: i64,
    pub offset_seconds: f64,
}

/// What was read from each of an edition's files, in order.
#[tracing::instrument(
    level = "info",
    name = "service.files.metadata",
    skip_all,
    fields(edition_id),
    err(level = "debug")
)]
pub async fn metadata(
    db: &Database,
    edition_id: i64,
) -> ServiceResult<Vec<(EditionFile, FileMetadata)>> {
    let files = list(db, edition_id).await?;
    files
        .into_iter()
        .map(|file| {
            let read = stored_metadata(&file)?;
            Ok((file, read))
        })
        .collect()
}

fn stored_metadata(file: &EditionFile) -> ServiceResult<FileMetadata> {
    match &file.metadata {
        None => Ok(FileMetadata::default()),
        Some(json) => serde_json::from_str(json)
            .map_err(|e| ServiceError::failed(format!("file {}'s metadata", file.id), e)),
    }
}

/// The audiobook edition with its tracks and chapters; not found for any other edition or an
/// audiobook without files yet.
#[tracing::instrument(
    level = "info",
    name = "service.files.audiobook",
    skip_all,
    fields(edition_id),
    err(level = "debug")
)]
pub async fn audiobook(db: &Database, edition_id: i64) -> ServiceResult<Audiobook> {
    let edition = super::catalog::editions::get(db, edition_id).await?;
    if edition.edition.format != EditionFormat::Audiobook {
        return Err(ServiceError::NotFound("audiobook edition".into()));
    }
    let tracks = metadata(db, edition_id).await?;
    if tracks.is_empty() {
        return Err(ServiceError::NotFound("audiobook file".into()));
    }
    let book = super::catalog::books::get(db, edition.edition.book_id).await?;
    Ok(Audiobook {
        chapters: chapters(&tracks),
        book,
        edition,
        tracks,
    })
}

/// The book's chapters: each track's own marks, and for a track without any, one chapter at
/// its start titled by its title tag or file name (so a book in tracks without marks has a
/// chapter per track).
fn chapters(tracks: &[(EditionFile, FileMetadata)]) -> Vec<BookChapter> {
    tracks
        .iter()
        .flat_map(|(file, read)| {
            if read.chapters.is_empty() {
                vec![BookChapter {
                    title: read.title.clone().unwrap_or_else(|| file.name.clone()),
                    file_id: file.id,
                    offset_seconds: 0.0,
                }]
            } else {
                read.chapters
                    .iter()
                    .map(|c| BookChapter {
                        title: c.title.clone(),
                        file_id: file.id,
                        offset_seconds: c.start_seconds,
                    })
                    .collect()
            }
        })
        .collect()
}

/// Where `seconds` from the start of the whole book falls: the track's position (1-based) and
/// the offset into it. Past the end is the end of the last track.
pub fn locate(durations: &[f64], seconds: f64) -> (usize, f64) {
    let mut start = 0.0;
    for (i, duration) in durations.iter().enumerate() {
        if seconds < start + duration || i + 1 == durations.len() {
            return (i + 1, (seconds - start).clamp(0.0, *duration));
        }
        start += duration;
    }
    (1, 0.0)
}

#[cfg(test)]
mod audiobook_tests {
    use super::*;

    #[test]
    fn a_position_in_the_whole_book_is_a_track_and_an_offset() {
        let tracks = [600.0, 300.0, 900.0];
        assert_eq!(locate(&tracks, 0.0), (1, 0.0));
        assert_eq!(locate(&tracks, 599.5), (1, 599.5));
        assert_eq!(locate(&tracks, 600.0), (2, 0.0));
        assert_eq!(locate(&tracks, 1000.0), (3, 100.0));
        assert_eq!(locate(&tracks, 5000.0), (3, 900.0));
    }
}
