//! Real book files made by the tests: a valid EPUB 3 and PDF built byte by byte, so a test
//! says exactly what the file holds.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;

/// An EPUB 3 with a title, an author, an ISBN, a navigation document and two chapters;
/// `padding` bytes of incompressible data make it as large as a test needs.
pub fn epub(title: &str, isbn: &str, padding: usize) -> Vec<u8> {
    let chapter = |heading: &str| format!("<h1>{heading}</h1><p>Text.</p>");
    let chapters = [("One", chapter("One")), ("Two", chapter("Two"))];
    let chapters: Vec<(&str, &str)> = chapters.iter().map(|(t, b)| (*t, b.as_str())).collect();
    epub_with(title, isbn, &chapters, &[], padding)
}

/// An EPUB 3 whose chapters are `(title, body markup)`, in order, named `c1.xhtml`, `c2.xhtml`…
/// beside the package document, with `resources` (`path` from the package's folder, media
/// type, bytes) in its manifest.
pub fn epub_with(
    title: &str,
    isbn: &str,
    chapters: &[(&str, &str)],
    resources: &[(&str, &str, &[u8])],
    padding: usize,
) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut add = |name: &str, options: SimpleFileOptions, bytes: &[u8]| {
        zip.start_file(name, options).unwrap();
        zip.write_all(bytes).unwrap();
    };
    // The `mimetype` entry first and stored: what makes a ZIP an EPUB.
    add("mimetype", stored, b"application/epub+zip");
    add(
        "META-INF/container.xml",
        deflated,
        br#"<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>"#,
    );
    let mut items = String::new();
    let mut spine = String::new();
    let mut nav = String::new();
    for (n, (heading, _)) in chapters.iter().enumerate() {
        let n = n + 1;
        items.push_str(&format!(
            r#"<item id="c{n}" href="c{n}.xhtml" media-type="application/xhtml+xml"/>"#
        ));
        spine.push_str(&format!(r#"<itemref idref="c{n}"/>"#));
        nav.push_str(&format!(r#"<li><a href="c{n}.xhtml">{heading}</a></li>"#));
    }
    for (i, (path, media_type, _)) in resources.iter().enumerate() {
        items.push_str(&format!(
            r#"<item id="r{i}" href="{path}" media-type="{media_type}"/>"#
        ));
    }
    let opf = format!(
        r##"<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:identifier id="id">urn:isbn:{isbn}</dc:identifier>
    <dc:title>{title}</dc:title>
    <dc:creator id="a1">Test Author</dc:creator>
    <meta refines="#a1" property="role" scheme="marc:relators">aut</meta>
    <dc:language>en</dc:language>
    <dc:publisher>Test Press</dc:publisher>
    <meta property="dcterms:modified">2026-01-01T00:00:00Z</meta>
  </metadata>
  <manifest>
    <item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
    {items}
    <item id="pad" href="pad.bin" media-type="application/octet-stream"/>
  </manifest>
  <spine>{spine}</spine>
</package>"##
    );
    add("OEBPS/content.opf", deflated, opf.as_bytes());
    let nav = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><head><title>Contents</title></head>
<body><nav epub:type="toc"><ol>{nav}</ol></nav></body></html>"#
    );
    add("OEBPS/nav.xhtml", deflated, nav.as_bytes());
    for (n, (heading, body)) in chapters.iter().enumerate() {
        let page = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>{heading}</title></head><body>{body}</body></html>"#
        );
        add(
            &format!("OEBPS/c{}.xhtml", n + 1),
            deflated,
            page.as_bytes(),
        );
    }
    for (path, _, bytes) in resources {
        add(&format!("OEBPS/{path}"), deflated, bytes);
    }
    add("OEBPS/pad.bin", stored, &noise(padding));
    zip.finish().unwrap().into_inner()
}

/// A one-page PDF with a title and an author, its cross-reference table's offsets computed.
pub fn pdf(title: &str) -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>".to_string(),
        format!("<< /Title ({title}) /Author (Test Author) >>"),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = vec![];
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info 4 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

/// Bytes no compressor shrinks and no sniffer recognises (a fixed xorshift sequence).
pub fn noise(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15 ^ len as u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// A committed fixture's bytes (`tests/fixtures/media/`, made as its README says).
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/media/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}
