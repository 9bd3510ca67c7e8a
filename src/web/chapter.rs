//! A spine document of an EPUB made into a piece of a folio page. A book's XHTML is untrusted:
//! it goes through ammonia's allowlist, so no script, event handler, `javascript:` link,
//! frame, form or object survives, and its links are rewritten to stay inside the reader —
//! another chapter becomes `/read/{edition}?chapter=N`, an image or stylesheet the book's
//! resource route, a place in the page an id with the book's prefix. Images from anywhere
//! else are dropped (a remote image would tell a third party who reads what); the page's
//! Content-Security-Policy stands behind all of it.

use std::borrow::Cow;
use std::collections::HashSet;

use crate::media::epub::href;

/// Ids from the book get this prefix, so none can stand in for one of the page's own.
pub const ID_PREFIX: &str = "book-";

pub struct Chapter {
    /// The sanitised body, ready to place in the page.
    pub html: String,
    /// The book's stylesheets for this document, as paths of the resource route.
    pub stylesheets: Vec<String>,
}

/// Where a reference inside the book leads in folio.
#[derive(Clone)]
struct Links {
    edition_id: i64,
    /// The document's own path in the archive.
    document: String,
    spine: Vec<String>,
}

impl Links {
    /// A relative URL of the document, as folio serves it; `None` to drop it.
    fn rewrite(&self, url: &str) -> Option<String> {
        let resolved = href::resolve(&self.document, url)?;
        let (path, fragment) = href::split_fragment(&resolved);
        let fragment = fragment
            .map(|f| format!("#{ID_PREFIX}{f}"))
            .unwrap_or_default();
        if path == self.document {
            return Some(if fragment.is_empty() {
                "#".into()
            } else {
                fragment
            });
        }
        if let Some(index) = self.spine.iter().position(|doc| doc == path) {
            return Some(format!(
                "/read/{}?chapter={}{fragment}",
                self.edition_id,
                index + 1
            ));
        }
        Some(resource_url(self.edition_id, path))
    }
}

impl<'a> ammonia::UrlRelativeEvaluate<'a> for Links {
    fn evaluate<'url>(&self, url: &'url str) -> Option<Cow<'url, str>> {
        self.rewrite(url).map(Cow::Owned)
    }
}

/// The route a resource of the book (an image, a stylesheet) is fetched from.
pub fn resource_url(edition_id: i64, path: &str) -> String {
    let encoded: String = path
        .split('/')
        .map(|part| percent_encoding::utf8_percent_encode(part, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/");
    format!("/read/{edition_id}/res/{encoded}")
}

const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Renders the spine document at `document` (its bytes as stored).
pub fn render(xhtml: &[u8], document: &str, spine: &[String], edition_id: i64) -> Chapter {
    let source = String::from_utf8_lossy(xhtml);
    let links = Links {
        edition_id,
        document: document.to_string(),
        spine: spine.to_vec(),
    };
    let stylesheets = stylesheets(&source)
        .into_iter()
        .filter_map(|href| links.rewrite(&href))
        .filter(|url| url.starts_with("/read/"))
        .collect();
    let rewriter = links.clone();
    let html = ammonia::Builder::default()
        .add_tags([
            "section", "article", "aside", "nav", "header", "footer", "main",
        ])
        .add_generic_attributes(["id", "class", "lang", "dir", "title"])
        .id_prefix(Some(ID_PREFIX))
        .add_clean_content_tags(["title", "head"])
        .link_rel(Some("noopener noreferrer"))
        .url_relative(ammonia::UrlRelative::Custom(Box::new(rewriter)))
        .attribute_filter(|element, attribute, value| {
            // An image from another site would load as the reader reads: dropped.
            let remote = value.contains("://") || value.trim_start().starts_with("//");
            if matches!(attribute, "src" | "srcset") && remote {
                return None;
            }
            let _ = element;
            Some(Cow::Borrowed(value))
        })
        .clean(&source)
        .to_string();
    Chapter { html, stylesheets }
}

/// The `href`s of `<link rel="stylesheet">` elements, in order.
fn stylesheets(source: &str) -> Vec<String> {
    let mut found = vec![];
    let mut seen = HashSet::new();
    let lower = source.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = lower[from..].find("<link") {
        let start = from + at;
        let Some(end) = lower[start..].find('>').map(|e| start + e) else {
            break;
        };
        let tag = &source[start..end];
        let tag_lower = &lower[start..end];
        if tag_lower.contains("stylesheet")
            && let Some(href) = attribute(tag, tag_lower, "href")
            && seen.insert(href.clone())
        {
            found.push(href);
        }
        from = end;
    }
    found
}

/// An attribute's value in a tag's text, quoted either way.
fn attribute(tag: &str, tag_lower: &str, name: &str) -> Option<String> {
    let at = tag_lower.find(&format!("{name}="))? + name.len() + 1;
    let rest = &tag[at..];
    let quote = rest.chars().next()?;
    if quote == '"' || quote == '\'' {
        rest[1..].split(quote).next().map(str::to_string)
    } else {
        rest.split([' ', '/', '>']).next().map(str::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spine() -> Vec<String> {
        vec!["OEBPS/ch1.xhtml".into(), "OEBPS/text/ch2.xhtml".into()]
    }

    #[test]
    fn nothing_in_a_chapter_can_run_or_call_out() {
        let xhtml = br##"<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml">
<head><title>Secret title</title><script>alert(1)</script>
<link rel="stylesheet" type="text/css" href="../css/book.css"/></head>
<body onload="alert(2)"><h1 id="top">One</h1>
<p onclick="alert(3)">Text <a href="javascript:alert(4)">bad</a> <a href="text/ch2.xhtml#s2">next</a>
<a href="https://example.org/">out</a> <a href="#top">up</a></p>
<img src="https://tracker.example/pixel.gif" alt="remote"/><img src="images/fig%201.png" alt="local"/>
<iframe src="https://example.org"></iframe><form action="https://evil.example"><input name="x"/></form>
<svg onload="alert(5)"><script>alert(6)</script></svg><style>body{display:none}</style>
<object data="x.swf"></object><p style="position:fixed">styled</p></body></html>"##;
        let chapter = render(xhtml, "OEBPS/ch1.xhtml", &spine(), 7);
        let html = chapter.html;
        for gone in [
            "<script",
            "alert(",
            "onload",
            "onclick",
            "javascript:",
            "<iframe",
            "<form",
            "<input",
            "<object",
            "<style",
            "tracker.example",
            "Secret title",
            "position:fixed",
        ] {
            assert!(!html.contains(gone), "{gone} survived: {html}");
        }
        assert!(html.contains(r#"<h1 id="book-top">One</h1>"#), "{html}");
        assert!(
            html.contains(r#"href="/read/7?chapter=2#book-s2""#),
            "{html}"
        );
        assert!(html.contains(r#"href="https://example.org/""#), "{html}");
        assert!(html.contains(r#"rel="noopener noreferrer""#), "{html}");
        assert!(html.contains(r##"href="#book-top""##), "{html}");
        assert!(
            html.contains(r#"src="/read/7/res/OEBPS/images/fig%201.png""#),
            "{html}"
        );
        assert_eq!(chapter.stylesheets, ["/read/7/res/css/book.css"]);
    }

    #[test]
    fn links_out_of_the_archive_are_dropped() {
        let html = render(
            br#"<p><a href="../../../etc/passwd">x</a><img src="../../x.png"/></p>"#,
            "OEBPS/ch1.xhtml",
            &spine(),
            7,
        )
        .html;
        assert!(
            !html.contains("passwd") && !html.contains("x.png"),
            "{html}"
        );
    }
}
