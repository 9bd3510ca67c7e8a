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

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// A PDF of `pages` pages with an Info dictionary, its cross-references computed.
    fn pdf(pages: usize, info: &str) -> Vec<u8> {
        let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", i + 4)).collect();
        let mut objects = vec![
            "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
            format!(
                "<< /Type /Pages /Kids [{}] /Count {pages} >>",
                kids.join(" ")
            ),
            info.to_string(),
        ];
        for _ in 0..pages {
            objects.push("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] >>".into());
        }
        let mut out = b"%PDF-1.4\n".to_vec();
        let mut offsets = vec![];
        for (i, object) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
        }
        let xref = out.len();
        out.extend_from_slice(
            format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
        );
        for offset in offsets {
            out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R /Info 3 0 R >>\nstartxref\n{xref}\n%%EOF\n",
                objects.len() + 1
            )
            .as_bytes(),
        );
        out
    }

    fn file(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(bytes).unwrap();
        file
    }

    #[test]
    fn a_pdf_gives_its_title_author_and_pages() {
        // The title in UTF-16 with a byte order mark, as PDF writers store non-Latin text.
        let info = "<< /Title <FEFF0053006F006C0061007200690073> /Author (Stanislaw Lem) >>";
        let read = read(file(&pdf(3, info)).path()).unwrap();
        assert_eq!(read.title.as_deref(), Some("Solaris"));
        assert_eq!(read.creators[0].name, "Stanislaw Lem");
        assert_eq!(read.pages, Some(3));
    }

    #[test]
    fn a_truncated_pdf_is_refused() {
        let whole = pdf(3, "<< /Title (T) >>");
        let err = read(file(&whole[..whole.len() - 40]).path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("truncated"), "{err}");
        for len in (0..whole.len()).step_by(13) {
            let _ = read(file(&whole[..len]).path());
        }
    }
}
