//! `folio import discogs FILE`: a Discogs collection export (13 columns), vinyl records only.
//!
//! Each record becomes a book (the title; the artist as its author) with a vinyl edition that
//! carries the catalog number and label, by which a second run recognises it (records have no
//! ISBN). `Released` is the release's year, taken as the book's original year.
//!
//! Its traps: Discogs tells apart artists (and labels) of one name by a number, "Nirvana (2)",
//! which is no part of the name and is dropped; an unknown year is written `0`; a release
//! without a catalog number has `none`, and a self-released one the label "Not On Label"
//! (both are unknown here, not values); `Format` is abbreviated and comma-joined ("2xLP,
//! Album, RE", `7", Single`), the carrier first.
//!
//! Decisions:
//! - Rows that are not vinyl ("CD, Album", "Cass", "File, FLAC") are rejected with the reason
//!   "not a vinyl record (Format: …)". folio has no edition format for them, and importing them
//!   as vinyl would list a CD as a record; in the rejects file they are seen, not lost.
//! - The artist is kept whole, not split on "," or " & ": those are inside many single names
//!   (Simon & Garfunkel; Earth, Wind & Fire; Crosby, Stills, Nash & Young), and the export does
//!   not say where one artist ends. Splitting would invent artists; matching needs only a
//!   stable first author. A compilation's artist is Discogs' "Various", kept as it is.

use std::path::Path;

use super::fields::{check_authors, check_title, parse_year, squeeze};
use super::{BookRecord, EditionRecord, HeaderIndex, ImportError, ImportOptions, Summary, field};
use crate::db::Database;
use crate::entity::enums::EditionFormat;
use crate::service::validate::Checked;

const FORMAT: &str = "Discogs collection";

/// Column positions, found by name; the columns not listed (rating, folder, condition, notes)
/// are the collector's, not the record's.
struct Columns {
    catalog_number: usize,
    artist: usize,
    title: usize,
    label: usize,
    format: usize,
    released: usize,
}

impl Columns {
    fn find(headers: &csv::StringRecord) -> Result<Self, ImportError> {
        let index = HeaderIndex::new(FORMAT, headers);
        Ok(Self {
            catalog_number: index.required("Catalog#")?,
            artist: index.required("Artist")?,
            title: index.required("Title")?,
            label: index.required("Label")?,
            format: index.required("Format")?,
            released: index.required("Released")?,
        })
    }
}

pub async fn import(
    db: &Database,
    path: &Path,
    options: ImportOptions,
) -> Result<Summary, ImportError> {
    let (reader, headers, total_bytes) = super::open_csv(path, FORMAT)?;
    let columns = Columns::find(&headers)?;
    let rows = super::parse_rows(reader, path, &headers, move |row| parse(row, &columns));
    super::run(db, path, headers, rows, total_bytes, options, &mut ()).await
}

fn parse(row: &csv::StringRecord, columns: &Columns) -> Result<Checked<BookRecord>, String> {
    let format = field(row, columns.format);
    if !is_vinyl(format) {
        return Err(format!("not a vinyl record (Format: {format})"));
    }
    let title = squeeze(field(row, columns.title));
    check_title(&title)?;
    let artist = without_number_suffixes(field(row, columns.artist));
    if artist.is_empty() {
        return Err("no artist".into());
    }
    let authors = vec![artist];
    check_authors(&authors)?;
    let catalog_number = Some(squeeze(field(row, columns.catalog_number)))
        .filter(|n| !n.is_empty() && !n.eq_ignore_ascii_case("none"));
    let label = Some(without_number_suffixes(field(row, columns.label)))
        .filter(|l| !l.is_empty() && !l.to_ascii_lowercase().starts_with("not on label"));
    super::checked(BookRecord {
        title,
        subtitle: None,
        description: None,
        authors,
        original_year: released_year(field(row, columns.released))?,
        language: None,
        series: None,
        series_number: None,
        popularity_prior: 0,
        edition: Some(EditionRecord {
            format: EditionFormat::Vinyl,
            isbn: None,
            catalog_number,
            publisher: label,
            pages: None,
            title: None,
        }),
    })
}

/// Whether `Format` describes a record: one of its items is vinyl ("Vinyl", "LP"), a 7", 10"
/// or 12" disc, a flexi-disc or a lathe cut, possibly several ("2xLP", `3x12"`). A set of
/// several formats ("LP, Album + CD") counts when any is vinyl.
fn is_vinyl(format: &str) -> bool {
    format.split([',', '+']).any(|item| {
        let item = item.trim();
        let count_stripped = item.trim_start_matches(|c: char| c.is_ascii_digit());
        let carrier = match count_stripped.strip_prefix('x') {
            Some(carrier) if count_stripped.len() < item.len() => carrier,
            _ => item,
        };
        matches!(
            carrier.to_ascii_lowercase().as_str(),
            "vinyl" | "lp" | "7\"" | "10\"" | "12\"" | "flexi-disc" | "lathe cut"
        )
    })
}

/// "Nirvana (2)" → "Nirvana": the number Discogs adds to tell apart artists (and labels) of
/// one name. Dropped wherever a name ends in one, so a joined credit loses them all
/// ("Nirvana (2) & Blue (5)" → "Nirvana & Blue"); a parenthesis that is not only a number
/// ("Sunn O))) (live)") stays.
fn without_number_suffixes(name: &str) -> String {
    let mut kept = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(at) = rest.find(" (") {
        let after = &rest[at + 2..];
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let ends_a_name = digits > 0
            && after[digits..].starts_with(')')
            && after[digits + 1..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric());
        if ends_a_name {
            kept.push_str(&rest[..at]);
            rest = &after[digits + 1..];
        } else {
            kept.push_str(&rest[..at + 2]);
            rest = after;
        }
    }
    kept.push_str(rest);
    squeeze(&kept)
}

/// `Released`: "1991" → 1991; "0" or empty → unknown, as Discogs writes an unknown year as 0;
/// a full date ("1991-09-24", "1991-09") gives its year.
fn released_year(raw: &str) -> Result<Option<i32>, String> {
    let year = match raw.get(4..5) {
        Some("-") => &raw[..4],
        _ => raw,
    };
    Ok(parse_year(year)?.filter(|&year| year != 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "Catalog#,Artist,Title,Label,Format,Rating,Released,release_id,\
        CollectionFolder,Date Added,Collection Media Condition,Collection Sleeve Condition,\
        Collection Notes";

    fn parse_line(line: &str) -> Result<BookRecord, String> {
        let input = format!("{HEADER}\n{line}\n");
        let mut reader = csv::Reader::from_reader(input.as_bytes());
        let headers = reader.headers().expect("headers").clone();
        let columns = Columns::find(&headers).expect("columns");
        let row = reader.records().next().expect("a row").expect("a record");
        parse(&row, &columns).map(Checked::into_inner)
    }

    #[test]
    fn a_record() {
        let record = parse_line(
            "DGC-24425,Nirvana (2),Nevermind,DGC,\"LP, Album\",5,1991,1234,Uncategorized,\
             2020-11-12 12:24:52,Near Mint (NM or M-),Very Good Plus (VG+),",
        )
        .expect("parsed");
        assert_eq!(record.title, "Nevermind");
        assert_eq!(record.authors, vec!["Nirvana"]);
        assert_eq!(record.original_year, Some(1991));
        let edition = record.edition.expect("an edition");
        assert_eq!(edition.format, EditionFormat::Vinyl);
        assert_eq!(edition.catalog_number.as_deref(), Some("DGC-24425"));
        assert_eq!(edition.publisher.as_deref(), Some("DGC"));
        assert_eq!(edition.isbn, None);
    }

    #[test]
    fn unknowns_are_unknown() {
        let record = parse_line(
            "none,Au Pairs,You,Not On Label (Au Pairs Self-released),\"7\"\", EP\",,0,7530535,\
             Uncategorized,2020-11-12 12:24:52,,,",
        )
        .expect("parsed");
        assert_eq!(record.original_year, None, "year 0");
        let edition = record.edition.expect("an edition");
        assert_eq!(edition.catalog_number, None);
        assert_eq!(edition.publisher, None);
    }

    #[test]
    fn other_formats_are_rejected() {
        assert_eq!(
            parse_line(
                "VP 4121,Barrington Levy,Teach The Youth,17 North Parade,\"CD, Comp\",,2008,1,U,,,,"
            ),
            Err("not a vinyl record (Format: CD, Comp)".into())
        );
        assert_eq!(
            parse_line("X 1,Someone,,Label,LP,,2008,1,U,,,,"),
            Err("no title".into())
        );
        assert_eq!(
            parse_line("X 1,,Title,Label,LP,,2008,1,U,,,,"),
            Err("no artist".into())
        );
    }

    #[test]
    fn vinyl_formats() {
        for format in [
            "LP, Album",
            "2xLP, Album, RE, 180",
            "Vinyl, 7\", 45 RPM",
            "7\", Single",
            "12\"",
            "3x12\", Comp",
            "Flexi-disc, 7\"",
            "CD, Album + LP",
        ] {
            assert!(is_vinyl(format), "{format}");
        }
        for format in ["CD, Album", "Cass, Album", "File, FLAC", "DVD", "", "2xCD"] {
            assert!(!is_vinyl(format), "{format}");
        }
    }

    #[test]
    fn number_suffixes() {
        assert_eq!(without_number_suffixes("Nirvana (2)"), "Nirvana");
        assert_eq!(
            without_number_suffixes("Nirvana (2) & Blue (5)"),
            "Nirvana & Blue"
        );
        assert_eq!(
            without_number_suffixes("Atlantic, Rhino Records (2)"),
            "Atlantic, Rhino Records"
        );
        assert_eq!(
            without_number_suffixes("Simon & Garfunkel"),
            "Simon & Garfunkel"
        );
        assert_eq!(without_number_suffixes("Blink (182x)"), "Blink (182x)");
        assert_eq!(
            without_number_suffixes("Sunn O))) (live)"),
            "Sunn O))) (live)"
        );
        assert_eq!(without_number_suffixes("(2)"), "(2)");
    }

    #[test]
    fn years() {
        assert_eq!(released_year("1991"), Ok(Some(1991)));
        assert_eq!(released_year("0"), Ok(None));
        assert_eq!(released_year(""), Ok(None));
        assert_eq!(released_year("1991-09-24"), Ok(Some(1991)));
        assert_eq!(released_year("1991-09"), Ok(Some(1991)));
        assert!(released_year("soon").is_err());
    }
}
