//! A feed as both OPDS versions show it: what the services answered, arranged into entries,
//! links and facets. `atom.rs` writes it as OPDS 1.2, `json.rs` as OPDS 2.0; neither decides
//! anything about books, access or pages.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

use crate::entity::enums::EditionFormat;
use crate::repo::book_view::BookView;
use crate::repo::edition_view::EditionView;
use crate::service::acquisition::{Acquisition, Offer};

/// How far back "previous" links reach: a keyset cursor only knows where a page starts, so the
/// cursor carries the starts of the pages before it, up to this many.
const BACK: usize = 20;

pub struct Feed {
    /// `urn:folio:opds:<path>`.
    pub id: String,
    pub title: String,
    /// The feed's path below the version's root (`new`, `authors/3`).
    pub path: String,
    /// This feed's parameters apart from the cursor (`sort`, `q`), for its links.
    pub params: Vec<(&'static str, String)>,
    pub pages: Pages,
    pub facets: Vec<Facet>,
    pub body: Body,
    pub updated: DateTime<Utc>,
}

/// The cursors of this page and of its neighbours.
#[derive(Default)]
pub struct Pages {
    pub this: Option<String>,
    pub next: Option<String>,
    /// `Some(None)`: the previous page is the first.
    pub previous: Option<Option<String>>,
}

pub enum Body {
    Navigation(Vec<Navigation>),
    Publications {
        entries: Vec<Entry>,
        /// Narrower lists (a category's sub-categories).
        subsections: Vec<Navigation>,
    },
}

/// A link to another feed.
pub struct Navigation {
    pub id: String,
    pub title: String,
    /// Below the version's root, with its query.
    pub path: String,
    pub summary: Option<String>,
    /// Whether the linked feed lists publications (else more navigation).
    pub publications: bool,
}

/// A sort order or other choice offered on a feed of publications.
pub struct Facet {
    pub group: &'static str,
    pub title: String,
    pub path: String,
    pub active: bool,
}

/// One publication: a book's ebook (and print) editions, or one audiobook edition.
pub struct Entry {
    pub id: String,
    pub book: BookView,
    pub kind: Kind,
    /// The editions this entry offers, each with its files' offer when it has files.
    pub editions: Vec<(EditionView, Option<Offer>)>,
    /// Where the reader is in the book (0–1), on the "reading" feed.
    pub progress: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Book,
    Audiobook,
}

impl Entry {
    /// The entry's title: an audiobook edition's own printed title when it has one, else the
    /// book's.
    pub fn title(&self) -> &str {
        match (self.kind, self.editions.as_slice()) {
            (Kind::Audiobook, [(only, _)]) => only
                .edition
                .title
                .as_deref()
                .unwrap_or(&self.book.book.title),
            _ => &self.book.book.title,
        }
    }

    /// A book's entries: one for its editions other than audiobooks, and one per audiobook
    /// edition, so an app shows an audiobook as one; each only when it offers something
    /// (files to download, or a sale). A catalog for apps lists what can be read or bought.
    pub fn of(book: BookView, offers: &HashMap<i64, Offer>, progress: Option<f64>) -> Vec<Entry> {
        let (audio, other): (Vec<_>, Vec<_>) = book
            .editions
            .iter()
            .cloned()
            .partition(|e| e.edition.format == EditionFormat::Audiobook);
        let with_offer = |e: EditionView| {
            let offer = offers.get(&e.edition.id).cloned();
            (e, offer)
        };
        let mut entries = vec![];
        if other.iter().any(|e| offers.contains_key(&e.edition.id)) {
            let id = other
                .iter()
                .filter(|e| e.edition.format == EditionFormat::Ebook)
                .chain(other.iter())
                .find_map(|e| e.edition.isbn.as_ref())
                .map_or_else(
                    || format!("urn:folio:book:{}", book.book.id),
                    |isbn| format!("urn:isbn:{isbn}"),
                );
            entries.push(Entry {
                id,
                book: book.clone(),
                kind: Kind::Book,
                editions: other.into_iter().map(with_offer).collect(),
                progress,
            });
        }
        for edition in audio {
            if !offers.contains_key(&edition.edition.id) {
                continue;
            }
            let id = edition.edition.isbn.as_ref().map_or_else(
                || format!("urn:folio:edition:{}", edition.edition.id),
                |isbn| format!("urn:isbn:{isbn}"),
            );
            entries.push(Entry {
                id,
                book: book.clone(),
                kind: Kind::Audiobook,
                editions: vec![with_offer(edition)],
                progress,
            });
        }
        entries
    }

    /// When the entry last changed: its book or any of its editions.
    pub fn updated(&self) -> DateTime<Utc> {
        self.editions
            .iter()
            .map(|(e, _)| e.edition.updated_at)
            .fold(self.book.book.updated_at, DateTime::max)
    }
}

/// A feed's cursor: where this page starts, in which order, and where the pages before it
/// started (for "previous").
#[derive(Serialize, Deserialize)]
pub struct Cursor<K> {
    pub sort: String,
    pub after: Option<K>,
    pub back: Vec<Option<K>>,
}

impl<K: Serialize + Clone> Cursor<K> {
    /// The cursors around a page that started at `self` (`None`: the first page) and ended at
    /// `last` with more after it when `has_more`.
    pub fn pages(this: Option<&Self>, sort: &str, last: Option<K>, has_more: bool) -> Pages {
        use super::super::pagination::encode;
        let (after, back) = match this {
            Some(c) => (c.after.clone(), c.back.clone()),
            None => (None, vec![]),
        };
        let next = match (has_more, last) {
            (true, Some(last)) => {
                let mut back = back.clone();
                back.push(after.clone());
                if back.len() > BACK {
                    back.remove(0);
                }
                Some(encode(&Cursor {
                    sort: sort.to_string(),
                    after: Some(last),
                    back,
                }))
            }
            _ => None,
        };
        let previous = match (this, back.split_last()) {
            (None, _) => None,
            (Some(_), Some((Some(start), rest))) => Some(Some(encode(&Cursor {
                sort: sort.to_string(),
                after: Some(start.clone()),
                back: rest.to_vec(),
            }))),
            // The page before started at the top, or is further back than remembered.
            (Some(_), _) => Some(None),
        };
        Pages {
            this: this.map(encode),
            next,
            previous,
        }
    }
}

/// A path below the version's root with its query, escaped.
pub fn path_with(path: &str, params: &[(&str, String)]) -> String {
    if params.is_empty() {
        return path.to_string();
    }
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    format!("{path}?{query}")
}

/// The link relation of files offered this way; `None` for a sale (a link of its own, with
/// its price) and for nothing.
pub fn file_rel(acquisition: &Acquisition) -> Option<&'static str> {
    match acquisition {
        Acquisition::OpenAccess => Some("http://opds-spec.org/acquisition/open-access"),
        Acquisition::Download | Acquisition::SignIn => Some("http://opds-spec.org/acquisition"),
        Acquisition::Buy { .. } | Acquisition::Unavailable => None,
    }
}

/// The link relation of a sale.
pub const BUY: &str = "http://opds-spec.org/acquisition/buy";
