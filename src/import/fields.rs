//! Field readers the importers share: exports from different sites mangle ISBNs, years and
//! author lists in the same ways. What a value may be (how long a title, which years) is the
//! catalog's rule, checked by `service::catalog::batch::check` once a row is read.

use crate::service::catalog::isbn;

/// The ISBN-13 the row really knows, if any. Never invented: `isbn13` only when it is 13 whole
/// digits with a valid check digit (spreadsheets turn it into 9.78043902348e+12, losing
/// digits); else `isbn10` with its lost leading zeros restored (spreadsheets turn 0439023483
/// into 439023483), only when the ISBN-10 check digit then holds.
pub(crate) fn known_isbn(isbn13: &str, isbn10: &str) -> Option<String> {
    let isbn13 = isbn13.trim();
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
    // Padded by hand, not formatted: most goodbooks rows come this way.
    let mut padded = "0".repeat(10 - digits.len());
    padded.push_str(digits);
    isbn::normalize(&padded).ok()
}

/// A series as a catalog appends it to a title: "(Harry Potter, #1)".
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SeriesNote {
    pub name: String,
    /// `None` for a range or a missing number ("#1-7" on a box set).
    pub number: Option<f64>,
}

/// "Harry Potter and the Sorcerer's Stone (Harry Potter, #1)" → the title without the note,
/// and the series it names. Goodreads (and goodbooks, its extract) appends the series to the
/// title; the book's own cover names it without, and the catalog matches on the title. Only a
/// final parenthesis holding a `#` and a number is taken for a series: "Catch-22 (50th
/// Anniversary Edition)" keeps its parenthesis. A book in several series ("(Discworld, #1;
/// Rincewind #1)") is filed under the first.
pub(crate) fn split_series(title: &str) -> (&str, Option<SeriesNote>) {
    let Some(body) = title.strip_suffix(')') else {
        return (title, None);
    };
    let Some(open) = body.rfind('(') else {
        return (title, None);
    };
    let inside = &body[open + 1..];
    let numbered = inside
        .split('#')
        .skip(1)
        .any(|after| after.starts_with(|c: char| c.is_ascii_digit()));
    let rest = body[..open].trim_end();
    if !numbered || inside.contains(')') || rest.is_empty() {
        return (title, None);
    }
    let first = inside.split(';').next().unwrap_or_default();
    let (name, number) = first.split_once('#').unwrap_or((first, ""));
    let name = name.trim().trim_end_matches(',').trim();
    let note = (!name.is_empty()).then(|| SeriesNote {
        name: name.to_string(),
        number: number
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite() && *n >= 0.0),
    });
    (rest, note)
}

/// "2008", or "2008.0" as a spreadsheet wrote it → 2008; empty → unknown; "-500" → -500
/// (500 BCE). Anything else is an error, not a guess; which years a book may have is the
/// books service's rule.
pub(crate) fn parse_year(raw: &str) -> Result<Option<i32>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let year: f64 = raw
        .parse()
        .map_err(|_| format!("the year '{raw}' is not a number"))?;
    if year.fract() != 0.0 || !year.is_finite() {
        return Err(format!("the year '{raw}' is not a whole year"));
    }
    // Saturates far outside any year, which the books service then refuses.
    Ok(Some(year as i32))
}

/// "J.K. Rowling, Mary GrandPré" → both; a generational suffix stays with its name
/// ("Martin Luther King, Jr.").
pub(crate) fn split_authors(raw: &str) -> Vec<String> {
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

/// Runs of whitespace as one space, none at the ends: "J.R.R.  Tolkien" and "J.R.R. Tolkien"
/// are one author, and the catalog matches authors by name.
pub(crate) fn squeeze(raw: &str) -> String {
    raw.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The row has a title: without one it describes no book.
pub(crate) fn check_title(title: &str) -> Result<(), String> {
    if title.is_empty() {
        return Err("no title".into());
    }
    Ok(())
}

/// The row names an author: the catalog matches a book by its first.
pub(crate) fn check_authors(authors: &[String]) -> Result<(), String> {
    if authors.is_empty() {
        return Err("no author".into());
    }
    Ok(())
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
        assert_eq!(
            known_isbn("9780439023482", "0439023483").as_deref(),
            Some("9780439023481"),
            "a bad ISBN-13 falls back to the ISBN-10"
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
        assert_eq!(squeeze(" J.R.R.  Tolkien "), "J.R.R. Tolkien");
        assert_eq!(split_authors(" , "), Vec::<String>::new());
        assert_eq!(parse_year("2008.0"), Ok(Some(2008)));
        assert_eq!(parse_year("2008"), Ok(Some(2008)));
        assert_eq!(parse_year("-500.0"), Ok(Some(-500)));
        assert_eq!(parse_year(""), Ok(None));
        assert!(parse_year("soon").is_err());
        assert!(parse_year("2008.5").is_err());
    }

    #[test]
    fn a_row_needs_a_title_and_an_author() {
        assert_eq!(check_title(""), Err("no title".into()));
        assert!(check_title("Dune").is_ok());
        assert_eq!(check_authors(&[]), Err("no author".into()));
        assert!(check_authors(&["Frank Herbert".into()]).is_ok());
    }

    #[test]
    fn a_series_note_leaves_the_title_with_its_name_and_number() {
        let (title, series) =
            split_series("Harry Potter and the Sorcerer's Stone (Harry Potter, #1)");
        assert_eq!(title, "Harry Potter and the Sorcerer's Stone");
        let series = series.expect("a series");
        assert_eq!(series.name, "Harry Potter");
        assert_eq!(series.number, Some(1.0));
        let (title, series) = split_series("Harry Potter Boxset (Harry Potter, #1-7)");
        assert_eq!(title, "Harry Potter Boxset");
        assert_eq!(
            series.map(|s| (s.name, s.number)),
            Some(("Harry Potter".into(), None))
        );
        let (_, series) = split_series("The Colour of Magic (Discworld, #1; Rincewind #1)");
        assert_eq!(series.map(|s| s.name), Some("Discworld".into()));
        let (_, series) = split_series("Novella (Saga, #2.5)");
        assert_eq!(series.and_then(|s| s.number), Some(2.5));
        assert_eq!(
            split_series("Catch-22 (50th Anniversary Edition)"),
            ("Catch-22 (50th Anniversary Edition)", None)
        );
        assert_eq!(split_series("1984"), ("1984", None));
    }
}
