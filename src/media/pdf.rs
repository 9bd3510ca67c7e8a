//! Reading PDF files: the header, the end-of-file marker, the cross-reference data and trailer,
//! and from them the document information (title, author) and the page count.
//!
//! lopdf parses a byte slice and, for metadata, reads only the objects it needs (the trailer,
//! the Info dictionary, the page tree). The file is memory-mapped rather than read into the
//! heap, so a large PDF costs the pages touched, not its size.

use std::fs::File;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use lopdf::{Document, PdfMetadata};
use memmap2::Mmap;

use super::{Creator, Format, MediaError, Metadata, Role};

/// The largest PDF read. Scanned books reach a few hundred megabytes; past this the file is
/// more likely an attack than a book.
const MAX_PDF_BYTES: u64 = 512 * 1024 * 1024;

/// Where the header and the end-of-file marker may lie, from the start and from the end: the
/// leeway PDF readers give for junk before `%PDF-` and after `%%EOF`.
const MARKER_WINDOW: usize = 1024;

/// Checks that the file at `path` is a whole, readable PDF and reads its metadata.
pub fn read(path: &Path) -> Result<Metadata, MediaError> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    if size > MAX_PDF_BYTES {
        return Err(damaged(format!(
            "is larger than the {} MiB folio reads",
            MAX_PDF_BYTES / (1024 * 1024)
        )));
    }
    if size == 0 {
        return Err(damaged("is empty"));
    }
    // SAFETY: the map is only read, and only while `file` is open here. The file is the
    // upload's temporary copy, which nothing else writes or truncates while it is inspected;
    // a concurrent truncation is the one way a map can fault, and it cannot happen to it.
    let map = unsafe { Mmap::map(&file) }?;
    read_bytes(&map)
}

fn read_bytes(bytes: &[u8]) -> Result<Metadata, MediaError> {
    check_markers(bytes)?;
    let pdf = load_metadata(bytes)?;
    // Without the password, an encrypted PDF's Info fields and page tree are out of reach;
    // it is still a real PDF, so it is taken with what could be read.
    if pdf.page_count == 0 && !pdf.encrypted {
        return Err(damaged("has no pages that can be read"));
    }
    Ok(metadata_from(pdf))
}

fn damaged(reason: impl Into<String>) -> MediaError {
    MediaError::damaged(Format::Pdf, reason)
}

/// `%PDF-` near the start and `%%EOF` near the end. A file cut short loses its last
/// `%%EOF` (and the cross-reference data before it); lopdf would rebuild the table by
/// scanning and take what survived, so the cut is caught here instead.
fn check_markers(bytes: &[u8]) -> Result<(), MediaError> {
    let head = &bytes[..bytes.len().min(MARKER_WINDOW)];
    if !contains(head, b"%PDF-") {
        return Err(damaged("has no %PDF- header"));
    }
    let tail = &bytes[bytes.len().saturating_sub(MARKER_WINDOW)..];
    if !contains(tail, b"%%EOF") {
        return Err(damaged("ends without its %%EOF marker (a truncated file?)"));
    }
    Ok(())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The trailer, Info dictionary and page count, through lopdf. lopdf is a large parser of
/// untrusted input; should it panic on some malformed file, that file is refused rather than
/// taking the worker thread down.
fn load_metadata(bytes: &[u8]) -> Result<PdfMetadata, MediaError> {
    match catch_unwind(AssertUnwindSafe(|| Document::load_metadata_mem(bytes))) {
        Ok(Ok(pdf)) => Ok(pdf),
        // lopdf's own words ("couldn't parse input") say nothing to a person; they go to the
        // log for whoever debugs the file.
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "lopdf could not read a PDF's structure");
            Err(damaged(
                "its cross-reference table or trailer cannot be read (a damaged file?)",
            ))
        }
        Err(_) => Err(damaged("its structure could not be read")),
    }
}

/// What folio keeps. lopdf has already decoded the text strings (UTF-16BE with its byte
/// order mark, UTF-8 with its own, else PDFDocEncoding).
fn metadata_from(pdf: PdfMetadata) -> Metadata {
    let text = |value: Option<String>| value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let creators = text(pdf.author)
        .map(|name| Creator {
            name,
            role: Role::Author,
        })
        .into_iter()
        .collect();
    Metadata {
        title: text(pdf.title),
        creators,
        pages: (pdf.page_count > 0).then_some(pdf.page_count),
        ..Metadata::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAIN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/media/rain.pdf");
    const RAIN_ENCRYPTED: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/media/rain-encrypted.pdf"
    );

    fn damaged_reason(result: Result<Metadata, MediaError>) -> String {
        match result {
            Err(MediaError::Damaged {
                format: Format::Pdf,
                reason,
            }) => reason,
            other => panic!("expected a damaged PDF, got {other:?}"),
        }
    }

    fn write_temp(bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("upload.pdf");
        std::fs::write(&path, bytes).expect("write");
        (dir, path)
    }

    #[test]
    fn reads_title_author_and_pages() {
        let metadata = read(Path::new(RAIN)).expect("the fixture reads");
        assert_eq!(metadata.title.as_deref(), Some("Three Pages of Rain"));
        // Written as UTF-16BE with a byte order mark.
        assert_eq!(
            metadata.creators,
            vec![Creator {
                name: "Zo\u{eb} Quist".to_owned(),
                role: Role::Author
            }]
        );
        assert_eq!(metadata.pages, Some(3));
        assert_eq!(metadata.cover, None);
        assert!(metadata.toc.is_empty());
    }

    #[test]
    fn an_encrypted_pdf_is_taken_without_its_metadata() {
        let metadata = read(Path::new(RAIN_ENCRYPTED)).expect("an encrypted PDF is a PDF");
        assert_eq!(metadata.title, None);
        assert!(metadata.creators.is_empty());
    }

    #[test]
    fn a_truncated_pdf_is_refused() {
        let bytes = std::fs::read(RAIN).expect("fixture");
        let (_dir, path) = write_temp(&bytes[..bytes.len() / 2]);
        assert_eq!(
            damaged_reason(read(&path)),
            "ends without its %%EOF marker (a truncated file?)"
        );
    }

    #[test]
    fn a_pdf_with_a_broken_trailer_is_refused() {
        // Whole-looking (header and %%EOF present) but with no objects, table or trailer.
        let (_dir, path) = write_temp(b"%PDF-1.7\nnothing here\nstartxref\n9\n%%EOF\n");
        assert_eq!(
            damaged_reason(read(&path)),
            "its cross-reference table or trailer cannot be read (a damaged file?)"
        );
    }

    /// A well-formed PDF whose catalog has no page tree: objects, an exact cross-reference
    /// table and a trailer.
    fn pdf_without_pages() -> Vec<u8> {
        let mut pdf = b"%PDF-1.4\n".to_vec();
        let catalog_at = pdf.len();
        pdf.extend_from_slice(b"1 0 obj\n<< /Type /Catalog >>\nendobj\n");
        let xref_at = pdf.len();
        pdf.extend_from_slice(b"xref\n0 2\n0000000000 65535 f \n");
        pdf.extend_from_slice(format!("{catalog_at:010} 00000 n \n").as_bytes());
        pdf.extend_from_slice(b"trailer\n<< /Size 2 /Root 1 0 R >>\n");
        pdf.extend_from_slice(format!("startxref\n{xref_at}\n%%EOF\n").as_bytes());
        pdf
    }

    #[test]
    fn a_pdf_without_pages_is_refused() {
        let (_dir, path) = write_temp(&pdf_without_pages());
        assert_eq!(damaged_reason(read(&path)), "has no pages that can be read");
    }

    #[test]
    fn other_files_are_refused() {
        let program = std::fs::read("/bin/true").unwrap_or_else(|_| b"\x7fELF\x02\x01".to_vec());
        let (_dir, path) = write_temp(&program[..program.len().min(4096)]);
        assert_eq!(damaged_reason(read(&path)), "has no %PDF- header");
        let (_dir, path) = write_temp(b"");
        assert_eq!(damaged_reason(read(&path)), "is empty");
    }

    #[test]
    fn every_flipped_byte_is_an_answer_not_a_panic() {
        let bytes = std::fs::read(RAIN).expect("fixture");
        for at in (0..bytes.len()).step_by(23) {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0xFF;
            let (_dir, path) = write_temp(&flipped);
            let _ = read(&path);
        }
    }

    #[test]
    fn every_truncation_is_an_answer_not_a_panic() {
        for fixture in [RAIN, RAIN_ENCRYPTED] {
            let bytes = std::fs::read(fixture).expect("fixture");
            for len in (0..bytes.len()).step_by(97) {
                let (_dir, path) = write_temp(&bytes[..len]);
                // Cut anywhere before its final marker, the file is refused.
                assert!(
                    read(&path).is_err(),
                    "{fixture} cut at {len} reads as whole"
                );
            }
        }
    }
}
