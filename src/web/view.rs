//! What the templates show of the services' answers, already in the reader's language: the
//! templates only place text, they do not decide or format it.

use std::collections::HashMap;

use crate::entity::enums::EditionFormat;
use crate::repo::book_view::BookView;
use crate::service::acquisition::{Acquisition, Offer};

use super::i18n::Locale;

/// A book in a grid: cover, title, authors, and the reader's place in it if any.
pub struct Card {
    pub id: i64,
    pub title: String,
    pub authors: String,
    /// The thumbnail's path; none draws the title on a plain cover.
    pub cover: Option<String>,
    pub formats: String,
    /// "42 %" through the book, for "continue".
    pub progress: Option<String>,
    /// 0–100, for the bar under the cover.
    pub progress_percent: u32,
}

impl Card {
    pub fn of(view: &BookView, locale: Locale) -> Self {
        Self {
            id: view.book.id,
            title: view.book.title.clone(),
            authors: authors(view),
            cover: view
                .cover
                .as_ref()
                .map(|c| format!("/api/v1/covers/{}", c.thumb)),
            formats: formats(view, locale),
            progress: None,
            progress_percent: 0,
        }
    }

    pub fn with_progress(mut self, percent: f64) -> Self {
        let percent = (percent.clamp(0.0, 1.0) * 100.0).round() as u32;
        self.progress = Some(format!("{percent}\u{a0}%"));
        self.progress_percent = percent;
        self
    }
}

pub fn authors(view: &BookView) -> String {
    view.authors
        .iter()
        .map(|a| a.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The formats a book comes in, once each, in the catalogue's words.
fn formats(view: &BookView, locale: Locale) -> String {
    let mut seen: Vec<EditionFormat> = vec![];
    for edition in &view.editions {
        if !seen.contains(&edition.edition.format) {
            seen.push(edition.edition.format);
        }
    }
    seen.iter()
        .map(|f| format_name(*f, locale))
        .collect::<Vec<_>>()
        .join(" · ")
}

pub fn format_name(format: EditionFormat, locale: Locale) -> String {
    locale.t(match format {
        EditionFormat::Print => "format-print",
        EditionFormat::Ebook => "format-ebook",
        EditionFormat::Audiobook => "format-audiobook",
        EditionFormat::Vinyl => "format-vinyl",
    })
}

/// An edition on a book page, with what this reader may do with it.
pub struct EditionRow {
    pub id: i64,
    pub format: String,
    /// Publisher, year, pages or length, ISBN: what tells editions apart.
    pub facts: Vec<String>,
    pub price: Option<String>,
    pub action: Action,
    /// The file to download, when there is one this reader may fetch.
    pub download: Option<i64>,
    /// Where to read it: the EPUB reader, or the browser's own PDF viewer.
    pub read: Option<String>,
    /// Where to listen to it: the player.
    pub listen: Option<String>,
}

/// The one thing a reader can do next with an edition.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// The files are theirs to open: free, members', bought, or an admin's.
    Open,
    /// For sale and not theirs.
    Buy,
    /// Signing in may open it (a members' edition, or nothing known while signed out).
    SignIn,
    /// Nothing to read or buy here (a print edition without a price, say).
    None,
}

impl EditionRow {
    pub fn of(view: &BookView, offers: &HashMap<i64, Offer>, locale: Locale) -> Vec<Self> {
        view.editions
            .iter()
            .map(|e| {
                let edition = &e.edition;
                let offer = offers.get(&edition.id);
                let action = match offer.map(|o| &o.acquisition) {
                    Some(Acquisition::OpenAccess | Acquisition::Download) => Action::Open,
                    Some(Acquisition::Buy { .. }) => Action::Buy,
                    Some(Acquisition::SignIn) => Action::SignIn,
                    Some(Acquisition::Unavailable) | None => Action::None,
                };
                let first = match action {
                    Action::Open => offer.and_then(|o| o.files.first()),
                    _ => None,
                };
                let download = first.map(|f| f.id);
                let read = first.and_then(|f| match f.media_type.as_str() {
                    "application/epub+zip" => Some(format!("/read/{}", edition.id)),
                    "application/pdf" => Some(format!("/files/{}/content?inline=1", f.id)),
                    _ => None,
                });
                let listen = first
                    .filter(|f| f.media_type.starts_with("audio/"))
                    .map(|_| format!("/listen/{}", edition.id));
                let mut facts = vec![];
                // The title printed on it, when it is not the book's.
                if let Some(title) = &edition.title {
                    facts.push(format!("“{title}”"));
                }
                if let Some(publisher) = &edition.publisher {
                    facts.push(publisher.clone());
                }
                if let Some(date) = edition.release_date {
                    facts.push(locale.date(date));
                }
                if let Some(pages) = edition.pages {
                    facts.push(locale.t1("count-pages", "count", i64::from(pages)));
                }
                if let Some(seconds) = edition.duration_seconds {
                    facts.push(duration(seconds, locale));
                }
                if let Some(isbn) = &edition.isbn {
                    facts.push(format!("ISBN {isbn}"));
                }
                Self {
                    id: edition.id,
                    format: format_name(edition.format, locale),
                    facts,
                    price: edition
                        .price_minor
                        .zip(edition.currency.as_deref())
                        .map(|(minor, code)| locale.price(minor, code)),
                    action,
                    download,
                    read,
                    listen,
                }
            })
            .collect()
    }

    pub fn can_open(&self) -> bool {
        self.action == Action::Open
    }

    pub fn can_buy(&self) -> bool {
        self.action == Action::Buy
    }

    pub fn needs_sign_in(&self) -> bool {
        self.action == Action::SignIn
    }
}

/// "10 h 5 min", "10 ч 5 мин".
pub fn duration(seconds: i64, locale: Locale) -> String {
    let (hours, minutes) = (seconds / 3600, (seconds % 3600) / 60);
    if hours == 0 {
        // A short recording (a sample, a poem) would read "0 h 0 min".
        return locale.t2(
            "duration-short",
            ("minutes", minutes),
            ("seconds", seconds % 60),
        );
    }
    locale.t2("duration", ("hours", hours), ("minutes", minutes))
}

/// The average rating with one decimal, as the language writes decimals: "4.5", "4,5".
pub fn rating(sum: i64, count: i64, locale: Locale) -> Option<String> {
    (count > 0).then(|| {
        let tenths = (sum * 10 + count / 2) / count;
        let point = if locale == Locale::Ru { "," } else { "." };
        format!("{}{point}{}", tenths / 10, tenths % 10)
    })
}
