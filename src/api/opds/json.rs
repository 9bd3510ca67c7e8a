//! OPDS 2.0: a feed written as JSON, and the authentication document.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::feed::{BUY, Body, Entry, Feed, Kind, Navigation, file_rel, path_with};
use crate::service::acquisition::{Acquisition, Offer};
use crate::service::catalog::currency;

const ROOT: &str = "/opds/v2";
const FEED: &str = "application/opds+json";
const AUTHENTICATION: &str = "application/opds-authentication+json";
const AUDIOBOOK_MANIFEST: &str = "application/audiobook+json";

fn href(path: &str) -> String {
    format!("{ROOT}/{path}")
}

pub fn feed_response(feed: &Feed) -> Response {
    ([(header::CONTENT_TYPE, FEED)], write_feed(feed).to_string()).into_response()
}

/// The document an app reads to learn how to sign in: HTTP Basic, with the password or an
/// API key. Also the body of every 401 under `/opds/v2/`.
pub async fn authentication() -> Response {
    authentication_response()
}

pub fn authentication_response() -> Response {
    let document = json!({
        "id": "urn:folio:opds:auth",
        "title": "folio",
        "description": "Sign in with your folio username and password, or your username and \
                        an API key as the password.",
        "authentication": [{
            "type": "http://opds-spec.org/auth/basic",
            "labels": {"login": "Username", "password": "Password or API key"},
        }],
        "links": [{"rel": "start", "href": href("catalog"), "type": FEED}],
    });
    (
        [(header::CONTENT_TYPE, AUTHENTICATION)],
        document.to_string(),
    )
        .into_response()
}

pub fn write_feed(feed: &Feed) -> Value {
    let with_cursor = |cursor: Option<&String>| {
        let mut params = feed.params.clone();
        if let Some(cursor) = cursor {
            params.push(("cursor", cursor.clone()));
        }
        href(&path_with(&feed.path, &params))
    };
    let mut links = vec![
        json!({"rel": "self", "href": with_cursor(feed.pages.this.as_ref()), "type": FEED}),
        json!({"rel": "start", "href": href("catalog"), "type": FEED}),
        json!({"rel": "search", "href": href("search{?query}"), "type": FEED, "templated": true}),
        json!({
            "rel": "http://opds-spec.org/auth/document",
            "href": href("auth"),
            "type": AUTHENTICATION,
        }),
    ];
    if feed.pages.this.is_some() || feed.pages.next.is_some() {
        links.push(json!({"rel": "first", "href": with_cursor(None), "type": FEED}));
    }
    if let Some(previous) = &feed.pages.previous {
        links
            .push(json!({"rel": "previous", "href": with_cursor(previous.as_ref()), "type": FEED}));
    }
    if let Some(next) = &feed.pages.next {
        links.push(json!({"rel": "next", "href": with_cursor(Some(next)), "type": FEED}));
    }
    let mut document = Map::new();
    document.insert(
        "metadata".into(),
        json!({"title": feed.title, "modified": feed.updated.to_rfc3339(), "itemsPerPage": super::PAGE}),
    );
    document.insert("links".into(), Value::Array(links));
    if !feed.facets.is_empty() {
        let facet_links: Vec<Value> = feed
            .facets
            .iter()
            .map(|f| {
                let mut link = json!({"href": href(&f.path), "type": FEED, "title": f.title});
                if f.active {
                    link["rel"] = json!("self");
                }
                link
            })
            .collect();
        document.insert(
            "facets".into(),
            json!([{"metadata": {"title": feed.facets[0].group}, "links": facet_links}]),
        );
    }
    let (navigation, publications): (Vec<Value>, Vec<Value>) = match &feed.body {
        Body::Navigation(links) => (links.iter().map(navigation_link).collect(), vec![]),
        Body::Publications {
            entries,
            subsections,
        } => (
            subsections.iter().map(navigation_link).collect(),
            entries.iter().map(publication).collect(),
        ),
    };
    // A feed needs something in it: an empty page leads back to the catalog.
    let navigation = if navigation.is_empty() && publications.is_empty() {
        vec![
            json!({"href": href("catalog"), "title": "Nothing here — back to the catalog", "type": FEED}),
        ]
    } else {
        navigation
    };
    if !navigation.is_empty() {
        document.insert("navigation".into(), Value::Array(navigation));
    }
    if !publications.is_empty() {
        document.insert("publications".into(), Value::Array(publications));
    }
    Value::Object(document)
}

fn navigation_link(nav: &Navigation) -> Value {
    let mut link = json!({"href": href(&nav.path), "title": nav.title, "type": FEED});
    if nav.publications {
        link["rel"] = json!("collection");
    }
    link
}

fn publication(entry: &Entry) -> Value {
    let book = &entry.book;
    let mut metadata = Map::new();
    let kind = match entry.kind {
        Kind::Book => "http://schema.org/Book",
        Kind::Audiobook => "http://schema.org/Audiobook",
    };
    metadata.insert("@type".into(), json!(kind));
    metadata.insert("identifier".into(), json!(entry.id));
    metadata.insert("title".into(), json!(entry.title()));
    if let Some(subtitle) = &book.book.subtitle {
        metadata.insert("subtitle".into(), json!(subtitle));
    }
    if let Some(series) = &book.book.series {
        let mut member = json!({"name": series});
        if let Some(position) = book.book.series_number {
            member["position"] = json!(position);
        }
        metadata.insert("belongsTo".into(), json!({"series": [member]}));
    }
    let authors: Vec<Value> = book
        .authors
        .iter()
        .map(|a| json!({"name": a.name, "links": [{"href": href(&format!("authors/{}", a.id)), "type": FEED}]}))
        .collect();
    if !authors.is_empty() {
        metadata.insert("author".into(), Value::Array(authors));
    }
    let editions = entry.editions.iter().map(|(e, _)| &e.edition);
    if let Some(language) = editions
        .clone()
        .find_map(|e| e.language.clone())
        .or_else(|| book.book.language.clone())
    {
        metadata.insert("language".into(), json!(language));
    }
    if let Some(publisher) = editions.clone().find_map(|e| e.publisher.clone()) {
        metadata.insert("publisher".into(), json!(publisher));
    }
    if let Some(description) = &book.book.description {
        metadata.insert("description".into(), json!(description));
    }
    if entry.kind == Kind::Audiobook
        && let Some(duration) = editions.clone().find_map(|e| e.duration_seconds)
    {
        metadata.insert("duration".into(), json!(duration));
    }
    metadata.insert("modified".into(), json!(entry.updated().to_rfc3339()));
    let subjects: Vec<Value> = book
        .categories
        .iter()
        .map(|c| json!({"name": c.name, "code": c.slug, "links": [{"href": href(&format!("categories/{}", c.slug)), "type": FEED}]}))
        .collect();
    if !subjects.is_empty() {
        metadata.insert("subject".into(), Value::Array(subjects));
    }
    if let Some(percent) = entry.progress {
        // Not an OPDS term: where the reader is, for apps (and people) that look.
        metadata.insert("folio:progression".into(), json!(percent));
    }

    let mut links = vec![];
    for (edition, offer) in &entry.editions {
        if let Some(offer) = offer {
            acquisition_links(&mut links, edition.edition.id, entry.kind, offer);
        }
    }
    let images = match &book.cover {
        Some(cover) => vec![
            json!({"href": format!("/api/v1/covers/{}", cover.medium), "type": "image/jpeg", "width": 480}),
            json!({"href": format!("/api/v1/covers/{}", cover.thumb), "type": "image/jpeg", "width": 160}),
        ],
        None => vec![
            json!({"href": "/opds/cover.png", "type": "image/png", "width": 320, "height": 480}),
        ],
    };
    json!({"metadata": metadata, "links": links, "images": images})
}

fn acquisition_links(links: &mut Vec<Value>, edition_id: i64, kind: Kind, offer: &Offer) {
    if let Acquisition::Buy {
        price_minor,
        currency: code,
    } = &offer.acquisition
    {
        let value: Value = serde_json::from_str(&currency::decimal(*price_minor, code))
            .expect("a decimal is a JSON number");
        let mut properties = json!({"price": {"currency": code, "value": value}});
        if !offer.files.is_empty() {
            let mut types: Vec<&str> = match kind {
                Kind::Audiobook => vec![AUDIOBOOK_MANIFEST],
                Kind::Book => offer.files.iter().map(|f| f.media_type.as_str()).collect(),
            };
            types.dedup();
            let indirect: Vec<Value> = types.iter().map(|t| json!({"type": t})).collect();
            properties["indirectAcquisition"] = Value::Array(indirect);
        }
        links.push(json!({
            "rel": BUY,
            "href": format!("/api/v1/editions/{edition_id}"),
            "type": "application/json",
            "properties": properties,
        }));
        return;
    }
    let Some(rel) = file_rel(&offer.acquisition) else {
        return;
    };
    match kind {
        // An audiobook is acquired as its manifest, which lists the tracks and chapters.
        Kind::Audiobook => links.push(json!({
            "rel": rel,
            "href": format!("/opds/editions/{edition_id}/manifest"),
            "type": AUDIOBOOK_MANIFEST,
        })),
        Kind::Book => {
            for file in &offer.files {
                links.push(json!({
                    "rel": rel,
                    "href": format!("/opds/files/{}/content", file.id),
                    "type": file.media_type,
                    "title": file.name,
                }));
            }
        }
    }
}
