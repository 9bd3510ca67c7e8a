//! `folio import goodbooks FILE`: the goodbooks-10k `books.csv` (23 columns).
//!
//! Its traps: `isbn13` is mostly in scientific notation (9.78043902348e+12) with digits lost,
//! so it is used only when it is 13 whole digits; `isbn` has lost its leading zeros
//! (439023483 for 0439023483), restored only when the check digit then holds; `authors` is
//! comma-joined ("J.K. Rowling, Mary GrandPré"); `language_code` mixes `eng` and `en-US`;
//! years are floats ("2008.0") and may be negative.

use std::path::Path;

use super::fields::{check_authors, check_title, known_isbn, parse_year, split_authors};
use super::{BookRecord, EditionRecord, HeaderIndex, ImportError, ImportOptions, Summary, field};
use crate::db::Database;
use crate::entity::enums::EditionFormat;
use crate::service::validate::Checked;

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
        let index = HeaderIndex::new(FORMAT, headers);
        Ok(Self {
            isbn: index.required("isbn")?,
            isbn13: index.required("isbn13")?,
            authors: index.required("authors")?,
            year: index.required("original_publication_year")?,
            original_title: index.required("original_title")?,
            title: index.required("title")?,
            language: index.required("language_code")?,
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

/// Every good row of a goodbooks file, in memory: the raw material `folio seed` repeats.
pub(crate) fn read_records(path: &Path) -> Result<Vec<Checked<BookRecord>>, ImportError> {
    let (reader, headers, _) = super::open_csv(path, FORMAT)?;
    let columns = Columns::find(&headers)?;
    let mut records = vec![];
    for row in super::parse_rows(reader, path, &headers, move |row| parse(row, &columns)) {
        if let Ok(record) = row?.parsed {
            records.push(record);
        }
    }
    Ok(records)
}

fn parse(row: &csv::StringRecord, columns: &Columns) -> Result<Checked<BookRecord>, String> {
    let title = match field(row, columns.original_title) {
        "" => field(row, columns.title),
        original => original,
    };
    check_title(title)?;
    let authors = split_authors(field(row, columns.authors));
    check_authors(&authors)?;
    let original_year = parse_year(field(row, columns.year))?;
    let isbn = known_isbn(field(row, columns.isbn13), field(row, columns.isbn));
    super::checked(BookRecord {
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

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "book_id,goodreads_book_id,best_book_id,work_id,books_count,isbn,isbn13,\
        authors,original_publication_year,original_title,title,language_code,average_rating";

    fn parse_line(line: &str) -> Result<BookRecord, String> {
        let input = format!("{HEADER}\n{line}\n");
        let mut reader = csv::Reader::from_reader(input.as_bytes());
        let headers = reader.headers().expect("headers").clone();
        let columns = Columns::find(&headers).expect("columns");
        let row = reader.records().next().expect("a row").expect("a record");
        parse(&row, &columns).map(Checked::into_inner)
    }

    #[test]
    fn a_row_with_every_trap() {
        let book = parse_line(
            "1,2767052,2767052,2792775,272,439023483,9.78043902348e+12,\
             \"Suzanne Collins, Someone Else\",2008.0,The Hunger Games,\
             \"The Hunger Games (The Hunger Games, #1)\",en-US,4.34",
        )
        .expect("parsed");
        assert_eq!(book.title, "The Hunger Games");
        assert_eq!(book.authors, vec!["Suzanne Collins", "Someone Else"]);
        assert_eq!(book.original_year, Some(2008));
        assert_eq!(book.language.as_deref(), Some("en"));
        let edition = book.edition.expect("an edition");
        assert_eq!(edition.isbn.as_deref(), Some("9780439023481"));
    }

    #[test]
    fn the_title_falls_back_and_authors_are_required() {
        let book = parse_line("1,2,2,2,1,,,Anon Y. Mous,,,Only Title,eng,4").expect("parsed");
        assert_eq!(book.title, "Only Title");
        assert_eq!(book.edition, None);
        assert_eq!(
            parse_line("1,2,2,2,1,,,,,,Only Title,eng,4"),
            Err("no author".into())
        );
    }
}
