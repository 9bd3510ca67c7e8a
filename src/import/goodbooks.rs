//! `folio import goodbooks FILE`: the goodbooks-10k `books.csv` (23 columns).
//!
//! Its traps: `isbn13` is mostly in scientific notation (9.78043902348e+12) with digits lost,
//! so it is used only when it is 13 whole digits; `isbn` has lost its leading zeros
//! (439023483 for 0439023483), restored only when the check digit then holds; `authors` is
//! comma-joined ("J.K. Rowling, Mary GrandPré"); `language_code` mixes `eng` and `en-US`;
//! years are floats ("2008.0") and may be negative; `title` is the edition's, with the series
//! appended ("Harry Potter and the Sorcerer's Stone (Harry Potter, #1)"), and
//! `original_title` the work's ("Harry Potter and the Philosopher's Stone"), often empty.

use std::path::Path;

use super::fields::{
    check_authors, check_title, known_isbn, parse_year, split_authors, split_series,
};
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
    ratings_count: Option<usize>,
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
            ratings_count: index.optional("ratings_count"),
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
    let (printed, series) = split_series(field(row, columns.title).trim());
    let title = match field(row, columns.original_title).trim() {
        "" => printed,
        original => original,
    };
    check_title(title)?;
    // The edition keeps the title printed on it when that is not the work's.
    let edition_title = (!printed.is_empty()
        && crate::text::fold(printed) != crate::text::fold(title))
    .then(|| printed.to_string());
    // goodbooks counts every rating of the work on Goodreads: how well known it is.
    let popularity_prior = columns
        .ratings_count
        .and_then(|at| field(row, at).trim().parse::<i64>().ok())
        .filter(|n| *n >= 0)
        .unwrap_or(0);
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
        series: series.as_ref().map(|s| s.name.clone()),
        series_number: series.and_then(|s| s.number),
        popularity_prior,
        // A row names an edition by its ISBN, or by a printed title of its own.
        edition: (isbn.is_some() || edition_title.is_some()).then_some(EditionRecord {
            format: EditionFormat::Print,
            isbn,
            catalog_number: None,
            publisher: None,
            pages: None,
            title: edition_title,
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
        assert_eq!(book.series.as_deref(), Some("The Hunger Games"));
        assert_eq!(book.series_number, Some(1.0));
        assert_eq!(book.authors, vec!["Suzanne Collins", "Someone Else"]);
        assert_eq!(book.original_year, Some(2008));
        assert_eq!(book.language.as_deref(), Some("en"));
        let edition = book.edition.expect("an edition");
        assert_eq!(edition.isbn.as_deref(), Some("9780439023481"));
        // The printed title is the work's once the series note is off: nothing of its own.
        assert_eq!(edition.title, None);
    }

    #[test]
    fn the_edition_keeps_its_printed_title_and_the_book_its_prior() {
        let header = format!("{HEADER},ratings_count");
        let input = format!(
            "{header}\n13,5470,5470,153313,995,451524934,9.78045152494e+12,\
             \"George Orwell, Erich Fromm\",1949.0,Nineteen Eighty-Four,1984,eng,4.14,1956832\n\
             2,3,3,4640799,491,439554934,9.78043955493e+12,J.K. Rowling,1997.0,\
             Harry Potter and the Philosopher's Stone,\
             \"Harry Potter and the Sorcerer's Stone (Harry Potter, #1)\",eng,4.44,4602479\n"
        );
        let mut reader = csv::Reader::from_reader(input.as_bytes());
        let headers = reader.headers().expect("headers").clone();
        let columns = Columns::find(&headers).expect("columns");
        let books: Vec<BookRecord> = reader
            .records()
            .map(|row| parse(&row.expect("a record"), &columns).map(Checked::into_inner))
            .collect::<Result<_, _>>()
            .expect("parsed");
        assert_eq!(books[0].title, "Nineteen Eighty-Four");
        assert_eq!(books[0].popularity_prior, 1_956_832);
        let edition = books[0].edition.as_ref().expect("an edition");
        assert_eq!(edition.title.as_deref(), Some("1984"));
        assert_eq!(books[1].title, "Harry Potter and the Philosopher's Stone");
        assert_eq!(books[1].series.as_deref(), Some("Harry Potter"));
        let edition = books[1].edition.as_ref().expect("an edition");
        assert_eq!(
            edition.title.as_deref(),
            Some("Harry Potter and the Sorcerer's Stone")
        );
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
