//! `folio import goodreads FILE [--user NAME]`: a Goodreads "Export Library" CSV.
//!
//! Two header variants are in the wild: the current 24 columns and an older 31, which adds
//! `Recommended For`, `Condition`, `BCID` and others. Columns are found by name; only `Title`,
//! `Author`, `ISBN` and `ISBN13` must be there, and a missing optional column reads as empty.
//!
//! Its traps: ISBNs are written as spreadsheet formulas (`="0439023483"`, `=""` when absent) so
//! that a spreadsheet keeps their leading zeros, and are unwrapped before the ISBN-13 (else the
//! ISBN-10) is checked; titles carry their series ("The Hunger Games (The Hunger Games, #1)"),
//! which is dropped so that the book matches the same book imported from elsewhere;
//! `Additional Authors` is comma-joined and follows `Author`; dates are `YYYY/MM/DD`; `Binding`
//! is free text ("Kindle Edition", "Audible Audio") and picks the edition's format.
//!
//! With `--user`, the reader's own part of each row comes too: see `Reader`.

use std::path::Path;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use super::fields::{
    check_authors, check_title, known_isbn, parse_year, split_authors, split_series, squeeze,
};
use super::{
    AfterWrite, BookRecord, EditionRecord, HeaderIndex, ImportError, ImportOptions, Row, Summary,
    Written, field,
};
use crate::db::{Database, UnitOfWork};
use crate::entity::enums::{EditionFormat, ReadingStatus};
use crate::service::comments::{self, MAX_TEXT as MAX_COMMENT, NewComment};
use crate::service::progress::{self, Meets, ProgressInput};
use crate::service::validate::Checked;
use crate::service::{ServiceError, accounts};

const FORMAT: &str = "Goodreads library";

/// Column positions, found by name. The `Option`s are columns the import can do without.
struct Columns {
    title: usize,
    author: usize,
    isbn: usize,
    isbn13: usize,
    additional_authors: Option<usize>,
    my_rating: Option<usize>,
    publisher: Option<usize>,
    binding: Option<usize>,
    pages: Option<usize>,
    year_published: Option<usize>,
    original_year: Option<usize>,
    date_read: Option<usize>,
    date_added: Option<usize>,
    exclusive_shelf: Option<usize>,
    my_review: Option<usize>,
}

impl Columns {
    fn find(headers: &csv::StringRecord) -> Result<Self, ImportError> {
        let index = HeaderIndex::new(FORMAT, headers);
        Ok(Self {
            title: index.required("Title")?,
            author: index.required("Author")?,
            isbn: index.required("ISBN")?,
            isbn13: index.required("ISBN13")?,
            additional_authors: index.optional("Additional Authors"),
            my_rating: index.optional("My Rating"),
            publisher: index.optional("Publisher"),
            binding: index.optional("Binding"),
            pages: index.optional("Number of Pages"),
            year_published: index.optional("Year Published"),
            original_year: index.optional("Original Publication Year"),
            date_read: index.optional("Date Read"),
            date_added: index.optional("Date Added"),
            exclusive_shelf: index.optional("Exclusive Shelf"),
            my_review: index.optional("My Review"),
        })
    }
}

/// Imports the export; with `user` (a username or email), that reader's ratings, reviews and
/// reading too. An unknown user is refused before anything is read.
pub async fn import(
    db: &Database,
    path: &Path,
    options: ImportOptions,
    user: Option<&str>,
) -> Result<Summary, ImportError> {
    let user_id = match user {
        Some(name) => match accounts::find_by_login(db, name).await {
            Ok(user) => Some(user.id),
            Err(ServiceError::NotFound(_)) => {
                return Err(ImportError::UnknownUser {
                    name: name.to_string(),
                });
            }
            Err(other) => return Err(other.into()),
        },
        None => None,
    };
    let (reader, headers, total_bytes) = super::open_csv(path, FORMAT)?;
    let columns = Columns::find(&headers)?;
    let rows = super::parse_rows(reader, path, &headers, move |row| parse(row, &columns));
    let mut reader = Reader { user_id };
    super::run(db, path, headers, rows, total_bytes, options, &mut reader).await
}

/// A row of the export: the book, and the reader's part of it.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    book: Checked<BookRecord>,
    /// The reader's rating and review, as their comment on the book.
    comment: Option<Checked<NewComment>>,
    shelf: Option<Shelf>,
    read_on: Option<NaiveDate>,
    added_on: Option<NaiveDate>,
}

impl Row for Entry {
    fn book(&self) -> &Checked<BookRecord> {
        &self.book
    }
}

/// The exclusive shelves that say something about reading. `to-read` and custom shelves say
/// nothing folio can record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shelf {
    Read,
    CurrentlyReading,
}

fn parse(row: &csv::StringRecord, columns: &Columns) -> Result<Entry, String> {
    let printed = squeeze(field(row, columns.title));
    let (title, series) = split_series(&printed);
    check_title(title)?;
    let mut authors: Vec<String> = vec![];
    let main = squeeze(field(row, columns.author));
    let additional = split_authors(field(row, columns.additional_authors));
    for name in std::iter::once(main)
        .chain(additional.iter().map(|a| squeeze(a)))
        .filter(|name| !name.is_empty())
    {
        if !authors.contains(&name) {
            authors.push(name);
        }
    }
    check_authors(&authors)?;
    let original_year = match field(row, columns.original_year) {
        "" => parse_year(field(row, columns.year_published))?,
        year => parse_year(year)?,
    };
    let isbn = known_isbn(
        unwrap_formula(field(row, columns.isbn13)),
        unwrap_formula(field(row, columns.isbn)),
    );
    let binding = field(row, columns.binding);
    let publisher = Some(squeeze(field(row, columns.publisher))).filter(|p| !p.is_empty());
    let pages = parse_pages(field(row, columns.pages))?;
    let names_an_edition =
        isbn.is_some() || publisher.is_some() || pages.is_some() || !binding.is_empty();
    let edition = names_an_edition.then(|| EditionRecord {
        format: format_of(binding),
        isbn,
        catalog_number: None,
        publisher,
        pages,
        // Goodreads names the edition on the shelf by the work's title: nothing of its own.
        title: None,
    });
    let shelf = match field(row, columns.exclusive_shelf) {
        "read" => Some(Shelf::Read),
        "currently-reading" => Some(Shelf::CurrentlyReading),
        _ => None,
    };
    let book = super::checked(BookRecord {
        title: title.to_string(),
        subtitle: None,
        description: None,
        authors,
        original_year,
        language: None,
        series: series.as_ref().map(|s| s.name.clone()),
        series_number: series.and_then(|s| s.number),
        popularity_prior: 0,
        edition,
    })?;
    let rating = parse_rating(field(row, columns.my_rating))?;
    let comment = comment_of(review_text(field(row, columns.my_review)), rating)
        .map(|(text, rating)| comments::checked(text, rating))
        .transpose()
        .map_err(super::reason)?;
    Ok(Entry {
        book,
        comment,
        shelf,
        read_on: parse_date(field(row, columns.date_read), "Date Read")?,
        added_on: parse_date(field(row, columns.date_added), "Date Added")?,
    })
}

/// `="0439023483"` → `0439023483`: Goodreads writes ISBNs as spreadsheet formulas so that a
/// spreadsheet keeps their leading zeros; `=""` is no ISBN. A plain value (the file went
/// through a spreadsheet and was saved again) is taken as it is.
fn unwrap_formula(raw: &str) -> &str {
    raw.strip_prefix("=\"")
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(raw)
        .trim()
}

/// The edition format a `Binding` names. Goodreads bindings are free text from publishers and
/// librarians, so this looks for telling words rather than a fixed list: anything audio
/// ("Audiobook", "Audio CD", "Audible Audio", "MP3 CD", "Audio Cassette") is an audiobook;
/// "Kindle Edition", "ebook", "Nook", "Kobo eBook", "Digital" are ebooks; everything else
/// ("Paperback", "Hardcover", "Mass Market Paperback", "Board book", "Unknown Binding", none)
/// is print, which is what a binding most often is.
fn format_of(binding: &str) -> EditionFormat {
    let binding = binding.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| binding.contains(w));
    if has(&["audio", "mp3", "cassette"]) {
        EditionFormat::Audiobook
    } else if has(&["kindle", "ebook", "e-book", "nook", "kobo", "digital"]) {
        EditionFormat::Ebook
    } else {
        EditionFormat::Print
    }
}

/// `Number of Pages`: empty or 0 is unknown.
fn parse_pages(raw: &str) -> Result<Option<i32>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    match raw.parse::<i32>() {
        Ok(0) => Ok(None),
        Ok(pages) if pages > 0 => Ok(Some(pages)),
        _ => Err(format!("the page count '{raw}' is not a whole number")),
    }
}

/// `My Rating`: 1–5 stars; 0 (or empty) is "not rated".
fn parse_rating(raw: &str) -> Result<Option<i32>, String> {
    match raw {
        "" | "0" => Ok(None),
        _ => raw
            .parse::<i32>()
            .ok()
            .filter(|r| (1..=5).contains(r))
            .map(Some)
            .ok_or_else(|| format!("the rating '{raw}' is not from 0 to 5")),
    }
}

/// `YYYY/MM/DD`, as Goodreads writes dates (`YYYY-MM-DD` is taken too); empty is unknown.
fn parse_date(raw: &str, column: &str) -> Result<Option<NaiveDate>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(raw, "%Y/%m/%d")
        .or_else(|_| NaiveDate::parse_from_str(raw, "%Y-%m-%d"))
        .map(Some)
        .map_err(|_| format!("the {column} '{raw}' is not a date (YYYY/MM/DD)"))
}

/// A review as comment text. Goodreads keeps reviews as HTML-ish text whose line breaks are
/// `<br/>` (or `<br>`, `<br />`): those become new lines. Other markup (`<i>`, a link) is rare
/// and kept as written: a comment is plain text, and guessing at HTML could lose the reader's
/// words. Control characters are dropped, as the comments API refuses them. A review longer
/// than folio keeps is cut there and ends in "…", rather than being lost whole.
fn review_text(raw: &str) -> Option<String> {
    let lower = raw.to_ascii_lowercase();
    let mut text = String::with_capacity(raw.len());
    let mut at = 0;
    while let Some(found) = lower[at..].find("<br") {
        let start = at + found;
        text.push_str(&raw[at..start]);
        let after = start + "<br".len();
        // The tag, if this is one: only spaces and a slash before its `>`.
        let close = raw[after..].find('>').filter(|&close| {
            raw[after..after + close]
                .chars()
                .all(|c| c == ' ' || c == '/')
        });
        match close {
            Some(close) => {
                text.push('\n');
                at = after + close + 1;
            }
            None => {
                text.push_str(&raw[start..after]);
                at = after;
            }
        }
    }
    text.push_str(&raw[at..]);
    let text: String = text
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect();
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if text.chars().count() <= MAX_COMMENT {
        return Some(text.to_string());
    }
    let cut: String = text.chars().take(MAX_COMMENT - 1).collect();
    Some(format!("{}…", cut.trim_end()))
}

/// Noon UTC on the day: the day a reader gave stays that day in every time zone from UTC-11
/// to UTC+11, where midnight UTC would show as the day before across the Americas.
fn on_day(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or(NaiveTime::MIN))
        .and_utc()
}

/// The reader whose library the export is (`--user`), and what of each row becomes theirs:
///
/// - a rating or review becomes their comment on the book: the review as text, with the
///   rating. A comment is never empty, so a rating alone reads "Rated 4/5 on Goodreads.",
///   which says where it came from and which they can edit. Skipped when they already have a
///   comment on the book, so a second run (or a second edition of the same book in the
///   export) adds no second one, and a comment written in folio is never overwritten;
/// - the `read` shelf becomes finished progress (100%) dated `Date Read`, else `Date Added`,
///   on the row's edition when the catalog knows it. It replaces only older progress, as
///   a sync from a device would; a second run finds the same date and changes nothing;
/// - the `currently-reading` shelf becomes reading progress at 0%, only when they have none
///   for the book: 0% carries no place in the book, and must not replace a real one.
///
/// A date in the future, or none, counts as no date: the progress is then recorded (now) only
/// when there is none, since "now" would be newer on every run.
struct Reader {
    user_id: Option<i64>,
}

/// Progress written by the import says where it came from, as a device would.
const DEVICE: &str = "Goodreads";

impl AfterWrite<Entry> for Reader {
    async fn after_write(
        &mut self,
        unit: &UnitOfWork,
        entry: &Entry,
        written: &Written,
    ) -> Result<(), ImportError> {
        let Some(user_id) = self.user_id else {
            return Ok(());
        };
        if let Some(comment) = &entry.comment {
            comments::add_unless_commented(unit, user_id, written.book_id, comment).await?;
        }
        let Some(shelf) = entry.shelf else {
            return Ok(());
        };
        let now = crate::db::now();
        let dated = entry
            .read_on
            .or(entry.added_on)
            .map(on_day)
            .filter(|&when| when <= now);
        let (percent, status, meets) = match (shelf, dated) {
            (Shelf::Read, Some(_)) => (1.0, ReadingStatus::Finished, Meets::NewerWins),
            (Shelf::Read, None) => (1.0, ReadingStatus::Finished, Meets::OnlyIfNone),
            (Shelf::CurrentlyReading, _) => (0.0, ReadingStatus::Reading, Meets::OnlyIfNone),
        };
        let input = ProgressInput {
            edition_id: written.edition_id,
            percent,
            locator: None,
            status: Some(status),
            device: Some(DEVICE.to_string()),
            // None is the server's time.
            updated_at: dated,
        };
        progress::import(unit, user_id, written.book_id, input, meets).await?;
        Ok(())
    }
}

/// The comment a row makes when the reader rated or reviewed the book: the review as its
/// text, with the rating. A comment is never empty, so a rating alone reads "Rated 4/5 on
/// Goodreads.", which says where it came from and which they can edit.
fn comment_of(review: Option<String>, rating: Option<i32>) -> Option<(String, Option<i32>)> {
    match (review, rating) {
        (Some(review), rating) => Some((review, rating)),
        (None, Some(rating)) => Some((format!("Rated {rating}/5 on Goodreads."), Some(rating))),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CURRENT: &str = "Book Id,Title,Author,Author l-f,Additional Authors,ISBN,ISBN13,\
        My Rating,Average Rating,Publisher,Binding,Number of Pages,Year Published,\
        Original Publication Year,Date Read,Date Added,Bookshelves,Bookshelves with positions,\
        Exclusive Shelf,My Review,Spoiler,Private Notes,Read Count,Owned Copies";

    const OLDER: &str = "Book Id,Title,Author,Author l-f,Additional Authors,ISBN,ISBN13,\
        My Rating,Average Rating,Publisher,Binding,Number of Pages,Year Published,\
        Original Publication Year,Date Read,Date Added,Bookshelves,Bookshelves with positions,\
        Exclusive Shelf,My Review,Spoiler,Private Notes,Read Count,Recommended For,\
        Recommended By,Owned Copies,Original Purchase Date,Original Purchase Location,\
        Condition,Condition Description,BCID";

    /// The Hunger Games as Goodreads exports it, in the current 24 columns.
    const HUNGER_GAMES: &str = "2767052,\"The Hunger Games (The Hunger Games, #1)\",\
        Suzanne Collins,\"Collins, Suzanne\",,\"=\"\"0439023483\"\"\",\
        \"=\"\"9780439023481\"\"\",5,4.32,Scholastic Press,Hardcover,374,2008,2008,\
        2012/03/04,2011/12/01,,,read,Could not put it down.<br/><br/>Really.,,,1,0";

    fn parse_with(header: &str, line: &str) -> Result<Entry, String> {
        let input = format!("{header}\n{line}\n");
        let mut reader = csv::ReaderBuilder::new().from_reader(input.as_bytes());
        let headers = reader.headers().expect("headers").clone();
        let columns = Columns::find(&headers).expect("columns");
        let row = reader.records().next().expect("a row").expect("a record");
        parse(&row, &columns)
    }

    /// A row of the current export with these fields, the rest empty.
    fn current_row(fields: &[(&str, &str)]) -> String {
        let header: Vec<&str> = CURRENT.split(',').collect();
        let row: Vec<&str> = header
            .iter()
            .map(|column| {
                fields
                    .iter()
                    .find(|(name, _)| name == column)
                    .map_or("", |(_, value)| *value)
            })
            .collect();
        let mut writer = csv::Writer::from_writer(vec![]);
        writer.write_record(&row).expect("written");
        let line = String::from_utf8(writer.into_inner().expect("flushed")).expect("UTF-8");
        line.trim_end().to_string()
    }

    #[test]
    fn the_current_export() {
        let entry = parse_with(CURRENT, HUNGER_GAMES).expect("parsed");
        assert_eq!(entry.book.title, "The Hunger Games");
        assert_eq!(entry.book.authors, vec!["Suzanne Collins"]);
        assert_eq!(entry.book.original_year, Some(2008));
        let edition = entry.book.edition.as_ref().expect("an edition");
        assert_eq!(edition.isbn.as_deref(), Some("9780439023481"));
        assert_eq!(edition.format, EditionFormat::Print);
        assert_eq!(edition.publisher.as_deref(), Some("Scholastic Press"));
        assert_eq!(edition.pages, Some(374));
        let comment = entry.comment.as_ref().expect("a comment");
        assert_eq!(comment.rating, Some(5));
        assert_eq!(comment.text, "Could not put it down.\n\nReally.");
        assert_eq!(entry.shelf, Some(Shelf::Read));
        assert_eq!(entry.read_on, NaiveDate::from_ymd_opt(2012, 3, 4));
        assert_eq!(entry.added_on, NaiveDate::from_ymd_opt(2011, 12, 1));
    }

    #[test]
    fn the_older_export_reads_the_same() {
        let line = format!("{HUNGER_GAMES},,,,,,,");
        let older = parse_with(OLDER, &line).expect("parsed");
        assert_eq!(older, parse_with(CURRENT, HUNGER_GAMES).expect("parsed"));
    }

    #[test]
    fn missing_optional_columns_read_as_empty() {
        let entry = parse_with(
            "Title,Author,ISBN,ISBN13",
            "Dune,Frank Herbert,\"=\"\"\"\"\",\"=\"\"\"\"\"",
        )
        .expect("parsed");
        assert_eq!(entry.book.title, "Dune");
        assert_eq!(entry.book.edition, None);
        assert_eq!(
            (entry.comment, entry.shelf, entry.read_on),
            (None, None, None)
        );
        let missing = csv::StringRecord::from(vec!["Title", "Author", "ISBN"]);
        assert!(matches!(
            Columns::find(&missing),
            Err(ImportError::Format { message, .. }) if message.contains("ISBN13")
        ));
    }

    #[test]
    fn isbn_formulas_are_unwrapped() {
        assert_eq!(unwrap_formula("=\"0439023483\""), "0439023483");
        assert_eq!(unwrap_formula("=\"\""), "");
        assert_eq!(unwrap_formula("0439023483"), "0439023483");
        assert_eq!(
            known_isbn(unwrap_formula("=\"\""), unwrap_formula("=\"0439023483\"")).as_deref(),
            Some("9780439023481"),
            "no ISBN-13: the ISBN-10, leading zero kept"
        );
        assert_eq!(
            known_isbn(unwrap_formula("=\"\""), unwrap_formula("=\"439023483\"")).as_deref(),
            Some("9780439023481"),
            "a zero a spreadsheet lost comes back when the check digit holds"
        );
        assert_eq!(
            known_isbn(unwrap_formula("=\"\""), unwrap_formula("=\"439023484\"")),
            None
        );
    }

    #[test]
    fn authors_follow_the_main_one() {
        let line = current_row(&[
            ("Title", "Harry Potter and the Philosopher's Stone"),
            ("Author", "J.K.  Rowling"),
            ("Additional Authors", "Mary GrandPré, J.K. Rowling, Jim Kay"),
            ("ISBN", "=\"\""),
            ("Exclusive Shelf", "to-read"),
        ]);
        let entry = parse_with(CURRENT, &line).expect("parsed");
        assert_eq!(
            entry.book.authors,
            vec!["J.K. Rowling", "Mary GrandPré", "Jim Kay"]
        );
        assert_eq!(entry.shelf, None, "to-read says nothing about reading");
        let no_author = current_row(&[("Title", "A Title"), ("Exclusive Shelf", "read")]);
        assert_eq!(parse_with(CURRENT, &no_author), Err("no author".into()));
        let no_title = current_row(&[("Author", "Someone"), ("Exclusive Shelf", "read")]);
        assert_eq!(parse_with(CURRENT, &no_title), Err("no title".into()));
        let bad_date = current_row(&[("Title", "T"), ("Author", "A"), ("Date Read", "03/04/2012")]);
        assert_eq!(
            parse_with(CURRENT, &bad_date),
            Err("the Date Read '03/04/2012' is not a date (YYYY/MM/DD)".into())
        );
    }

    #[test]
    fn the_series_leaves_the_title_for_the_book() {
        let entry = parse_with(CURRENT, HUNGER_GAMES).expect("parsed");
        assert_eq!(entry.book.series.as_deref(), Some("The Hunger Games"));
        assert_eq!(entry.book.series_number, Some(1.0));
        assert_eq!(split_series("(Series, #1)"), ("(Series, #1)", None));
    }

    #[test]
    fn dates() {
        assert_eq!(
            parse_date("2012/03/04", "Date Read"),
            Ok(NaiveDate::from_ymd_opt(2012, 3, 4))
        );
        assert_eq!(
            parse_date("2012-03-04", "Date Read"),
            Ok(NaiveDate::from_ymd_opt(2012, 3, 4))
        );
        assert_eq!(parse_date("", "Date Read"), Ok(None));
        assert!(
            parse_date("04/03/2012", "Date Read")
                .unwrap_err()
                .contains("Date Read")
        );
        assert!(parse_date("2012/02/30", "Date Read").is_err());
        let day = NaiveDate::from_ymd_opt(2012, 3, 4).expect("a date");
        assert_eq!(on_day(day).to_rfc3339(), "2012-03-04T12:00:00+00:00");
    }

    #[test]
    fn bindings() {
        for (binding, format) in [
            ("Paperback", EditionFormat::Print),
            ("Hardcover", EditionFormat::Print),
            ("Mass Market Paperback", EditionFormat::Print),
            ("Unknown Binding", EditionFormat::Print),
            ("", EditionFormat::Print),
            ("Kindle Edition", EditionFormat::Ebook),
            ("ebook", EditionFormat::Ebook),
            ("Nook", EditionFormat::Ebook),
            ("Audiobook", EditionFormat::Audiobook),
            ("Audio CD", EditionFormat::Audiobook),
            ("Audible Audio", EditionFormat::Audiobook),
            ("MP3 CD", EditionFormat::Audiobook),
        ] {
            assert_eq!(format_of(binding), format, "{binding}");
        }
    }

    #[test]
    fn ratings_pages_and_reviews() {
        assert_eq!(parse_rating("0"), Ok(None));
        assert_eq!(parse_rating(""), Ok(None));
        assert_eq!(parse_rating("4"), Ok(Some(4)));
        assert!(parse_rating("6").is_err());
        assert!(parse_rating("x").is_err());
        assert_eq!(parse_pages("0"), Ok(None));
        assert_eq!(parse_pages("374"), Ok(Some(374)));
        assert!(parse_pages("-1").is_err());
        assert_eq!(
            review_text("One<br/>two<BR>three<br />four<bright>").as_deref(),
            Some("One\ntwo\nthree\nfour<bright>")
        );
        assert_eq!(review_text("  <br/> "), None);
        assert_eq!(review_text("a\u{0}b").as_deref(), Some("ab"));
        let long = review_text(&"x".repeat(6000)).expect("a review");
        assert_eq!(long.chars().count(), MAX_COMMENT);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn a_rating_alone_still_makes_a_comment() {
        assert_eq!(
            comment_of(None, Some(4)),
            Some(("Rated 4/5 on Goodreads.".to_string(), Some(4)))
        );
        assert_eq!(
            comment_of(Some("Loved it.".into()), None),
            Some(("Loved it.".to_string(), None))
        );
        assert_eq!(comment_of(None, None), None);
    }
}
