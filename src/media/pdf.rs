//! Reading PDF files: that the file is a whole PDF (its header, its trailer and
//! cross-references readable), and its title, author and page count.

use std::path::Path;

use super::{Creator, Format, MediaError, Metadata, Role};

fn damaged(reason: impl Into<String>) -> MediaError {
    MediaError::damaged(Format::Pdf, reason)
}

/// Checks that the file at `path` is a whole, readable PDF and reads its metadata.
pub fn read(path: &Path) -> Result<Metadata, MediaError> {
    let file = std::fs::File::open(path)?;
    // SAFETY: the map is read-only and of a file folio wrote and keeps (an upload's temporary
    // file, or a file being scanned); a file shortened under the map by someone else would
    // fault this process, a risk the scan of a folder folio does not own shares with every
    // reader of it.
    let map = unsafe { memmap2::Mmap::map(&file)? };
    let bytes: &[u8] = &map;
    // A PDF ends with `startxref`, the offset, and `%%EOF`: a file cut short has none, and
    // lopdf would otherwise rebuild what it can of it and call it whole.
    let tail = &bytes[bytes.len().saturating_sub(2048)..];
    if !contains(tail, b"%%EOF") || !contains(tail, b"startxref") {
        return Err(damaged("has no trailer at its end, as in a truncated file"));
    }
    let read = lopdf::Document::load_metadata_mem(bytes)
        .map_err(|e| damaged(format!("its structure cannot be read ({e})")))?;
    let text = |value: Option<String>| {
        value
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let mut metadata = Metadata {
        title: text(read.title),
        pages: (read.page_count > 0).then_some(read.page_count),
        ..Default::default()
    };
    if let Some(author) = text(read.author) {
        metadata.creators.push(Creator {
            name: author,
            role: Role::Author,
        });
    }
    Ok(metadata)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
