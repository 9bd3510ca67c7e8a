//! Paths inside an EPUB: hrefs are URLs relative to the document that holds them, and the
//! ZIP's entries are named from the archive's root. Resolved as strings only: nothing here
//! touches a filesystem, and a path climbing above the root is refused, not clamped.

/// The folder part of an entry's name (`EPUB/content.opf` → `EPUB`; a root entry → ``).
pub fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// An href split at its fragment: (`text/ch01.xhtml`, Some(`s2`)).
pub fn split_fragment(href: &str) -> (&str, Option<&str>) {
    match href.split_once('#') {
        Some((path, fragment)) => (path, Some(fragment)),
        None => (href, None),
    }
}

/// The entry an href written in the document at `base` points at, from the archive's root,
/// fragment kept (`EPUB/nav.xhtml` + `text/ch01.xhtml#s2` → `EPUB/text/ch01.xhtml#s2`).
/// `None` for links out of the book (`https://…`, `mailto:`) and paths above the root.
pub fn resolve(base: &str, href: &str) -> Option<String> {
    let (path, fragment) = split_fragment(href.trim());
    if has_scheme(path) {
        return None;
    }
    let resolved = if path.is_empty() {
        // `#s2` alone: a place in the document itself.
        base.to_owned()
    } else {
        let start = if path.starts_with('/') {
            ""
        } else {
            parent(base)
        };
        join(start, &percent_decode(path))?
    };
    Some(match fragment {
        Some(fragment) => format!("{resolved}#{fragment}"),
        None => resolved,
    })
}

/// `path` (from the archive's root) as seen from the folder `dir`
/// (`EPUB` + `EPUB/text/ch01.xhtml` → `text/ch01.xhtml`; `EPUB` + `cover.xhtml` →
/// `../cover.xhtml`).
pub fn relative_to(dir: &str, path: &str) -> String {
    let dir: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    let target: Vec<&str> = path.split('/').collect();
    // Only folders are shared; the last segment of `target` is the file itself.
    let shared = dir
        .iter()
        .zip(&target[..target.len().saturating_sub(1)])
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<&str> = vec![".."; dir.len() - shared];
    parts.extend_from_slice(&target[shared..]);
    parts.join("/")
}

/// A URL scheme before the first `/` (`http:`, `mailto:`, `data:`).
fn has_scheme(path: &str) -> bool {
    let before_slash = path.split('/').next().unwrap_or("");
    before_slash.contains(':')
}

/// `dir` and a relative path joined, `.` and `..` applied.
fn join(dir: &str, path: &str) -> Option<String> {
    let mut segments: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop()?;
            }
            _ => segments.push(segment),
        }
    }
    Some(segments.join("/"))
}

/// `%20` and the like decoded, as hrefs are URLs but entry names are not. Malformed escapes
/// are kept as written.
fn percent_decode(path: &str) -> String {
    if !path.contains('%') {
        return path.to_owned();
    }
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_against_the_document_folder() {
        assert_eq!(
            resolve("EPUB/nav.xhtml", "text/ch01.xhtml#s2").as_deref(),
            Some("EPUB/text/ch01.xhtml#s2")
        );
        assert_eq!(
            resolve("OEBPS/text/ch01.xhtml", "../images/c.jpg").as_deref(),
            Some("OEBPS/images/c.jpg")
        );
        assert_eq!(
            resolve("content.opf", "./a%20b.xhtml").as_deref(),
            Some("a b.xhtml")
        );
        assert_eq!(
            resolve("EPUB/nav.xhtml", "#toc").as_deref(),
            Some("EPUB/nav.xhtml#toc")
        );
        assert_eq!(
            resolve("EPUB/x/nav.xhtml", "/top.xhtml").as_deref(),
            Some("top.xhtml")
        );
    }

    #[test]
    fn refuses_escapes_and_outside_links() {
        assert_eq!(resolve("EPUB/nav.xhtml", "../../etc/passwd"), None);
        assert_eq!(resolve("nav.xhtml", "https://example.com/x"), None);
        assert_eq!(resolve("nav.xhtml", "mailto:a@b"), None);
    }

    #[test]
    fn relative_paths_from_a_folder() {
        assert_eq!(
            relative_to("EPUB", "EPUB/text/ch01.xhtml"),
            "text/ch01.xhtml"
        );
        assert_eq!(relative_to("", "text/ch01.xhtml"), "text/ch01.xhtml");
        assert_eq!(relative_to("EPUB", "cover.xhtml"), "../cover.xhtml");
        assert_eq!(relative_to("OPS/a", "OPS/b/c.xhtml"), "../b/c.xhtml");
    }

    #[test]
    fn malformed_escapes_are_kept() {
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "\u{e9}");
    }
}
