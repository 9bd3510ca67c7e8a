//! Reading EPUB files: the OCF container (a ZIP), its package document (the OPF), the table
//! of contents (EPUB 3 nav or EPUB 2 NCX) and the cover.
//!
//! The archive is untrusted. It is read through its central directory (so a truncated file,
//! which loses the directory at its end, is refused), with the number of entries capped, and
//! every entry read is capped before it is inflated: an entry declaring more than the cap is
//! not read at all, and one inflating past what it declares is stopped by the `zip` crate
//! (`Crc32Reader` errors once an entry yields more than its declared size), so a ZIP bomb
//! costs at most the cap in memory.

pub mod href;
mod html;
mod xml;

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use zip::ZipArchive;

use self::xml::Element;
use super::{Creator, Format, MAX_PICTURE_BYTES, MediaError, Metadata, Picture, Role, TocEntry};

/// The most entries an EPUB may hold. Large illustrated books have a few thousand. The zip
/// crate has read the directory by the time this is checked; that costs memory in proportion
/// to the file's size (each record takes at least 46 bytes of it), not to what it claims.
const MAX_ENTRIES: usize = 10_000;

/// The most bytes read from one XML document (container, package, nav, NCX).
const MAX_XML_BYTES: u64 = 4 * 1024 * 1024;

const MIMETYPE: &str = "application/epub+zip";
const CONTAINER: &str = "META-INF/container.xml";
const NCX_MEDIA_TYPE: &str = "application/x-dtbncx+xml";

/// Checks that the file at `path` is a whole, readable EPUB and reads its metadata.
pub fn read(path: &Path) -> Result<Metadata, MediaError> {
    let mut book = Archive::open(path)?;
    book.check_mimetype()?;
    let opf_path = book.rootfile()?;
    let package = book.package(&opf_path)?;
    let mut metadata = package.metadata();
    metadata.cover = package
        .cover_path()
        .and_then(|path| book.read_entry(&path, MAX_PICTURE_BYTES).ok())
        .map(|bytes| Picture { bytes });
    metadata.toc = table_of_contents(&mut book, &package);
    metadata.spine_sizes = package
        .spine
        .iter()
        .map(|document| book.declared_size(document).unwrap_or(0))
        .collect();
    Ok(metadata)
}

/// The most bytes of one spine document or resource the reader serves.
pub const MAX_DOCUMENT_BYTES: u64 = 16 * 1024 * 1024;

/// An EPUB opened for reading page by page: its spine, its table of contents, and its
/// documents and resources by their paths in the archive. Only what the package's manifest
/// lists can be fetched, so nothing else in the archive is reachable through it.
pub struct Book {
    archive: Archive,
    package: Package,
    toc: Vec<TocEntry>,
}

impl Book {
    pub fn open(path: &Path) -> Result<Book, MediaError> {
        let mut archive = Archive::open(path)?;
        archive.check_mimetype()?;
        let opf_path = archive.rootfile()?;
        let package = archive.package(&opf_path)?;
        let toc = table_of_contents(&mut archive, &package);
        Ok(Book {
            archive,
            package,
            toc,
        })
    }

    /// The spine documents' paths, in reading order.
    pub fn spine(&self) -> &[String] {
        &self.package.spine
    }

    pub fn toc(&self) -> &[TocEntry] {
        &self.toc
    }

    /// The spine documents' uncompressed sizes: where a fraction of the book falls.
    pub fn spine_sizes(&mut self) -> Vec<u64> {
        let spine = self.package.spine.clone();
        spine
            .iter()
            .map(|document| self.archive.declared_size(document).unwrap_or(0))
            .collect()
    }

    /// A manifest item's bytes and media type; `None` for a path the manifest does not list,
    /// one missing from the archive, or one larger than [`MAX_DOCUMENT_BYTES`].
    pub fn item(&mut self, path: &str) -> Option<(Vec<u8>, String)> {
        let media_type = self
            .package
            .manifest
            .iter()
            .find(|item| item.path == path)?
            .media_type
            .clone();
        let bytes = self.archive.read_entry(path, MAX_DOCUMENT_BYTES).ok()?;
        Some((bytes, media_type))
    }
}

fn damaged(reason: impl Into<String>) -> MediaError {
    MediaError::damaged(Format::Epub, reason)
}

/// Why one entry could not be read.
#[derive(Debug)]
enum EntryError {
    Missing,
    /// It declares more than the cap allows; nothing was inflated.
    TooLarge,
    /// It does not inflate, inflates past its declared size, or fails its checksum.
    Unreadable(String),
}

struct Archive {
    zip: ZipArchive<BufReader<File>>,
}

impl Archive {
    fn open(path: &Path) -> Result<Archive, MediaError> {
        let file = File::open(path)?;
        let zip = ZipArchive::new(BufReader::new(file))
            .map_err(|_| damaged("its ZIP directory is missing or damaged (a truncated file?)"))?;
        if zip.len() > MAX_ENTRIES {
            return Err(damaged(format!(
                "holds {} files, more than the {MAX_ENTRIES} folio reads",
                zip.len()
            )));
        }
        Ok(Archive { zip })
    }

    /// The uncompressed size the entry named `name` declares, without inflating it.
    fn declared_size(&mut self, name: &str) -> Option<u64> {
        let index = self.zip.index_for_name(name)?;
        self.zip.by_index_raw(index).ok().map(|entry| entry.size())
    }

    /// The bytes of the entry named `name`, refused when it declares more than `cap` bytes.
    fn read_entry(&mut self, name: &str, cap: u64) -> Result<Vec<u8>, EntryError> {
        let index = self.zip.index_for_name(name).ok_or(EntryError::Missing)?;
        let entry = self
            .zip
            .by_index(index)
            .map_err(|e| EntryError::Unreadable(e.to_string()))?;
        let declared = entry.size();
        if declared > cap {
            return Err(EntryError::TooLarge);
        }
        // `declared` is at most `cap`, so reserving it is bounded too.
        let mut bytes = Vec::with_capacity(usize::try_from(declared).unwrap_or(0));
        // The crate stops at the declared size; the `take` bounds the read on its own as well.
        entry
            .take(cap + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| EntryError::Unreadable(e.to_string()))?;
        if bytes.len() as u64 > cap {
            return Err(EntryError::TooLarge);
        }
        Ok(bytes)
    }

    /// An XML entry parsed, or why not, worded for the client: `what` names the document in
    /// the message ("package document (EPUB/content.opf)").
    fn read_xml(&mut self, name: &str, what: &str) -> Result<Element, MediaError> {
        let bytes = self.read_entry(name, MAX_XML_BYTES).map_err(|e| match e {
            EntryError::Missing => damaged(format!("has no {what}")),
            EntryError::TooLarge => damaged(format!(
                "its {what} is larger than the {} MiB folio reads",
                MAX_XML_BYTES / (1024 * 1024)
            )),
            EntryError::Unreadable(reason) => {
                damaged(format!("its {what} does not unpack: {reason}"))
            }
        })?;
        xml::parse(&bytes).map_err(|e| damaged(format!("its {what} does not parse: {e}")))
    }

    /// The OCF rule: a `mimetype` entry holding exactly `application/epub+zip`.
    fn check_mimetype(&mut self) -> Result<(), MediaError> {
        match self.read_entry("mimetype", 64) {
            Ok(bytes) if bytes.trim_ascii() == MIMETYPE.as_bytes() => Ok(()),
            Ok(_) | Err(EntryError::TooLarge) => Err(damaged(format!(
                "its mimetype entry does not say {MIMETYPE}"
            ))),
            Err(EntryError::Missing) => Err(damaged("has no mimetype entry")),
            Err(EntryError::Unreadable(reason)) => Err(damaged(format!(
                "its mimetype entry does not unpack: {reason}"
            ))),
        }
    }

    /// The package document `META-INF/container.xml` names (the first rootfile of the OPF
    /// type, else the first rootfile).
    fn rootfile(&mut self) -> Result<String, MediaError> {
        let container = self.read_xml(CONTAINER, CONTAINER)?;
        let rootfiles: Vec<&Element> = container
            .descendants()
            .into_iter()
            .filter(|e| e.name == "rootfile" && e.attr("full-path").is_some())
            .collect();
        rootfiles
            .iter()
            .find(|e| e.attr("media-type") == Some("application/oebps-package+xml"))
            .or(rootfiles.first())
            .and_then(|e| e.attr("full-path"))
            .map(|path| path.trim_start_matches('/').to_owned())
            .ok_or_else(|| damaged("its META-INF/container.xml names no package document"))
    }

    fn package(&mut self, opf_path: &str) -> Result<Package, MediaError> {
        let what = format!("package document ({opf_path})");
        let root = self.read_xml(opf_path, &what)?;
        if root.name != "package" {
            return Err(damaged(format!(
                "its {what} does not parse: the root is <{}>, not <package>",
                root.name
            )));
        }
        Ok(Package::new(opf_path, root))
    }
}

/// A manifest item, its href resolved from the archive's root.
struct Item {
    id: String,
    path: String,
    media_type: String,
    properties: String,
}

impl Item {
    fn has_property(&self, property: &str) -> bool {
        self.properties
            .split_ascii_whitespace()
            .any(|p| p == property)
    }
}

/// The package document, read. Lookups by id and by path go through maps: a 4 MiB package
/// document can list tens of thousands of items, and a nav as many entries.
struct Package {
    opf_path: String,
    root: Element,
    manifest: Vec<Item>,
    /// Manifest indexes by item id (the first item with an id wins).
    items_by_id: HashMap<String, usize>,
    /// Each spine document (from the archive's root) and its first place in reading order.
    spine_positions: HashMap<String, u32>,
    /// The spine documents in reading order.
    spine: Vec<String>,
    /// The manifest id the spine names as its NCX (EPUB 2).
    spine_toc: Option<String>,
}

impl Package {
    fn new(opf_path: &str, root: Element) -> Package {
        let manifest: Vec<Item> = root
            .child("manifest")
            .into_iter()
            .flat_map(|m| m.children_named("item"))
            .filter_map(|item| {
                Some(Item {
                    id: item.attr("id")?.to_owned(),
                    path: href::resolve(opf_path, item.attr("href")?)?,
                    media_type: item.attr("media-type").unwrap_or_default().to_owned(),
                    properties: item.attr("properties").unwrap_or_default().to_owned(),
                })
            })
            .collect();
        let mut items_by_id = HashMap::new();
        for (index, item) in manifest.iter().enumerate() {
            items_by_id.entry(item.id.clone()).or_insert(index);
        }
        let spine_element = root.child("spine");
        let mut spine_positions = HashMap::new();
        let spine: Vec<String> = spine_element
            .into_iter()
            .flat_map(|s| s.children_named("itemref"))
            .filter_map(|itemref| items_by_id.get(itemref.attr("idref")?))
            .map(|&index| href::split_fragment(&manifest[index].path).0.to_owned())
            .collect();
        for (position, document) in spine.iter().enumerate() {
            if let Ok(position) = u32::try_from(position) {
                spine_positions.entry(document.clone()).or_insert(position);
            }
        }
        let spine_toc = spine_element.and_then(|s| s.attr("toc")).map(str::to_owned);
        Package {
            opf_path: opf_path.to_owned(),
            root,
            manifest,
            items_by_id,
            spine_positions,
            spine,
            spine_toc,
        }
    }

    fn opf_dir(&self) -> &str {
        href::parent(&self.opf_path)
    }

    fn item(&self, id: &str) -> Option<&Item> {
        self.items_by_id.get(id).map(|&index| &self.manifest[index])
    }

    /// The metadata section's elements, flattened: OPF 2 files sometimes nest them in
    /// `dc-metadata`/`x-metadata`.
    fn metadata_elements(&self) -> Vec<&Element> {
        self.root
            .child("metadata")
            .map(Element::descendants)
            .unwrap_or_default()
    }

    fn metadata(&self) -> Metadata {
        let elements = self.metadata_elements();
        let refinements = Refinements::new(&elements);
        let first_text = |name: &str| {
            elements
                .iter()
                .filter(|e| e.name == name)
                .map(|e| e.text())
                .find(|text| !text.is_empty())
        };
        let (title, subtitle) = titles(&elements, &refinements);
        Metadata {
            title,
            subtitle,
            creators: creators(&elements, &refinements),
            language: first_text("language"),
            isbn_candidates: isbn_candidates(&elements, &refinements),
            publisher: first_text("publisher"),
            date: publication_date(&elements),
            description: elements
                .iter()
                .filter(|e| e.name == "description")
                .map(|e| html::to_text(&e.raw_text()))
                .find(|text| !text.is_empty()),
            ..Metadata::default()
        }
    }

    /// The cover image: EPUB 3's `cover-image` item, else EPUB 2's `<meta name="cover">`.
    fn cover_path(&self) -> Option<String> {
        let epub3 = self.manifest.iter().find(|i| i.has_property("cover-image"));
        let epub2 = || {
            self.metadata_elements()
                .into_iter()
                .find(|e| e.name == "meta" && e.attr("name") == Some("cover"))
                .and_then(|meta| meta.attr("content"))
                .and_then(|id| self.item(id.trim()))
        };
        epub3
            .or_else(epub2)
            .map(|item| href::split_fragment(&item.path).0.to_owned())
    }

    fn nav_path(&self) -> Option<&str> {
        self.manifest
            .iter()
            .find(|item| item.has_property("nav"))
            .map(|item| item.path.as_str())
    }

    fn ncx_path(&self) -> Option<&str> {
        self.spine_toc
            .as_deref()
            .and_then(|id| self.item(id))
            .or_else(|| {
                self.manifest
                    .iter()
                    .find(|item| item.media_type == NCX_MEDIA_TYPE)
            })
            .map(|item| item.path.as_str())
    }

    /// A table of contents entry, its target resolved from `document` (the nav or NCX).
    fn toc_entry(
        &self,
        document: &str,
        title: String,
        target: &str,
        depth: usize,
    ) -> Option<TocEntry> {
        let resolved = href::resolve(document, target)?;
        let file = href::split_fragment(&resolved).0;
        let spine_position = self.spine_positions.get(file).copied();
        Some(TocEntry {
            title,
            href: href::relative_to(self.opf_dir(), &resolved),
            spine_position,
            depth: u8::try_from(depth).unwrap_or(u8::MAX),
        })
    }
}

/// The `dc:date` an EPUB 2 file marks as the publication's (`opf:event="publication"`), else
/// the first one: EPUB 3 has only one, and EPUB 2 files may also list creation and
/// modification dates.
fn publication_date(elements: &[&Element]) -> Option<String> {
    let dates: Vec<&&Element> = elements.iter().filter(|e| e.name == "date").collect();
    dates
        .iter()
        .find(|e| e.attr("event") == Some("publication"))
        .or(dates.first())
        .map(|e| e.text())
        .filter(|text| !text.is_empty())
}

/// EPUB 3 `<meta refines="#id" property="…">` statements, by the id they refine.
struct Refinements<'a> {
    by_id: HashMap<&'a str, Vec<&'a Element>>,
}

impl<'a> Refinements<'a> {
    fn new(elements: &[&'a Element]) -> Refinements<'a> {
        let mut by_id: HashMap<&str, Vec<&Element>> = HashMap::new();
        for meta in elements.iter().filter(|e| e.name == "meta") {
            if let (Some(target), Some(_)) = (meta.attr("refines"), meta.attr("property")) {
                by_id
                    .entry(target.trim().trim_start_matches('#'))
                    .or_default()
                    .push(meta);
            }
        }
        Refinements { by_id }
    }

    /// The value of `property` refining `element`, and the scheme it is written in.
    fn get(&self, element: &Element, property: &str) -> Option<(String, Option<&'a str>)> {
        self.by_id
            .get(element.attr("id")?)?
            .iter()
            .find(|meta| meta.attr("property") == Some(property))
            .map(|meta| (meta.text(), meta.attr("scheme")))
    }
}

/// The title (the first `dc:title` not refined as something else) and the subtitle (a
/// `dc:title` refined as `title-type` subtitle).
fn titles(
    elements: &[&Element],
    refinements: &Refinements<'_>,
) -> (Option<String>, Option<String>) {
    let typed: Vec<(String, Option<String>)> = elements
        .iter()
        .filter(|e| e.name == "title")
        .map(|e| (e.text(), refinements.get(e, "title-type").map(|(t, _)| t)))
        .filter(|(text, _)| !text.is_empty())
        .collect();
    let is_subtitle = |kind: &Option<String>| kind.as_deref() == Some("subtitle");
    let title = typed
        .iter()
        .find(|(_, kind)| !is_subtitle(kind))
        .map(|(text, _)| text.clone());
    let subtitle = typed
        .iter()
        .find(|(_, kind)| is_subtitle(kind))
        .map(|(text, _)| text.clone());
    (title, subtitle)
}

fn creators(elements: &[&Element], refinements: &Refinements<'_>) -> Vec<Creator> {
    elements
        .iter()
        .filter(|e| e.name == "creator" || e.name == "contributor")
        .filter_map(|e| {
            let name = e.text();
            if name.is_empty() {
                return None;
            }
            // EPUB 2 writes `opf:role`; EPUB 3 refines the element with a MARC relator.
            let code = e
                .attr("role")
                .map(str::to_owned)
                .or_else(|| refinements.get(e, "role").map(|(code, _)| code));
            let role = match code {
                Some(code) => role_from_marc(&code),
                None if e.name == "creator" => Role::Author,
                None => Role::Other,
            };
            Some(Creator { name, role })
        })
        .collect()
}

/// A MARC relator code (<https://id.loc.gov/vocabulary/relators>) as a role.
fn role_from_marc(code: &str) -> Role {
    match code.trim().to_ascii_lowercase().as_str() {
        "aut" => Role::Author,
        "nrt" => Role::Narrator,
        "trl" => Role::Translator,
        "edt" => Role::Editor,
        "ill" => Role::Illustrator,
        _ => Role::Other,
    }
}

fn isbn_candidates(elements: &[&Element], refinements: &Refinements<'_>) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for identifier in elements.iter().filter(|e| e.name == "identifier") {
        let scheme = identifier_scheme(identifier, refinements);
        if let Some(isbn) = isbn_candidate(&identifier.text(), scheme)
            && seen.insert(isbn.clone())
        {
            found.push(isbn);
        }
    }
    found
}

/// What an identifier's markup says it is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scheme {
    /// EPUB 2's `opf:scheme="ISBN"` (or `ISBN-13`), or an EPUB 3 `identifier-type` in ONIX
    /// code list 5 of 02 (ISBN-10) or 15 (ISBN-13).
    Isbn,
    /// Another scheme is named (`calibre`, `uuid`, a DOI): its digits are not an ISBN.
    Other,
    Unstated,
}

fn identifier_scheme(identifier: &Element, refinements: &Refinements<'_>) -> Scheme {
    if let Some(scheme) = identifier.attr("scheme") {
        return if scheme.trim().to_ascii_uppercase().starts_with("ISBN") {
            Scheme::Isbn
        } else {
            Scheme::Other
        };
    }
    match refinements.get(identifier, "identifier-type") {
        Some((value, Some("onix:codelist5"))) if matches!(value.as_str(), "02" | "15") => {
            Scheme::Isbn
        }
        Some(_) => Scheme::Other,
        None => Scheme::Unstated,
    }
}

/// An identifier reduced to an ISBN's digits (and a final `X`) when it says it is one
/// (`urn:isbn:…`, `isbn:…`, `ISBN …`, or by its markup) and has the length of one, or when,
/// with no scheme stated, it is bare digits shaped like one (13 starting 978/979, or 10).
/// Check digits are the caller's to verify.
fn isbn_candidate(text: &str, scheme: Scheme) -> Option<String> {
    let lower = text.trim().to_ascii_lowercase();
    let (rest, prefixed) = strip_isbn_prefix(&lower);
    let compact: Vec<u8> = rest
        .bytes()
        .filter(|b| !matches!(b, b'-' | b' '))
        .map(|b| b.to_ascii_uppercase())
        .collect();
    let shaped = |len: usize, final_x: bool| match compact.split_last() {
        Some((&last, body)) => {
            compact.len() == len
                && body.iter().all(u8::is_ascii_digit)
                && (last.is_ascii_digit() || (final_x && last == b'X'))
        }
        None => false,
    };
    let isbn13 = shaped(13, false);
    let isbn10 = shaped(10, true);
    let accept = if prefixed || scheme == Scheme::Isbn {
        isbn13 || isbn10
    } else if scheme == Scheme::Unstated {
        (isbn13 && (compact.starts_with(b"978") || compact.starts_with(b"979"))) || isbn10
    } else {
        false
    };
    // Only ASCII digits and `X` are left when accepted.
    accept.then(|| String::from_utf8_lossy(&compact).into_owned())
}

/// `urn:isbn:`, `isbn:`, `isbn `, `isbn-13: ` and the like taken off a lowercased identifier;
/// true when one was there.
fn strip_isbn_prefix(lower: &str) -> (&str, bool) {
    if let Some(rest) = lower.strip_prefix("urn:isbn:") {
        return (rest, true);
    }
    let Some(rest) = lower.strip_prefix("isbn") else {
        return (lower, false);
    };
    let rest = rest
        .strip_prefix("-13")
        .or_else(|| rest.strip_prefix("-10"))
        .unwrap_or(rest);
    (rest.trim_start_matches([':', ' ']), true)
}

/// The table of contents: the EPUB 3 nav's `toc`, else the EPUB 2 NCX. A missing or broken
/// one leaves the list empty; the book is still readable.
fn table_of_contents(book: &mut Archive, package: &Package) -> Vec<TocEntry> {
    let from_nav = package
        .nav_path()
        .and_then(|path| Some((path, book.read_xml(path, "navigation document").ok()?)))
        .map(|(path, nav)| nav_entries(package, path, &nav))
        .unwrap_or_default();
    if !from_nav.is_empty() {
        return from_nav;
    }
    package
        .ncx_path()
        .and_then(|path| Some((path, book.read_xml(path, "NCX").ok()?)))
        .map(|(path, ncx)| ncx_entries(package, path, &ncx))
        .unwrap_or_default()
}

/// The `<nav epub:type="toc">`'s nested lists.
fn nav_entries(package: &Package, nav_path: &str, document: &Element) -> Vec<TocEntry> {
    let mut entries = Vec::new();
    let toc = document
        .descendants()
        .into_iter()
        .find(|e| e.name == "nav" && e.attr_has_token("type", "toc"));
    // The list is the nav's child; some books wrap it in a `div`.
    let list = toc.and_then(|nav| {
        nav.child("ol")
            .or_else(|| nav.descendants().into_iter().find(|e| e.name == "ol"))
    });
    if let Some(list) = list {
        walk_nav_list(package, nav_path, list, 0, &mut entries);
    }
    entries
}

fn walk_nav_list(
    package: &Package,
    nav_path: &str,
    list: &Element,
    depth: usize,
    entries: &mut Vec<TocEntry>,
) {
    for item in list.children_named("li") {
        // A heading without a link (`<span>`) has no target, but its sublist still counts.
        if let Some(link) = item.child("a") {
            let title = link.text();
            if let Some(entry) = link
                .attr("href")
                .and_then(|target| package.toc_entry(nav_path, title, target, depth))
            {
                entries.push(entry);
            }
        }
        if let Some(sublist) = item.child("ol") {
            walk_nav_list(package, nav_path, sublist, depth + 1, entries);
        }
    }
}

/// The NCX's nested `navMap/navPoint`s.
fn ncx_entries(package: &Package, ncx_path: &str, document: &Element) -> Vec<TocEntry> {
    let mut entries = Vec::new();
    if let Some(map) = document.child("navMap") {
        walk_nav_points(package, ncx_path, map, 0, &mut entries);
    }
    entries
}

fn walk_nav_points(
    package: &Package,
    ncx_path: &str,
    parent: &Element,
    depth: usize,
    entries: &mut Vec<TocEntry>,
) {
    for point in parent.children_named("navPoint") {
        let title = point
            .child("navLabel")
            .and_then(|label| label.child("text"))
            .map(Element::text)
            .unwrap_or_default();
        if let Some(entry) = point
            .child("content")
            .and_then(|content| content.attr("src"))
            .and_then(|target| package.toc_entry(ncx_path, title, target, depth))
        {
            entries.push(entry);
        }
        walk_nav_points(package, ncx_path, point, depth + 1, entries);
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use zip::CompressionMethod;
    use zip::write::{SimpleFileOptions, ZipWriter};

    use super::*;

    const EPUB3: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/media/lighthouse-epub3.epub"
    );
    const EPUB2: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/media/lighthouse-epub2.epub"
    );

    const CONTAINER_XML: &str = r#"<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="OPS/book.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>"#;

    const SMALL_OPF: &str = r#"<?xml version="1.0"?>
<package version="3.0" xmlns="http://www.idpf.org/2007/opf" unique-identifier="id">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:identifier id="id">urn:isbn:978-0-306-40615-7</dc:identifier>
    <dc:title>Small</dc:title><dc:language>fr</dc:language>
  </metadata>
  <manifest>
    <item id="c" href="images/cover.png" media-type="image/png" properties="cover-image"/>
  </manifest>
  <spine/>
</package>"#;

    fn creator(name: &str, role: Role) -> Creator {
        Creator {
            name: name.to_owned(),
            role,
        }
    }

    fn entry(title: &str, href: &str, spine_position: u32, depth: u8) -> TocEntry {
        TocEntry {
            title: title.to_owned(),
            href: href.to_owned(),
            spine_position: Some(spine_position),
            depth,
        }
    }

    fn damaged_reason(result: Result<Metadata, MediaError>) -> String {
        match result {
            Err(MediaError::Damaged {
                format: Format::Epub,
                reason,
            }) => reason,
            other => panic!("expected a damaged EPUB, got {other:?}"),
        }
    }

    /// What goes into a ZIP built by a test.
    enum Content<'a> {
        Stored(&'a [u8]),
        Deflated(&'a [u8]),
        /// This many zeros, deflated: megabytes that pack into kilobytes.
        DeflatedZeros(u64),
    }

    fn write_zip(path: &Path, entries: &[(&str, Content<'_>)]) {
        let file = File::create(path).expect("create the test ZIP");
        let mut zip = ZipWriter::new(file);
        for (name, content) in entries {
            let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
            let deflated = SimpleFileOptions::default()
                .compression_method(CompressionMethod::Deflated)
                .compression_level(Some(1));
            match content {
                Content::Stored(bytes) => {
                    zip.start_file(*name, stored).expect("start");
                    zip.write_all(bytes).expect("write");
                }
                Content::Deflated(bytes) => {
                    zip.start_file(*name, deflated).expect("start");
                    zip.write_all(bytes).expect("write");
                }
                Content::DeflatedZeros(count) => {
                    zip.start_file(*name, deflated.large_file(*count > u32::MAX as u64))
                        .expect("start");
                    let chunk = vec![0u8; 1 << 20];
                    let mut left = *count;
                    while left > 0 {
                        let n = left.min(chunk.len() as u64);
                        zip.write_all(&chunk[..n as usize]).expect("write");
                        left -= n;
                    }
                }
            }
        }
        zip.finish().expect("finish the test ZIP");
    }

    /// A minimal EPUB whose package document and cover are what the test gives.
    fn small_epub(path: &Path, opf: Content<'_>, cover: Content<'_>) {
        write_zip(
            path,
            &[
                ("mimetype", Content::Stored(MIMETYPE.as_bytes())),
                (CONTAINER, Content::Deflated(CONTAINER_XML.as_bytes())),
                ("OPS/book.opf", opf),
                ("OPS/images/cover.png", cover),
            ],
        );
    }

    /// Rewrites the uncompressed size both headers declare for the entry `name`, as a ZIP
    /// bomb would: a small declared size over a large inflated stream. Walks the central
    /// directory from the end record, as a reader does.
    fn lie_about_size(path: &Path, name: &str, declared: u32) {
        let mut bytes = std::fs::read(path).expect("read the test ZIP");
        let u16_at = |b: &[u8], at: usize| usize::from(u16::from_le_bytes([b[at], b[at + 1]]));
        let u32_at = |b: &[u8], at: usize| {
            u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize
        };
        let end = bytes
            .windows(4)
            .rposition(|w| w == b"PK\x05\x06")
            .expect("an end of central directory record");
        let (count, mut header) = (u16_at(&bytes, end + 10), u32_at(&bytes, end + 16));
        for _ in 0..count {
            let name_len = u16_at(&bytes, header + 28);
            let next =
                header + 46 + name_len + u16_at(&bytes, header + 30) + u16_at(&bytes, header + 32);
            if &bytes[header + 46..header + 46 + name_len] == name.as_bytes() {
                let local = u32_at(&bytes, header + 42);
                bytes[header + 24..header + 28].copy_from_slice(&declared.to_le_bytes());
                bytes[local + 22..local + 26].copy_from_slice(&declared.to_le_bytes());
            }
            header = next;
        }
        std::fs::write(path, bytes).expect("write the test ZIP");
    }

    #[test]
    fn reads_an_epub3() {
        let metadata = read(Path::new(EPUB3)).expect("the EPUB 3 fixture reads");
        assert_eq!(metadata.title.as_deref(), Some("The Lighthouse Keeper"));
        assert_eq!(metadata.subtitle.as_deref(), Some("A Story in Three Parts"));
        assert_eq!(
            metadata.creators,
            vec![
                creator("Ada Marlowe", Role::Author),
                creator("Jonas Berg", Role::Translator),
                creator("Rosa Klee", Role::Illustrator),
            ]
        );
        assert_eq!(metadata.language.as_deref(), Some("en-GB"));
        assert_eq!(metadata.isbn_candidates, vec!["9780306406157".to_owned()]);
        assert_eq!(metadata.publisher.as_deref(), Some("Harbour & Sons"));
        assert_eq!(metadata.date.as_deref(), Some("2019-04-02"));
        assert_eq!(
            metadata.description.as_deref(),
            Some("A short novel about a keeper & his light. Winner of no prizes.")
        );
        let cover = metadata.cover.expect("a cover");
        assert!(cover.bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_eq!(
            metadata.toc,
            vec![
                entry("Arrival", "text/ch001.xhtml#arrival", 3, 0),
                entry("The Lamp", "text/ch001.xhtml#the-lamp", 3, 1),
                entry("The Storm", "text/ch002.xhtml#the-storm", 4, 0),
                entry("Departure", "text/ch003.xhtml#departure", 5, 0),
            ]
        );
    }

    #[test]
    fn reads_an_epub2() {
        let metadata = read(Path::new(EPUB2)).expect("the EPUB 2 fixture reads");
        assert_eq!(metadata.title.as_deref(), Some("The Lighthouse Keeper"));
        // EPUB 2 cannot mark a title as a subtitle.
        assert_eq!(metadata.subtitle, None);
        assert_eq!(
            metadata.creators,
            vec![
                creator("Ada Marlowe", Role::Author),
                creator("Jonas Berg", Role::Translator),
                creator("Rosa Klee", Role::Illustrator),
            ]
        );
        assert_eq!(metadata.language.as_deref(), Some("en-GB"));
        assert_eq!(metadata.isbn_candidates, vec!["9780306406157".to_owned()]);
        assert_eq!(metadata.publisher.as_deref(), Some("Harbour & Sons"));
        assert_eq!(metadata.date.as_deref(), Some("2019-04-02"));
        assert_eq!(
            metadata.description.as_deref(),
            Some("A short novel about a keeper & his light. Winner of no prizes.")
        );
        let cover = metadata.cover.expect("a cover from <meta name=\"cover\">");
        assert!(cover.bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_eq!(
            metadata.toc,
            vec![
                entry("The Lighthouse Keeper", "text/title_page.xhtml", 1, 0),
                entry("Arrival", "text/ch001.xhtml#arrival", 3, 0),
                entry("The Lamp", "text/ch001.xhtml#the-lamp", 3, 1),
                entry("The Storm", "text/ch002.xhtml#the-storm", 4, 0),
                entry("Departure", "text/ch003.xhtml#departure", 5, 0),
            ]
        );
    }

    #[test]
    fn a_truncated_epub_is_refused_for_its_missing_directory() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("cut.epub");
        let bytes = std::fs::read(EPUB3).expect("fixture");
        std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("write");
        let reason = damaged_reason(read(&path));
        assert_eq!(
            reason,
            "its ZIP directory is missing or damaged (a truncated file?)"
        );
    }

    #[test]
    fn a_program_or_noise_named_epub_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("program.epub");
        let program =
            std::fs::read("/bin/true").unwrap_or_else(|_| b"\x7fELF\x02\x01\x01".to_vec());
        std::fs::write(&path, &program[..program.len().min(4096)]).expect("write");
        damaged_reason(read(&path));
        std::fs::write(&path, b"PK\x03\x04 not really a zip").expect("write");
        damaged_reason(read(&path));
    }

    #[test]
    fn a_zip_without_the_epub_parts_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("plain.zip");
        write_zip(&path, &[("readme.txt", Content::Deflated(b"hello"))]);
        assert_eq!(damaged_reason(read(&path)), "has no mimetype entry");

        write_zip(&path, &[("mimetype", Content::Stored(b"application/zip"))]);
        assert_eq!(
            damaged_reason(read(&path)),
            "its mimetype entry does not say application/epub+zip"
        );

        write_zip(&path, &[("mimetype", Content::Stored(MIMETYPE.as_bytes()))]);
        assert_eq!(damaged_reason(read(&path)), "has no META-INF/container.xml");

        small_epub(
            &path,
            Content::Deflated(b"<package><metadata>"),
            Content::Stored(b""),
        );
        let reason = damaged_reason(read(&path));
        assert!(
            reason.starts_with("its package document (OPS/book.opf) does not parse: "),
            "{reason}"
        );
    }

    #[test]
    fn a_minimal_epub_reads_with_a_relative_cover() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("small.epub");
        small_epub(
            &path,
            Content::Deflated(SMALL_OPF.as_bytes()),
            Content::Stored(b"\x89PNG\r\n\x1a\nrest"),
        );
        let metadata = read(&path).expect("reads");
        assert_eq!(metadata.title.as_deref(), Some("Small"));
        assert_eq!(metadata.isbn_candidates, vec!["9780306406157".to_owned()]);
        assert_eq!(
            metadata.cover.map(|c| c.bytes),
            Some(b"\x89PNG\r\n\x1a\nrest".to_vec())
        );
        assert!(metadata.toc.is_empty());
    }

    #[test]
    fn a_package_document_declaring_200_mb_is_refused_unread() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("bomb.epub");
        small_epub(
            &path,
            Content::DeflatedZeros(200 << 20),
            Content::Stored(b""),
        );
        assert_eq!(
            damaged_reason(read(&path)),
            "its package document (OPS/book.opf) is larger than the 4 MiB folio reads"
        );
    }

    #[test]
    fn a_package_document_inflating_past_its_declared_size_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("bomb.epub");
        small_epub(
            &path,
            Content::DeflatedZeros(200 << 20),
            Content::Stored(b""),
        );
        lie_about_size(&path, "OPS/book.opf", 1000);
        let reason = damaged_reason(read(&path));
        // The zip crate's own guard, not a checksum at the end: it stops at the declared size.
        assert!(
            reason.starts_with("its package document (OPS/book.opf) does not unpack: ")
                && reason.contains("larger than its declared uncompressed size"),
            "{reason}"
        );
    }

    #[test]
    fn a_cover_bomb_is_skipped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("bomb.epub");
        small_epub(
            &path,
            Content::Deflated(SMALL_OPF.as_bytes()),
            Content::DeflatedZeros(200 << 20),
        );
        let metadata = read(&path).expect("the book itself reads");
        assert_eq!(metadata.cover, None, "declared 200 MB: not read");

        lie_about_size(&path, "OPS/images/cover.png", 1000);
        let metadata = read(&path).expect("the book itself reads");
        assert_eq!(metadata.cover, None, "inflates past 1000 bytes: not kept");
    }

    #[test]
    fn every_truncation_is_an_answer_not_a_panic() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("cut.epub");
        for fixture in [EPUB3, EPUB2] {
            let bytes = std::fs::read(fixture).expect("fixture");
            for len in (0..bytes.len()).step_by(97) {
                std::fs::write(&path, &bytes[..len]).expect("write");
                assert!(
                    read(&path).is_err(),
                    "{fixture} cut at {len} reads as whole"
                );
            }
        }
    }

    #[test]
    fn every_flipped_byte_is_an_answer_not_a_panic() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("flipped.epub");
        let bytes = std::fs::read(EPUB3).expect("fixture");
        for at in (0..bytes.len()).step_by(61) {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0xFF;
            std::fs::write(&path, &flipped).expect("write");
            // Ok (the byte was in a part read leniently, or not read) or Err; never a panic.
            let _ = read(&path);
        }
    }

    #[test]
    fn isbn_candidates_from_the_ways_files_write_them() {
        assert_eq!(
            isbn_candidate("urn:isbn:978-0-306-40615-7", Scheme::Unstated).as_deref(),
            Some("9780306406157")
        );
        assert_eq!(
            isbn_candidate("ISBN 0-306-40615-2", Scheme::Unstated).as_deref(),
            Some("0306406152")
        );
        assert_eq!(
            isbn_candidate("isbn:080442957x", Scheme::Unstated).as_deref(),
            Some("080442957X")
        );
        assert_eq!(
            isbn_candidate("ISBN-13: 978 0 306 40615 7", Scheme::Unstated).as_deref(),
            Some("9780306406157")
        );
        assert_eq!(
            isbn_candidate("9780306406157", Scheme::Unstated).as_deref(),
            Some("9780306406157")
        );
        // Claimed by markup: any 13 digits pass through for the caller to check.
        assert_eq!(
            isbn_candidate("1234567890123", Scheme::Isbn).as_deref(),
            Some("1234567890123")
        );
        assert_eq!(
            isbn_candidate("1234567890123", Scheme::Unstated),
            None,
            "13 digits not 978/979"
        );
        assert_eq!(
            isbn_candidate(
                "urn:uuid:8c4b2bd0-0b8e-4b3c-9d7e-3f1f3a0c2e11",
                Scheme::Unstated
            ),
            None
        );
        assert_eq!(
            isbn_candidate("urn:isbn:12345", Scheme::Unstated),
            None,
            "too short"
        );
        assert_eq!(
            isbn_candidate("9780306406157", Scheme::Other),
            None,
            "another scheme"
        );
        // Eleven digits and a two-byte letter: thirteen bytes, not thirteen digits.
        assert_eq!(isbn_candidate("97803064061\u{e9}", Scheme::Isbn), None);
        assert_eq!(
            isbn_candidate("97803064061X7", Scheme::Isbn),
            None,
            "X only last"
        );
    }

    #[test]
    fn opf2_details_real_files_use() {
        let opf = br#"<package version="2.0" xmlns:opf="http://www.idpf.org/2007/opf">
          <metadata><dc-metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
            <dc:title>  Old   Style </dc:title>
            <dc:creator>No Role Given</dc:creator>
            <dc:contributor>Helper</dc:contributor>
            <dc:contributor opf:role="nrt">Voice</dc:contributor>
            <dc:date opf:event="modification">2020-01-01</dc:date>
            <dc:date opf:event="publication">1999</dc:date>
            <dc:identifier opf:scheme="ISBN">0-306-40615-2</dc:identifier>
            <dc:identifier opf:scheme="calibre">1234567890</dc:identifier>
            <dc:identifier>urn:isbn:0306406152</dc:identifier>
          </dc-metadata></metadata>
          <manifest/><spine/></package>"#;
        let package = Package::new("content.opf", xml::parse(opf).expect("parses"));
        let metadata = package.metadata();
        assert_eq!(metadata.title.as_deref(), Some("Old Style"));
        assert_eq!(
            metadata.creators,
            vec![
                creator("No Role Given", Role::Author),
                creator("Helper", Role::Other),
                creator("Voice", Role::Narrator),
            ]
        );
        assert_eq!(metadata.date.as_deref(), Some("1999"));
        // The calibre id has ten digits too, but its scheme says it is not an ISBN.
        assert_eq!(metadata.isbn_candidates, vec!["0306406152".to_owned()]);
    }

    #[test]
    fn marc_roles() {
        assert_eq!(role_from_marc("aut"), Role::Author);
        assert_eq!(role_from_marc(" NRT "), Role::Narrator);
        assert_eq!(role_from_marc("edt"), Role::Editor);
        assert_eq!(role_from_marc("bkp"), Role::Other);
    }
}
