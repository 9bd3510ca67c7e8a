//! `folio import files DIR`: a library folder's books, as Audiobookshelf, Komga and Calibre
//! users keep them. Each EPUB or PDF is an ebook edition; each folder of audio files (its
//! `Disc 1`, `CD 2` … folders included) is one audiobook edition with its tracks in natural
//! order (`2` before `10`), except that several M4B files side by side are one audiobook each.
//! An image in a folder (a `cover.jpg`) is the cover of its books when they have none.
//!
//! Files are judged by their bytes, like an upload. A book is matched by an ISBN its files
//! give, else by folded title and first author — the CSV imports' matching, one
//! implementation (`import::matching`) — else created. What the edition and book lack is
//! filled from the files. A second run finds every file's bytes already stored and adds
//! nothing; a run that stopped part-way is finished by running it again, since each book is
//! written whole in one unit of work. Files folio cannot read go to `DIR.rejects.csv`.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{CatalogWriter, ImportError, Outcome, rejects_path};
use crate::db::Database;
use crate::entity::enums::{EditionAccess, EditionFormat};
use crate::media::{self, Format};
use crate::repo::edition::EditionFields;
use crate::service::catalog::batch::{self, BookRecord, EditionRecord};
use crate::service::catalog::{editions, isbn};
use crate::service::files::{self, Judged, Upload};
use crate::service::{ServiceError, validate::Checked};
use crate::storage::{Staged, Storage};

#[derive(Debug, Clone, Copy, Default)]
pub struct ScanOptions {
    /// Judge and match everything, write nothing.
    pub dry_run: bool,
    /// Stop at the first file folio cannot take, before writing anything.
    pub strict: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanSummary {
    /// Books found in the folder (an ebook file, an audiobook folder).
    pub found: u64,
    /// Of those, added to a new book, or to one already in the catalog.
    pub created: u64,
    pub matched: u64,
    /// Already imported: every file's bytes are stored.
    pub unchanged: u64,
    /// Files folio could not take (each a line in the rejects file).
    pub rejected: u64,
}

/// A book as the folder holds it: its edition's kind and files in order.
#[derive(Debug, Clone, PartialEq)]
struct Unit {
    format: EditionFormat,
    files: Vec<PathBuf>,
    /// What to call it when its files name no title: the file's or folder's name.
    fallback_title: String,
    /// An image beside it, for a cover.
    cover: Option<PathBuf>,
}

/// Scans `dir` into the catalog.
pub async fn scan(
    db: &Database,
    storage: &Storage,
    dir: &Path,
    options: ScanOptions,
) -> Result<ScanSummary, ImportError> {
    let read_error = |path: &Path, e: std::io::Error| ImportError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let (units, unreadable) = plan(dir).map_err(|(path, e)| read_error(&path, e))?;
    let mut rejects = Rejects::new(rejects_path(dir));
    let mut summary = ScanSummary {
        found: units.len() as u64,
        ..Default::default()
    };
    for (path, reason) in unreadable {
        if options.strict {
            return Err(ImportError::Strict {
                row: 0,
                reason: format!("{}: {reason}", path.display()),
            });
        }
        summary.rejected += 1;
        rejects.write(&path, &reason)?;
    }
    let mut writer = CatalogWriter::load(db).await?;
    // A bar on a terminal; a log line per book otherwise.
    let bar = std::io::IsTerminal::is_terminal(&std::io::stderr())
        .then(|| indicatif::ProgressBar::new(units.len() as u64));
    for (i, unit) in units.iter().enumerate() {
        match &bar {
            Some(bar) => bar.set_position(i as u64),
            None => tracing::info!(
                book = i + 1,
                of = units.len(),
                path = %unit.files[0].display(),
                "scanning"
            ),
        }
        let staged = stage_all(storage, &unit.files).await?;
        let hashes: Vec<String> = staged.iter().map(|s| s.hash().to_string()).collect();
        let held = files::holding(db, &hashes).await?;
        if hashes.iter().all(|h| held.iter().any(|f| &f.sha256 == h)) {
            summary.unchanged += 1;
            continue;
        }
        let mut judged = vec![];
        let mut refused = vec![];
        for (path, staged) in unit.files.iter().zip(staged) {
            let upload = Upload {
                name: path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                staged,
            };
            match files::judge(upload).await? {
                Ok(j) => match files::fits_edition(unit.format, &j) {
                    Ok(()) => judged.push(j),
                    Err(why) => refused.push((path.clone(), why)),
                },
                Err(why) => refused.push((path.clone(), why)),
            }
        }
        if !refused.is_empty() {
            reject_unit(&mut rejects, &mut summary, unit, &refused, options)?;
            continue;
        }
        let record = match record_of(unit, &judged) {
            Ok(record) => record,
            Err(why) => {
                let refused = [(unit.files[0].clone(), why)];
                reject_unit(&mut rejects, &mut summary, unit, &refused, options)?;
                continue;
            }
        };
        if options.dry_run {
            println!(
                "would import {} as '{}' by {} ({} files)",
                unit.files[0].display(),
                record.title,
                record.authors.join(", "),
                judged.len()
            );
            // Counted as to be created: a dry run does not match.
            summary.created += 1;
            continue;
        }
        match write(db, storage, &mut writer, unit, record, judged).await? {
            Outcome::Created => summary.created += 1,
            Outcome::Matched => summary.matched += 1,
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    rejects.finish()?;
    Ok(summary)
}

/// Files refused: each with its reason, the rest of its book with the reason it was left.
fn reject_unit(
    rejects: &mut Rejects,
    summary: &mut ScanSummary,
    unit: &Unit,
    refused: &[(PathBuf, String)],
    options: ScanOptions,
) -> Result<(), ImportError> {
    if options.strict {
        let (path, reason) = &refused[0];
        return Err(ImportError::Strict {
            row: 0,
            reason: format!("{}: {reason}", path.display()),
        });
    }
    for (path, reason) in refused {
        summary.rejected += 1;
        rejects.write(path, reason)?;
    }
    for path in &unit.files {
        if !refused.iter().any(|(p, _)| p == path) {
            summary.rejected += 1;
            rejects.write(
                path,
                "left out: another file of the same book could not be read",
            )?;
        }
    }
    Ok(())
}

/// Stores the book's files, then writes the book (matched or new), its edition, the files'
/// rows and what the files say, in one unit of work; then its cover.
async fn write(
    db: &Database,
    storage: &Storage,
    writer: &mut CatalogWriter,
    unit: &Unit,
    record: Checked<BookRecord>,
    judged: Vec<Judged>,
) -> Result<Outcome, ImportError> {
    let rows = files::store(storage, &judged).await?;
    let read: Vec<media::Metadata> = judged
        .iter()
        .map(|j| j.inspected.metadata.clone())
        .collect();
    let work = db.begin().await?;
    let written = writer.write_batch(&work, &[&record]).await?.remove(0);
    let matching_edition = match written.edition_id {
        Some(id) if written.outcome == Outcome::Created => Some(id),
        Some(id) => editions::get(db, id)
            .await
            .ok()
            .filter(|e| e.edition.format == unit.format)
            .map(|_| id),
        None => None,
    };
    let edition_id = match matching_edition {
        Some(id) => id,
        None => {
            let fields = editions::checked(EditionFields {
                format: unit.format,
                isbn: None,
                catalog_number: None,
                publisher: None,
                release_date: None,
                language: None,
                pages: None,
                duration_seconds: None,
                price_minor: None,
                currency: None,
                access: EditionAccess::default(),
                title: None,
                subtitle: None,
            })?;
            batch::add_edition(&work, written.book_id, fields).await?
        }
    };
    files::attach_in(&work, edition_id, rows).await?;
    files::apply_in(&work, edition_id, &read).await?;
    work.commit().await?;
    if let Some(cover) = &unit.cover
        && let Ok(image) = std::fs::read(cover)
    {
        crate::service::covers::offer_image(db, storage, written.book_id, image).await;
    }
    files::offer_cover(db, storage, written.book_id, &judged).await;
    Ok(written.outcome)
}

/// The book the files describe, held to the catalog's rules: title, authors, language and
/// the edition's ISBN, publisher and pages from the first file that gives each. A value the
/// rules refuse is dropped rather than losing the book.
fn record_of(unit: &Unit, judged: &[Judged]) -> Result<Checked<BookRecord>, String> {
    let read: Vec<&media::Metadata> = judged.iter().map(|j| &j.inspected.metadata).collect();
    let audio = unit.format == EditionFormat::Audiobook;
    let title = read
        .iter()
        .find_map(|m| {
            if audio {
                m.album.clone().or(m.title.clone())
            } else {
                m.title.clone()
            }
        })
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| unit.fallback_title.clone());
    let mut authors: Vec<String> = vec![];
    for creator in read.iter().flat_map(|m| m.creators.iter()) {
        if creator.role == media::Role::Author && !authors.contains(&creator.name) {
            authors.push(creator.name.clone());
        }
    }
    if authors.is_empty() {
        authors.push("Unknown author".into());
    }
    let isbn = read
        .iter()
        .flat_map(|m| m.isbn_candidates.iter())
        .find_map(|c| isbn::normalize(c).ok());
    let record = BookRecord {
        title: title.chars().take(500).collect(),
        subtitle: read.iter().find_map(|m| m.subtitle.clone()),
        description: None,
        authors: authors.into_iter().take(20).collect(),
        original_year: None,
        language: read.iter().find_map(|m| m.language.clone()),
        series: None,
        series_number: None,
        popularity_prior: 0,
        edition: Some(EditionRecord {
            format: unit.format,
            isbn,
            catalog_number: None,
            publisher: read.iter().find_map(|m| m.publisher.clone()),
            pages: read
                .iter()
                .find_map(|m| m.pages)
                .map(|p| p.min(100_000) as i32),
            // The book is made from the files: their title is the book's.
            title: None,
        }),
    };
    let attempts = [
        record.clone(),
        BookRecord {
            subtitle: None,
            language: None,
            edition: record.edition.clone().map(|e| EditionRecord {
                publisher: None,
                pages: None,
                ..e
            }),
            ..record.clone()
        },
    ];
    let mut last = String::new();
    for attempt in attempts {
        match batch::check(attempt) {
            Ok(checked) => return Ok(checked),
            Err(e) => last = super::reason(e),
        }
    }
    Err(format!("its metadata does not make a book: {last}"))
}

/// Copies each file into an upload, hashing it on the way, as an upload over HTTP is.
async fn stage_all(storage: &Storage, paths: &[PathBuf]) -> Result<Vec<Staged>, ImportError> {
    let mut staged = Vec::with_capacity(paths.len());
    for path in paths {
        let failed = |e: &dyn std::fmt::Display| ImportError::Read {
            path: path.clone(),
            message: e.to_string(),
        };
        let mut staging = storage
            .stage(u64::MAX)
            .await
            .map_err(|e| ImportError::from(ServiceError::from(e)))?;
        let mut file = tokio::fs::File::open(path).await.map_err(|e| failed(&e))?;
        let mut buffer = vec![0; 256 * 1024];
        loop {
            let read = tokio::io::AsyncReadExt::read(&mut file, &mut buffer)
                .await
                .map_err(|e| failed(&e))?;
            if read == 0 {
                break;
            }
            staging
                .write(&buffer[..read])
                .await
                .map_err(|e| failed(&e))?;
        }
        staged.push(
            staging
                .finish()
                .await
                .map_err(|e| ImportError::from(ServiceError::from(e)))?,
        );
    }
    Ok(staged)
}

/// What the folder holds: its books, and the files that are none (path, reason).
#[allow(clippy::type_complexity)]
fn plan(dir: &Path) -> Result<(Vec<Unit>, Vec<(PathBuf, String)>), (PathBuf, std::io::Error)> {
    let mut found = vec![];
    walk(dir, &mut found)?;
    let mut ebooks = vec![];
    let mut audio: BTreeMap<PathBuf, Vec<(u32, PathBuf, Format)>> = BTreeMap::new();
    let mut images: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    let mut unreadable = vec![];
    for path in found {
        let format = match media::sniff::sniff_file(&path) {
            Ok(format) => format,
            Err(e) => {
                unreadable.push((path, format!("could not be read: {e}")));
                continue;
            }
        };
        let folder = path.parent().unwrap_or(dir).to_path_buf();
        match format {
            Some(f) if f.is_ebook() => ebooks.push(path),
            Some(f) if f.is_audio() => {
                let (book_folder, disc) = match disc_number(&folder) {
                    Some(disc) => (folder.parent().unwrap_or(dir).to_path_buf(), disc),
                    None => (folder, 0),
                };
                audio.entry(book_folder).or_default().push((disc, path, f));
            }
            Some(_) => images.entry(folder).or_default().push(path),
            None => unreadable.push((
                path,
                "is not a file folio takes (EPUB, PDF, MP3, M4B/M4A, Ogg/Opus, FLAC)".into(),
            )),
        }
    }
    let cover_of = |folder: &Path| images.get(folder).map(|found| pick_cover(found));
    let mut units = vec![];
    for path in ebooks {
        let folder = path.parent().unwrap_or(dir);
        units.push(Unit {
            format: EditionFormat::Ebook,
            fallback_title: name_of(&path, true),
            cover: cover_of(folder),
            files: vec![path],
        });
    }
    for (folder, mut tracks) in audio {
        tracks.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| natural(&a.1, &b.1)));
        let separate = tracks.len() > 1 && tracks.iter().all(|t| t.2 == Format::Mp4Audio);
        let cover = cover_of(&folder);
        if separate {
            for (_, path, _) in tracks {
                units.push(Unit {
                    format: EditionFormat::Audiobook,
                    fallback_title: name_of(&path, true),
                    cover: cover.clone(),
                    files: vec![path],
                });
            }
        } else {
            units.push(Unit {
                format: EditionFormat::Audiobook,
                fallback_title: name_of(&folder, false),
                cover,
                files: tracks.into_iter().map(|(_, path, _)| path).collect(),
            });
        }
    }
    units.sort_by(|a, b| natural(&a.files[0], &b.files[0]));
    Ok((units, unreadable))
}

/// Every regular file under `dir`, hidden ones and symbolic links left out.
fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), (PathBuf, std::io::Error)> {
    let entries = std::fs::read_dir(dir).map_err(|e| (dir.to_path_buf(), e))?;
    let mut entries: Vec<_> = entries
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let kind = entry.file_type().map_err(|e| (entry.path(), e))?;
        if kind.is_dir() {
            walk(&entry.path(), found)?;
        } else if kind.is_file() {
            found.push(entry.path());
        }
    }
    Ok(())
}

/// The disc a folder holds, when its name says so: `Disc 1`, `CD2`, `disk_03`.
fn disc_number(folder: &Path) -> Option<u32> {
    let name = folder.file_name()?.to_string_lossy().to_lowercase();
    let rest = ["disc", "disk", "cd"]
        .iter()
        .find_map(|prefix| name.strip_prefix(prefix))?;
    rest.trim_start_matches([' ', '_', '-', '.']).parse().ok()
}

/// The image most likely meant as the cover: one named so, else the first.
fn pick_cover(images: &[PathBuf]) -> PathBuf {
    images
        .iter()
        .find(|p| {
            let stem = p
                .file_stem()
                .map(|s| s.to_string_lossy().to_lowercase())
                .unwrap_or_default();
            ["cover", "folder", "front"].contains(&stem.as_str())
        })
        .unwrap_or(&images[0])
        .clone()
}

/// A file's or folder's name as a title: without its extension, `_` as spaces.
fn name_of(path: &Path, strip_extension: bool) -> String {
    let name = match strip_extension {
        true => path.file_stem(),
        false => path.file_name(),
    };
    let name = name
        .map(|n| n.to_string_lossy().replace('_', " "))
        .unwrap_or_default();
    let name = name.trim();
    if name.is_empty() {
        "Untitled".into()
    } else {
        name.to_string()
    }
}

/// Natural order: runs of digits compare as numbers, so `Track 2` comes before `Track 10`.
fn natural(a: &Path, b: &Path) -> Ordering {
    natural_key(&a.to_string_lossy()).cmp(&natural_key(&b.to_string_lossy()))
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Chunk {
    Number(u64, usize),
    Text(String),
}

fn natural_key(text: &str) -> Vec<Chunk> {
    let mut chunks = vec![];
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_ascii_digit() {
            let mut digits = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(d);
                chars.next();
            }
            // Leading zeros break ties, so `01` and `1` still have an order.
            chunks.push(Chunk::Number(
                digits.parse().unwrap_or(u64::MAX),
                digits.len(),
            ));
        } else {
            let mut text = String::new();
            while let Some(&t) = chars.peek().filter(|t| !t.is_ascii_digit()) {
                text.extend(t.to_lowercase());
                chars.next();
            }
            chunks.push(Chunk::Text(text));
        }
    }
    chunks
}

/// `DIR.rejects.csv`: the import's rejects file, a file's path and why it was not imported.
struct Rejects(super::rejects::Rejects);

impl Rejects {
    fn new(path: PathBuf) -> Self {
        Self(super::rejects::Rejects::new(
            path,
            csv::StringRecord::from(vec!["path"]),
        ))
    }

    fn write(&mut self, file: &Path, reason: &str) -> Result<(), ImportError> {
        let path = file.to_string_lossy();
        self.0
            .write(&csv::ByteRecord::from(vec![path.as_ref()]), reason)
    }

    fn finish(self) -> Result<(), ImportError> {
        self.0.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_sort_in_natural_order_and_disc_folders_count() {
        let mut names = vec!["Track 10.mp3", "Track 2.mp3", "track 1.mp3", "Track 02.mp3"];
        names.sort_by(|a, b| natural(Path::new(a), Path::new(b)));
        assert_eq!(
            names,
            ["track 1.mp3", "Track 2.mp3", "Track 02.mp3", "Track 10.mp3"]
        );
        assert_eq!(disc_number(Path::new("/lib/Dune/Disc 2")), Some(2));
        assert_eq!(disc_number(Path::new("/lib/Dune/CD03")), Some(3));
        assert_eq!(disc_number(Path::new("/lib/Dune/disk_1")), Some(1));
        assert_eq!(disc_number(Path::new("/lib/Discworld")), None);
        assert_eq!(
            name_of(Path::new("/lib/The_Hobbit.epub"), true),
            "The Hobbit"
        );
    }
}
