//! OPDS 1.2: a feed written as Atom, and the OpenSearch description its search link names.

use std::fmt::Write;

use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use quick_xml::escape::escape;

use super::feed::{BUY, Body, Entry, Feed, Kind, Navigation, file_rel, path_with};
use crate::service::acquisition::{Acquisition, Offer};
use crate::service::catalog::currency;

const ROOT: &str = "/opds/v1.2";
const NAVIGATION: &str = "application/atom+xml;profile=opds-catalog;kind=navigation";
const ACQUISITION: &str = "application/atom+xml;profile=opds-catalog;kind=acquisition";

pub fn feed_response(feed: &Feed) -> Response {
    let kind = match feed.body {
        Body::Navigation(_) => NAVIGATION,
        Body::Publications { .. } => ACQUISITION,
    };
    ([(header::CONTENT_TYPE, kind)], write_feed(feed)).into_response()
}

fn href(path: &str) -> String {
    format!("{ROOT}/{path}")
}

/// `<link …/>` with escaped attributes; `inner` goes inside when not empty.
fn link(out: &mut String, attributes: &[(&str, &str)], inner: &str) {
    out.push_str("<link");
    for (name, value) in attributes {
        let _ = write!(out, " {name}=\"{}\"", escape(*value));
    }
    if inner.is_empty() {
        out.push_str("/>\n");
    } else {
        let _ = writeln!(out, ">{inner}</link>");
    }
}

fn element(out: &mut String, name: &str, text: &str) {
    let _ = writeln!(out, "<{name}>{}</{name}>", escape(text));
}

pub fn write_feed(feed: &Feed) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:opds=\"http://opds-spec.org/2010/catalog\" \
         xmlns:dc=\"http://purl.org/dc/terms/\">\n",
    );
    element(&mut out, "id", &feed.id);
    element(&mut out, "title", &feed.title);
    element(&mut out, "updated", &feed.updated.to_rfc3339());
    out.push_str("<author><name>folio</name></author>\n");
    let kind = match feed.body {
        Body::Navigation(_) => NAVIGATION,
        Body::Publications { .. } => ACQUISITION,
    };
    let with_cursor = |cursor: Option<&String>| {
        let mut params = feed.params.clone();
        if let Some(cursor) = cursor {
            params.push(("cursor", cursor.clone()));
        }
        href(&path_with(&feed.path, &params))
    };
    let this = with_cursor(feed.pages.this.as_ref());
    link(
        &mut out,
        &[("rel", "self"), ("href", &this), ("type", kind)],
        "",
    );
    link(
        &mut out,
        &[
            ("rel", "start"),
            ("href", &href("catalog")),
            ("type", NAVIGATION),
        ],
        "",
    );
    link(
        &mut out,
        &[
            ("rel", "search"),
            ("href", &href("opensearch.xml")),
            ("type", "application/opensearchdescription+xml"),
        ],
        "",
    );
    if feed.pages.this.is_some() || feed.pages.next.is_some() {
        let first = with_cursor(None);
        link(
            &mut out,
            &[("rel", "first"), ("href", &first), ("type", kind)],
            "",
        );
    }
    if let Some(previous) = &feed.pages.previous {
        let previous = with_cursor(previous.as_ref());
        link(
            &mut out,
            &[("rel", "previous"), ("href", &previous), ("type", kind)],
            "",
        );
    }
    if let Some(next) = &feed.pages.next {
        let next = with_cursor(Some(next));
        link(
            &mut out,
            &[("rel", "next"), ("href", &next), ("type", kind)],
            "",
        );
    }
    for facet in &feed.facets {
        let mut attributes = vec![
            ("rel", "http://opds-spec.org/facet"),
            ("type", ACQUISITION),
            ("title", facet.title.as_str()),
            ("opds:facetGroup", facet.group),
        ];
        let target = href(&facet.path);
        attributes.push(("href", &target));
        if facet.active {
            attributes.push(("opds:activeFacet", "true"));
        }
        link(&mut out, &attributes, "");
    }
    match &feed.body {
        Body::Navigation(links) => {
            for nav in links {
                navigation_entry(&mut out, nav, feed);
            }
        }
        Body::Publications {
            entries,
            subsections,
        } => {
            for nav in subsections {
                let target = href(&nav.path);
                link(
                    &mut out,
                    &[
                        ("rel", "subsection"),
                        ("href", &target),
                        ("type", ACQUISITION),
                        ("title", &nav.title),
                    ],
                    "",
                );
            }
            for entry in entries {
                publication_entry(&mut out, entry);
            }
        }
    }
    out.push_str("</feed>\n");
    out
}

fn navigation_entry(out: &mut String, nav: &Navigation, feed: &Feed) {
    out.push_str("<entry>\n");
    element(out, "title", &nav.title);
    element(out, "id", &nav.id);
    element(out, "updated", &feed.updated.to_rfc3339());
    if let Some(summary) = &nav.summary {
        let _ = writeln!(
            out,
            "<content type=\"text\">{}</content>",
            escape(summary.as_str())
        );
    }
    let kind = if nav.publications {
        ACQUISITION
    } else {
        NAVIGATION
    };
    let target = href(&nav.path);
    link(
        out,
        &[("rel", "subsection"), ("href", &target), ("type", kind)],
        "",
    );
    out.push_str("</entry>\n");
}

fn publication_entry(out: &mut String, entry: &Entry) {
    let book = &entry.book;
    out.push_str("<entry>\n");
    let title = match entry.kind {
        Kind::Book => entry.title().to_string(),
        Kind::Audiobook => format!("{} (audiobook)", entry.title()),
    };
    element(out, "title", &title);
    element(out, "id", &entry.id);
    element(out, "updated", &entry.updated().to_rfc3339());
    for author in &book.authors {
        let _ = writeln!(
            out,
            "<author><name>{}</name><uri>{}</uri></author>",
            escape(author.name.as_str()),
            escape(href(&format!("authors/{}", author.id)).as_str())
        );
    }
    let language = entry
        .editions
        .iter()
        .find_map(|(e, _)| e.edition.language.clone())
        .or_else(|| book.book.language.clone());
    if let Some(language) = language {
        element(out, "dc:language", &language);
    }
    if let Some(year) = book.book.original_year.filter(|y| (1..=9999).contains(y)) {
        element(out, "dc:issued", &format!("{year:04}"));
    }
    if let Some(publisher) = entry
        .editions
        .iter()
        .find_map(|(e, _)| e.edition.publisher.clone())
    {
        element(out, "dc:publisher", &publisher);
    }
    if let Some(series) = &book.book.series {
        element(out, "dc:isPartOf", series);
    }
    for category in &book.categories {
        let _ = writeln!(
            out,
            "<category term=\"{}\" label=\"{}\"/>",
            escape(category.slug.as_str()),
            escape(category.name.as_str())
        );
    }
    if let Some(description) = &book.book.description {
        let _ = writeln!(
            out,
            "<summary type=\"text\">{}</summary>",
            escape(description.as_str())
        );
    }
    if let Some(percent) = entry.progress {
        let _ = writeln!(
            out,
            "<content type=\"text\">{} % read</content>",
            (percent * 100.0).round()
        );
    }
    if let Some(cover) = &book.cover {
        let full = format!("/api/v1/covers/{}", cover.sha256);
        let thumb = format!("/api/v1/covers/{}", cover.thumb);
        link(
            out,
            &[("rel", "http://opds-spec.org/image"), ("href", &full)],
            "",
        );
        link(
            out,
            &[
                ("rel", "http://opds-spec.org/image/thumbnail"),
                ("href", &thumb),
                ("type", "image/jpeg"),
            ],
            "",
        );
    }
    for (edition, offer) in &entry.editions {
        if let Some(offer) = offer {
            acquisition_links(out, edition.edition.id, offer);
        }
    }
    out.push_str("</entry>\n");
}

fn acquisition_links(out: &mut String, edition_id: i64, offer: &Offer) {
    if let Acquisition::Buy {
        price_minor,
        currency: code,
    } = &offer.acquisition
    {
        let mut inner = format!(
            "<opds:price currencycode=\"{}\">{}</opds:price>",
            escape(code.as_str()),
            currency::decimal(*price_minor, code)
        );
        let mut types: Vec<&str> = offer.files.iter().map(|f| f.media_type.as_str()).collect();
        types.dedup();
        for media_type in types {
            let _ = write!(
                inner,
                "<opds:indirectAcquisition type=\"{}\"/>",
                escape(media_type)
            );
        }
        let target = format!("/api/v1/editions/{edition_id}");
        let attributes = [
            ("rel", BUY),
            ("href", &target),
            ("type", "application/json"),
        ];
        link(out, &attributes, &inner);
        return;
    }
    let Some(rel) = file_rel(&offer.acquisition) else {
        return;
    };
    for file in &offer.files {
        let target = format!("/opds/files/{}/content", file.id);
        let length = file.size.to_string();
        link(
            out,
            &[
                ("rel", rel),
                ("href", &target),
                ("type", &file.media_type),
                ("title", &file.name),
                ("length", &length),
            ],
            "",
        );
    }
}

/// The OpenSearch description the 1.2 feeds' search link names. Its template is absolute
/// (from the request's `Host`, and `X-Forwarded-Proto` behind a TLS proxy), as some apps do
/// not resolve a relative one.
pub async fn opensearch(headers: HeaderMap) -> Response {
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    let base = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".:-[]".contains(c))
        })
        .map(|host| format!("{scheme}://{host}"))
        .unwrap_or_default();
    let template = format!("{base}{ROOT}/search?q={{searchTerms}}");
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <OpenSearchDescription xmlns=\"http://a9.com/-/spec/opensearch/1.1/\">\n\
         <ShortName>folio</ShortName>\n\
         <Description>Search the catalog by title, author or description</Description>\n\
         <InputEncoding>UTF-8</InputEncoding>\n\
         <OutputEncoding>UTF-8</OutputEncoding>\n\
         <Url type=\"{ACQUISITION}\" template=\"{}\"/>\n\
         </OpenSearchDescription>\n",
        escape(template.as_str())
    );
    (
        [(
            header::CONTENT_TYPE,
            "application/opensearchdescription+xml",
        )],
        body,
    )
        .into_response()
}
