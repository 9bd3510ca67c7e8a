//! `folio import goodbooks FILE`: the goodbooks-10k `books.csv` (23 columns).
//!
//! Its traps: `isbn13` is mostly in scientific notation (9.78043902348e+12) with digits lost,
//! so it is used only when it is 13 whole digits; `isbn` has lost its leading zeros
//! (439023483 for 0439023483), restored only when the check digit then holds; `authors` is
//! comma-joined ("J.K. Rowling, Mary GrandPré"); `language_code` mixes `eng` and `en-US`;
//! years are floats ("2008.0") and may be negative.

use std::fs::File;
use std::path::Path;

use super::{BookRecord, EditionRecord, ImportError, ImportOptions, Summary};
use crate::db::Database;
use crate::entity::enums::EditionFormat;
use crate::service::catalog::isbn;

const FORMAT: &str = "goodbooks-10k books.csv";

/// Column positions, found by name so that column order does not matter.
struct Columns {
    isbn: usize,
    isbn13: usize,
    authors: usize,
    year: usize,
    original_title: usize,
    title: usize,
    language: usize,
}

impl Columns {
    fn find(headers: &csv::StringRecord) -> Result<Self, ImportError> {
        let find = |name: &str| {
            headers
                .iter()
                .position(|h| h.trim() == name)
                .ok_or_else(|| ImportError::Format {
                    format: FORMAT,
                    message: format!("no '{name}' column"),
                })
        };
        Ok(Self {
            isbn: find("isbn")?,
            isbn13: find("isbn13")?,
            authors: find("authors")?,
            year: find("original_publication_year")?,
            original_title: find("original_title")?,
            title: find("title")?,
            language: find("language_code")?,
        })
    }
}

pub async fn import(
    db: &Database,
    path: &Path,
    options: ImportOptions,
) -> Result<Summary, ImportError> {
    let read_error = |e: &dyn std::fmt::Display| ImportError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let file = File::open(path).map_err(|e| read_error(&e))?;
    let total_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
    let headers = reader.headers().map_err(|e| read_error(&e))?.clone();
    let columns = Columns::find(&headers)?;
    let rows = reader.into_records().map(move |row| {
        let row = row.map_err(|e| ImportError::Read {
            path: Default::default(),
            message: e.to_string(),
        })?;
        let position = row.position().map(|p| p.byte()).unwrap_or(0);
        let parsed = parse(&row, &columns);
        Ok((row, position, parsed))
    });
    super::run(db, path, headers, rows, total_bytes, options).await
}

fn field(row: &csv::StringRecord, index: usize) -> &str {
    row.get(index).unwrap_or("").trim()
}

fn parse(row: &csv::StringRecord, columns: &Columns) -> Result<BookRecord, String> {
    let title = match field(row, columns.original_title) {
        "" => field(row, columns.title),
        original => original,
    };
    if title.is_empty() {
        return Err("no title".into());
    }
    if title.chars().count() > 500 {
        return Err("the title is longer than 500 characters".into());
    }
    let authors = split_authors(field(row, columns.authors));
    if authors.is_empty() {
        return Err("no author".into());
    }
    if let Some(long) = authors.iter().find(|a| a.chars().count() > 300) {
        return Err(format!(
            "an author name is longer than 300 characters: {long:.40}…"
        ));
    }
    let original_year = parse_year(field(row, columns.year))?;
    let isbn = known_isbn(field(row, columns.isbn13), field(row, columns.isbn));
    Ok(BookRecord {
        title: title.to_string(),
        subtitle: None,
        description: None,
        authors,
        original_year,
        language: super::language::normalize(field(row, columns.language)),
        edition: isbn.map(|isbn| EditionRecord {
            format: EditionFormat::Print,
            isbn: Some(isbn),
            catalog_number: None,
            publisher: None,
            pages: None,
        }),
    })
}

/// "2008.0" → 2008; empty → unknown; "-500.0" → -500 (500 BCE).
fn parse_year(raw: &str) -> Result<Option<i32>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    let year: f64 = raw
        .parse()
        .map_err(|_| format!("the year '{raw}' is not a number"))?;
    if year.fract() != 0.0 || !(-5000.0..=2100.0).contains(&year) {
        return Err(format!(
            "the year '{raw}' is not a whole year from -5000 to 2100"
        ));
    }
    Ok(Some(year as i32))
}

/// The ISBN-13 the row really knows, if any. Never invented: `isbn13` only when it is 13 whole
/// digits with a valid check digit; else `isbn` with its lost leading zeros restored, only when
/// the ISBN-10 check digit then holds.
fn known_isbn(isbn13: &str, isbn10: &str) -> Option<String> {
    if isbn13.len() == 13
        && isbn13.bytes().all(|b| b.is_ascii_digit())
        && let Ok(isbn) = isbn::normalize(isbn13)
    {
        return Some(isbn);
    }
    let digits = isbn10.trim();
    let valid_chars = !digits.is_empty()
        && digits.len() <= 10
        && digits.char_indices().all(|(i, c)| {
            c.is_ascii_digit() || (c.eq_ignore_ascii_case(&'x') && i == digits.len() - 1)
        });
    if !valid_chars {
        return None;
    }
    isbn::normalize(&format!("{digits:0>10}")).ok()
}

/// "J.K. Rowling, Mary GrandPré" → both; a generational suffix stays with its name
/// ("Martin Luther King, Jr.").
fn split_authors(raw: &str) -> Vec<String> {
    let mut authors: Vec<String> = vec![];
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let suffix = matches!(
            part.trim_end_matches('.').to_ascii_lowercase().as_str(),
            "jr" | "sr" | "ii" | "iii" | "iv"
        );
        match authors.last_mut() {
            Some(previous) if suffix => {
                previous.push_str(", ");
                previous.push_str(part);
            }
            _ => authors.push(part.to_string()),
        }
    }
    authors.dedup();
    authors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isbns_are_restored_only_when_they_check() {
        assert_eq!(
            known_isbn("9.78043902348e+12", "439023483").as_deref(),
            Some("9780439023481")
        );
        assert_eq!(
            known_isbn("9780439023481", "").as_deref(),
            Some("9780439023481")
        );
        assert_eq!(
            known_isbn("9.78043902348e+12", "439023484"),
            None,
            "a wrong check digit"
        );
        assert_eq!(
            known_isbn("9.78043902348e+12", ""),
            None,
            "nothing is invented"
        );
        assert_eq!(
            known_isbn("", "80442957X").as_deref(),
            Some("9780804429573")
        );
        assert_eq!(known_isbn("", "not-isbn"), None);
    }

    #[test]
    fn authors_and_years() {
        assert_eq!(
            split_authors("J.K. Rowling, Mary GrandPré"),
            vec!["J.K. Rowling", "Mary GrandPré"]
        );
        assert_eq!(
            split_authors("Martin Luther King, Jr., Clayborne Carson"),
            vec!["Martin Luther King, Jr.", "Clayborne Carson"]
        );
        assert_eq!(split_authors(" , "), Vec::<String>::new());
        assert_eq!(parse_year("2008.0"), Ok(Some(2008)));
        assert_eq!(parse_year("-500.0"), Ok(Some(-500)));
        assert_eq!(parse_year(""), Ok(None));
        assert!(parse_year("soon").is_err());
        assert!(parse_year("2008.5").is_err());
    }
}
