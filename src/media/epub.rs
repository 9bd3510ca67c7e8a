//! Reading EPUB 2 and 3: that the file is a whole EPUB (its ZIP directory, `mimetype`,
//! container and package document), and what its package document, navigation document or
//! NCX and cover say.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use percent_encoding::percent_decode_str;
use zip::ZipArchive;

use super::xml::{self, Element};
use super::{Creator, Format, MAX_PICTURE_BYTES, MediaError, Metadata, Picture, Role, TocEntry};

/// More entries than any book has; a ZIP listing more is refused before it is walked.
const MAX_ENTRIES: usize = 20_000;
/// The largest XML document read (package document, navigation, NCX).
const MAX_XML_BYTES: u64 = 8 * 1024 * 1024;
/// Table of contents entries kept.
const MAX_TOC: usize = 5_000;

fn damaged(reason: impl Into<String>) -> MediaError {
    MediaError::damaged(Format::Epub, reason)
}

/// Checks that the file at `path` is a whole, readable EPUB and reads its metadata.
pub fn read(path: &Path) -> Result<Metadata, MediaError> {
    let file = File::open(path)?;
    let mut zip = ZipArchive::new(file).map_err(|e| {
        damaged(format!(
            "its ZIP directory is missing or damaged, as in a truncated file ({e})"
        ))
    })?;
    if zip.len() > MAX_ENTRIES {
        return Err(damaged(format!(
            "holds {} entries; folio reads up to {MAX_ENTRIES}",
            zip.len()
        )));
    }
    let mimetype =
        read_entry(&mut zip, "mimetype", 256)?.ok_or_else(|| damaged("has no `mimetype` entry"))?;
    if mimetype.trim() != "application/epub+zip" {
        return Err(damaged(
            "its `mimetype` entry does not say application/epub+zip",
        ));
    }
    let container = read_entry(&mut zip, "META-INF/container.xml", MAX_XML_BYTES)?
        .ok_or_else(|| damaged("has no META-INF/container.xml"))?;
    let container = xml::parse(&container)
        .map_err(|e| damaged(format!("its container.xml does not parse: {e}")))?;
    let opf_path = container
        .descendants()
        .into_iter()
        .find(|e| e.name == "rootfile")
        .and_then(|e| e.attribute("full-path"))
        .map(str::to_string)
        .ok_or_else(|| damaged("its container.xml names no package document"))?;
    let opf = read_entry(&mut zip, &opf_path, MAX_XML_BYTES)?
        .ok_or_else(|| damaged(format!("has no package document at {opf_path}")))?;
    let package = xml::parse(&opf)
        .map_err(|e| damaged(format!("its package document does not parse: {e}")))?;
    if package.name != "package" {
        return Err(damaged("its package document is not an OPF package"));
    }
    let base = directory_of(&opf_path);
    let book = Package::read(&package, &base);

    let mut metadata = book.metadata();
    metadata.toc = toc(&mut zip, &book).unwrap_or_default();
    metadata.cover = match &book.cover {
        Some(href) => read_picture(&mut zip, href)?,
        None => None,
    };
    Ok(metadata)
}

/// What the package document lists.
struct Package<'p> {
    metadata: Option<&'p Element>,
    /// The spine's documents, as paths in the ZIP.
    spine: Vec<String>,
    /// The EPUB 3 navigation document, or the EPUB 2 NCX, as a path in the ZIP.
    nav: Option<String>,
    ncx: Option<String>,
    cover: Option<String>,
    /// `refines` metadata: (id without `#`, property) → values.
    refinements: HashMap<(String, String), Vec<String>>,
}

impl<'p> Package<'p> {
    fn read(package: &'p Element, base: &str) -> Self {
        let metadata = package.child("metadata");
        let mut items = HashMap::new();
        let mut nav = None;
        let mut cover = None;
        if let Some(manifest) = package.child("manifest") {
            for item in manifest.elements().filter(|e| e.name == "item") {
                let (Some(id), Some(href)) = (item.attribute("id"), item.attribute("href")) else {
                    continue;
                };
                let path = resolve(base, href);
                let media_type = item.attribute("media-type").unwrap_or_default().to_string();
                let properties = item.attribute("properties").unwrap_or_default().to_string();
                let has = |p: &str| properties.split_whitespace().any(|x| x == p);
                if has("nav") {
                    nav = Some(path.clone());
                }
                if has("cover-image") {
                    cover = Some(path.clone());
                }
                items.insert(id.to_string(), (path, media_type, properties));
            }
        }
        let spine_element = package.child("spine");
        let spine = spine_element
            .map(|spine| {
                spine
                    .elements()
                    .filter(|e| e.name == "itemref")
                    .filter_map(|e| e.attribute("idref"))
                    .filter_map(|id| items.get(id).map(|(path, ..)| path.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let ncx = spine_element
            .and_then(|s| s.attribute("toc"))
            .and_then(|id| items.get(id))
            .or_else(|| {
                items
                    .values()
                    .find(|(_, t, _)| t == "application/x-dtbncx+xml")
            })
            .map(|(path, ..)| path.clone());
        let mut refinements: HashMap<(String, String), Vec<String>> = HashMap::new();
        for meta in metadata
            .into_iter()
            .flat_map(|m| m.elements())
            .filter(|e| e.name == "meta")
        {
            // EPUB 2: <meta name="cover" content="item-id"/>.
            if meta.attribute("name") == Some("cover") && cover.is_none() {
                cover = meta
                    .attribute("content")
                    .and_then(|id| items.get(id))
                    .map(|(path, ..)| path.clone());
            }
            if let (Some(target), Some(property)) =
                (meta.attribute("refines"), meta.attribute("property"))
            {
                let id = target.trim_start_matches('#').to_string();
                refinements
                    .entry((id, property.to_string()))
                    .or_default()
                    .push(meta.text());
            }
        }
        Self {
            metadata,
            spine,
            nav,
            ncx,
            cover,
            refinements,
        }
    }

    fn refined(&self, element: &Element, property: &str) -> Option<&str> {
        let id = element.attribute("id")?;
        self.refinements
            .get(&(id.to_string(), property.to_string()))
            .and_then(|values| values.first())
            .map(String::as_str)
    }

    fn metadata(&self) -> Metadata {
        let mut read = Metadata::default();
        let Some(metadata) = self.metadata else {
            return read;
        };
        let text = |e: &Element| Some(e.text()).filter(|t| !t.is_empty());
        for e in metadata.elements() {
            match e.name.as_str() {
                "title" => {
                    let kind = self.refined(e, "title-type");
                    if kind == Some("subtitle") {
                        read.subtitle = read.subtitle.take().or_else(|| text(e));
                    } else if read.title.is_none() {
                        read.title = text(e);
                    }
                }
                "creator" | "contributor" => {
                    let Some(name) = text(e) else { continue };
                    let code = e
                        .attribute("role")
                        .or_else(|| self.refined(e, "role"))
                        .map(str::trim);
                    let role = match code {
                        None if e.name == "creator" => Role::Author,
                        None => Role::Other,
                        Some(code) => role_of(code),
                    };
                    read.creators.push(Creator { name, role });
                }
                "language" if read.language.is_none() => read.language = text(e),
                "publisher" if read.publisher.is_none() => read.publisher = text(e),
                "date" if read.date.is_none() => read.date = text(e),
                "description" if read.description.is_none() => {
                    read.description = text(e).map(|d| plain_text(&d)).filter(|d| !d.is_empty());
                }
                "identifier" => {
                    if let Some(isbn) = self.isbn_in(e, &e.text()) {
                        read.isbn_candidates.push(isbn);
                    }
                }
                _ => {}
            }
        }
        read
    }

    /// The ISBN an identifier holds, reduced to its digits (and a final X), if it claims or
    /// looks like one: `urn:isbn:…`, `isbn:…`, an `opf:scheme="ISBN"`, an ONIX identifier
    /// type 02 or 15, or bare digits shaped like an ISBN.
    fn isbn_in(&self, e: &Element, text: &str) -> Option<String> {
        let lower = text.trim().to_lowercase();
        let claimed = ["urn:isbn:", "isbn:", "isbn "]
            .iter()
            .find_map(|prefix| lower.strip_prefix(prefix));
        let scheme = e
            .attribute("scheme")
            .is_some_and(|s| s.eq_ignore_ascii_case("isbn"))
            || matches!(self.refined(e, "identifier-type"), Some("02" | "15"));
        let value = claimed.unwrap_or(&lower);
        let digits: String = value
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .collect::<String>()
            .to_uppercase();
        let shaped = match digits.len() {
            13 => {
                digits.chars().all(|c| c.is_ascii_digit())
                    && (digits.starts_with("978") || digits.starts_with("979"))
            }
            10 => {
                digits[..9].chars().all(|c| c.is_ascii_digit())
                    && digits.ends_with(|c: char| c.is_ascii_digit() || c == 'X')
            }
            _ => false,
        };
        // Thirteen digits from 978 or 979 are an ISBN's shape whatever the label; ten digits
        // could be any number, so they count only when the file says they are an ISBN.
        let counts = match digits.len() {
            13 => shaped,
            _ => shaped && (claimed.is_some() || scheme),
        };
        counts.then_some(digits)
    }
}

/// MARC relator codes (and the words some books write instead).
fn role_of(code: &str) -> Role {
    match code.to_lowercase().as_str() {
        "aut" | "author" => Role::Author,
        "nrt" | "narrator" => Role::Narrator,
        "trl" | "translator" => Role::Translator,
        "edt" | "editor" => Role::Editor,
        "ill" | "illustrator" => Role::Illustrator,
        _ => Role::Other,
    }
}

/// The table of contents: the EPUB 3 navigation document's `toc` nav, else the NCX.
fn toc(zip: &mut ZipArchive<File>, book: &Package<'_>) -> Result<Vec<TocEntry>, MediaError> {
    let spine_position = |href: &str| {
        let document = href.split('#').next().unwrap_or_default();
        book.spine
            .iter()
            .position(|p| p == document)
            .map(|i| i as u32)
    };
    let mut entries = vec![];
    if let Some(nav_path) = &book.nav
        && let Some(nav) = read_xml(zip, nav_path)?
    {
        let base = directory_of(nav_path);
        let toc_nav = nav.descendants().into_iter().find(|e| {
            e.name == "nav"
                && e.attribute("type")
                    .is_some_and(|t| t.split_whitespace().any(|x| x == "toc"))
        });
        if let Some(list) = toc_nav.and_then(|n| n.child("ol")) {
            nav_entries(list, 0, &base, &mut entries);
        }
    }
    if entries.is_empty()
        && let Some(ncx_path) = &book.ncx
        && let Some(ncx) = read_xml(zip, ncx_path)?
        && let Some(map) = ncx.child("navMap")
    {
        ncx_entries(map, 0, &directory_of(ncx_path), &mut entries);
    }
    entries.truncate(MAX_TOC);
    Ok(entries
        .into_iter()
        .map(|(title, path, depth)| TocEntry {
            spine_position: spine_position(&path),
            href: path,
            title,
            depth,
        })
        .collect())
}

/// A navigation document or NCX, parsed; one that does not parse gives no table of contents
/// rather than refusing a book whose package document is fine.
fn read_xml(zip: &mut ZipArchive<File>, path: &str) -> Result<Option<Element>, MediaError> {
    Ok(read_entry(zip, path, MAX_XML_BYTES)?.and_then(|text| xml::parse(&text).ok()))
}

/// `<ol><li><a href>title</a><ol>…</ol></li></ol>`, nested.
fn nav_entries(list: &Element, depth: u8, base: &str, into: &mut Vec<(String, String, u8)>) {
    if into.len() >= MAX_TOC || depth > 16 {
        return;
    }
    for item in list.elements().filter(|e| e.name == "li") {
        let label = item.child("a").or_else(|| item.child("span"));
        if let Some(label) = label {
            let title = label.text();
            if let Some(href) = label.attribute("href") {
                into.push((title, resolve(base, href), depth));
            }
        }
        if let Some(children) = item.child("ol") {
            nav_entries(children, depth + 1, base, into);
        }
    }
}

/// `<navPoint><navLabel><text>…</text></navLabel><content src/>…</navPoint>`, nested.
fn ncx_entries(parent: &Element, depth: u8, base: &str, into: &mut Vec<(String, String, u8)>) {
    if into.len() >= MAX_TOC || depth > 16 {
        return;
    }
    for point in parent.elements().filter(|e| e.name == "navPoint") {
        let title = point
            .child("navLabel")
            .map(Element::text)
            .unwrap_or_default();
        if let Some(src) = point.child("content").and_then(|c| c.attribute("src")) {
            into.push((title, resolve(base, src), depth));
        }
        ncx_entries(point, depth + 1, base, into);
    }
}

/// An entry's text, up to `max` bytes; `None` when there is no such entry. An entry that
/// declares more than `max` is refused without inflating it; the ZIP reader also stops at
/// the declared size, so a bomb that lies about its size inflates no further.
fn read_entry(
    zip: &mut ZipArchive<File>,
    name: &str,
    max: u64,
) -> Result<Option<String>, MediaError> {
    let bytes = match read_bytes(zip, name, max)? {
        Some(bytes) => bytes,
        None => return Ok(None),
    };
    let text =
        String::from_utf8(bytes).map_err(|_| damaged(format!("its {name} is not UTF-8 text")))?;
    Ok(Some(text.trim_start_matches('\u{feff}').to_string()))
}

fn read_bytes(
    zip: &mut ZipArchive<File>,
    name: &str,
    max: u64,
) -> Result<Option<Vec<u8>>, MediaError> {
    let mut entry = match zip.by_name(name) {
        Ok(entry) => entry,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(damaged(format!("its entry {name} cannot be read ({e})"))),
    };
    if entry.size() > max {
        return Err(damaged(format!(
            "its entry {name} is {} bytes; folio reads up to {max}",
            entry.size()
        )));
    }
    let mut bytes = Vec::with_capacity(entry.size() as usize);
    (&mut entry)
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| damaged(format!("its entry {name} is damaged ({e})")))?;
    if bytes.len() as u64 > max {
        return Err(damaged(format!(
            "its entry {name} inflates past {max} bytes"
        )));
    }
    Ok(Some(bytes))
}

/// The cover image's bytes; a cover larger than folio reads is left out, not an error.
fn read_picture(zip: &mut ZipArchive<File>, path: &str) -> Result<Option<Picture>, MediaError> {
    match read_bytes(zip, path, MAX_PICTURE_BYTES) {
        Ok(Some(bytes)) => Ok(Some(Picture { bytes })),
        Ok(None) => Ok(None),
        Err(MediaError::Damaged { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The directory part of a path in the ZIP, with its trailing `/` (empty at the root).
fn directory_of(path: &str) -> String {
    match path.rfind('/') {
        Some(i) => path[..=i].to_string(),
        None => String::new(),
    }
}

/// `href` (percent-encoded, maybe with `..`) from a document in `base`, as a path in the ZIP;
/// a fragment is kept.
fn resolve(base: &str, href: &str) -> String {
    let (path, fragment) = match href.split_once('#') {
        Some((path, fragment)) => (path, Some(fragment)),
        None => (href, None),
    };
    let decoded = percent_decode_str(path).decode_utf8_lossy();
    let mut parts: Vec<&str> = if decoded.starts_with('/') {
        vec![]
    } else {
        base.split('/').filter(|p| !p.is_empty()).collect()
    };
    for part in decoded.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    let mut resolved = parts.join("/");
    if let Some(fragment) = fragment {
        resolved.push('#');
        resolved.push_str(fragment);
    }
    resolved
}

/// A description's markup removed (EPUB descriptions are often escaped HTML), entities
/// decoded, white space collapsed. A block's tag (`<p>`, `<br>`, `<li>` …) leaves a space
/// between the texts it separated; an inline one (`<b>`, `<i>`) leaves nothing.
fn plain_text(html: &str) -> String {
    const BLOCKS: [&str; 12] = [
        "p",
        "br",
        "div",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "tr",
        "blockquote",
    ];
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[open + 1..open + close];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if BLOCKS.contains(&name.as_str()) {
            text.push(' ');
        }
        rest = &rest[open + close + 1..];
    }
    text.push_str(rest);
    let decoded = text
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use zip::write::SimpleFileOptions;

    use super::*;

    /// An EPUB of these entries (the `mimetype` entry first and stored), written to a file.
    fn epub_file(entries: &[(&str, &[u8])]) -> tempfile::NamedTempFile {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let stored =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        let deflated =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("mimetype", stored).unwrap();
        zip.write_all(b"application/epub+zip").unwrap();
        for (name, bytes) in entries {
            zip.start_file(*name, deflated).unwrap();
            zip.write_all(bytes).unwrap();
        }
        let bytes = zip.finish().unwrap().into_inner();
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&bytes).unwrap();
        file
    }

    const CONTAINER: &[u8] = br#"<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
<rootfiles><rootfile full-path="OPS/book.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>"#;
    const COVER: &[u8] = b"\xFF\xD8\xFF\xE0 a JPEG's first bytes";

    fn epub3() -> tempfile::NamedTempFile {
        let opf = br##"<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="uid">
<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
  <dc:identifier id="uid">urn:uuid:0b5ae6b4-3a1c-4b0e-9d7e-1f0a6d3f1c2e</dc:identifier>
  <dc:identifier id="isbn">978-0-306-40615-7</dc:identifier>
  <meta refines="#isbn" property="identifier-type" scheme="onix:codelist5">15</meta>
  <dc:title id="t1">Solaris</dc:title>
  <meta refines="#t1" property="title-type">main</meta>
  <dc:title id="t2">A Novel</dc:title>
  <meta refines="#t2" property="title-type">subtitle</meta>
  <dc:creator id="c1">Stanis&#322;aw Lem</dc:creator>
  <meta refines="#c1" property="role" scheme="marc:relators">aut</meta>
  <dc:creator id="c2">Bill Johnston</dc:creator>
  <meta refines="#c2" property="role" scheme="marc:relators">trl</meta>
  <dc:language>en</dc:language>
  <dc:publisher>Pro Auctore</dc:publisher>
  <dc:date>2011-06-01</dc:date>
  <dc:description>&lt;p&gt;A planet &lt;b&gt;thinks&lt;/b&gt;.&lt;/p&gt;</dc:description>
</metadata>
<manifest>
  <item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
  <item id="cover" href="images/cover.jpg" media-type="image/jpeg" properties="cover-image"/>
  <item id="c1" href="text/one.xhtml" media-type="application/xhtml+xml"/>
  <item id="c2" href="text/two%20b.xhtml" media-type="application/xhtml+xml"/>
</manifest>
<spine><itemref idref="c1"/><itemref idref="c2"/></spine>
</package>"##;
        let nav = br#"<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><body>
<nav epub:type="landmarks"><ol><li><a href="text/one.xhtml">Start</a></li></ol></nav>
<nav epub:type="toc"><ol>
  <li><a href="text/one.xhtml">Part One</a>
    <ol><li><a href="text/one.xhtml#s2">Kelvin &amp; the Station</a></li></ol></li>
  <li><a href="text/two%20b.xhtml">Part Two</a></li>
</ol></nav></body></html>"#;
        epub_file(&[
            ("META-INF/container.xml", CONTAINER),
            ("OPS/book.opf", opf),
            ("OPS/nav.xhtml", nav),
            ("OPS/images/cover.jpg", COVER),
            ("OPS/text/one.xhtml", b"<html/>"),
            ("OPS/text/two b.xhtml", b"<html/>"),
        ])
    }

    fn epub2() -> tempfile::NamedTempFile {
        let opf = br#"<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" xmlns:opf="http://www.idpf.org/2007/opf" version="2.0" unique-identifier="id">
<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
  <dc:identifier id="id" opf:scheme="ISBN">0-306-40615-2</dc:identifier>
  <dc:title>Roadside Picnic</dc:title>
  <dc:creator opf:role="aut">Arkady Strugatsky</dc:creator>
  <dc:creator opf:role="aut">Boris Strugatsky</dc:creator>
  <dc:contributor opf:role="trl">Olena Bormashenko</dc:contributor>
  <dc:contributor opf:role="bkp">calibre</dc:contributor>
  <dc:language>en</dc:language>
  <meta name="cover" content="cover-img"/>
</metadata>
<manifest>
  <item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>
  <item id="cover-img" href="cover.jpg" media-type="image/jpeg"/>
  <item id="ch1" href="ch1.html" media-type="application/xhtml+xml"/>
  <item id="ch2" href="ch2.html" media-type="application/xhtml+xml"/>
</manifest>
<spine toc="ncx"><itemref idref="ch1"/><itemref idref="ch2"/></spine>
</package>"#;
        let ncx = br#"<?xml version="1.0"?><ncx xmlns="http://www.daisy.org/z3986/2005/ncx/"><navMap>
<navPoint id="a"><navLabel><text>Chapter 1</text></navLabel><content src="ch1.html"/>
  <navPoint id="b"><navLabel><text>Section 1.1</text></navLabel><content src="ch1.html#x"/></navPoint>
</navPoint>
<navPoint id="c"><navLabel><text>Chapter 2</text></navLabel><content src="ch2.html"/></navPoint>
</navMap></ncx>"#;
        epub_file(&[
            ("META-INF/container.xml", CONTAINER),
            ("OPS/book.opf", opf),
            ("OPS/toc.ncx", ncx),
            ("OPS/cover.jpg", COVER),
            ("OPS/ch1.html", b"<html/>"),
            ("OPS/ch2.html", b"<html/>"),
        ])
    }

    #[test]
    fn an_epub_3_gives_its_metadata_cover_and_navigation() {
        let read = read(epub3().path()).unwrap();
        assert_eq!(read.title.as_deref(), Some("Solaris"));
        assert_eq!(read.subtitle.as_deref(), Some("A Novel"));
        assert_eq!(
            read.creators,
            [
                Creator {
                    name: "Stanisław Lem".into(),
                    role: Role::Author
                },
                Creator {
                    name: "Bill Johnston".into(),
                    role: Role::Translator
                },
            ]
        );
        assert_eq!(read.language.as_deref(), Some("en"));
        assert_eq!(read.isbn_candidates, ["9780306406157"]);
        assert_eq!(read.publisher.as_deref(), Some("Pro Auctore"));
        assert_eq!(read.date.as_deref(), Some("2011-06-01"));
        assert_eq!(read.description.as_deref(), Some("A planet thinks."));
        assert_eq!(read.cover.unwrap().bytes, COVER);
        let toc: Vec<_> = read
            .toc
            .iter()
            .map(|t| (t.title.as_str(), t.href.as_str(), t.spine_position, t.depth))
            .collect();
        assert_eq!(
            toc,
            [
                ("Part One", "OPS/text/one.xhtml", Some(0), 0),
                ("Kelvin & the Station", "OPS/text/one.xhtml#s2", Some(0), 1),
                ("Part Two", "OPS/text/two b.xhtml", Some(1), 0),
            ]
        );
    }

    #[test]
    fn an_epub_2_gives_its_roles_cover_and_ncx() {
        let read = read(epub2().path()).unwrap();
        assert_eq!(read.title.as_deref(), Some("Roadside Picnic"));
        let roles: Vec<_> = read
            .creators
            .iter()
            .map(|c| (c.name.as_str(), c.role))
            .collect();
        assert_eq!(
            roles,
            [
                ("Arkady Strugatsky", Role::Author),
                ("Boris Strugatsky", Role::Author),
                ("Olena Bormashenko", Role::Translator),
                ("calibre", Role::Other),
            ]
        );
        assert_eq!(read.isbn_candidates, ["0306406152"]);
        assert_eq!(read.cover.unwrap().bytes, COVER);
        let toc: Vec<_> = read
            .toc
            .iter()
            .map(|t| (t.title.as_str(), t.spine_position, t.depth))
            .collect();
        assert_eq!(
            toc,
            [
                ("Chapter 1", Some(0), 0),
                ("Section 1.1", Some(0), 1),
                ("Chapter 2", Some(1), 0)
            ]
        );
    }

    #[test]
    fn broken_epubs_say_what_is_wrong() {
        let whole = std::fs::read(epub3().path()).unwrap();
        let mut cut = tempfile::NamedTempFile::new().unwrap();
        cut.write_all(&whole[..whole.len() / 2]).unwrap();
        let err = read(cut.path()).unwrap_err().to_string();
        assert!(err.contains("ZIP directory"), "{err}");

        let no_package = epub_file(&[("META-INF/container.xml", CONTAINER)]);
        let err = read(no_package.path()).unwrap_err().to_string();
        assert!(err.contains("no package document at OPS/book.opf"), "{err}");

        let bad_xml = epub_file(&[
            ("META-INF/container.xml", CONTAINER),
            ("OPS/book.opf", b"<package><metadata>"),
        ]);
        let err = read(bad_xml.path()).unwrap_err().to_string();
        assert!(err.contains("package document does not parse"), "{err}");
    }

    #[test]
    fn a_zip_bomb_is_refused_without_inflating_it() {
        // 200 MB of zeros deflate to about 200 KB: as the package document, it is refused by
        // its declared size before a byte is inflated.
        let zeros = vec![0u8; 200 * 1024 * 1024];
        let bomb = epub_file(&[
            ("META-INF/container.xml", CONTAINER),
            ("OPS/book.opf", &zeros),
        ]);
        drop(zeros);
        let err = read(bomb.path()).unwrap_err().to_string();
        assert!(err.contains("folio reads up to"), "{err}");
    }

    #[test]
    fn no_truncation_panics() {
        let whole = std::fs::read(epub2().path()).unwrap();
        for len in (0..whole.len()).step_by(97) {
            let mut cut = tempfile::NamedTempFile::new().unwrap();
            cut.write_all(&whole[..len]).unwrap();
            let _ = read(cut.path());
        }
    }

    #[test]
    fn hrefs_resolve_inside_the_zip() {
        assert_eq!(
            resolve("OEBPS/", "text/ch%201.xhtml#s2"),
            "OEBPS/text/ch 1.xhtml#s2"
        );
        assert_eq!(
            resolve("OEBPS/text/", "../images/cover.jpg"),
            "OEBPS/images/cover.jpg"
        );
        assert_eq!(resolve("", "../../../etc/passwd"), "etc/passwd");
        assert_eq!(directory_of("OEBPS/content.opf"), "OEBPS/");
        assert_eq!(directory_of("content.opf"), "");
    }

    #[test]
    fn descriptions_lose_their_markup() {
        assert_eq!(
            plain_text("<p>A <i>grand</i> tale &amp; more.</p>\n<p>Second&nbsp;part</p>"),
            "A grand tale & more. Second part"
        );
    }

    #[test]
    fn relator_codes_are_roles() {
        assert_eq!(role_of("aut"), Role::Author);
        assert_eq!(role_of("NRT"), Role::Narrator);
        assert_eq!(role_of("trl"), Role::Translator);
        assert_eq!(role_of("bkp"), Role::Other);
    }
}
