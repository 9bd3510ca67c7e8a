//! ISBNs: any common spelling in, ISBN-13 digits out.

/// Normalises an ISBN-10 or ISBN-13, with or without hyphens and spaces, to the 13 digits of
/// its ISBN-13. A wrong check digit is an error: it is almost always a typing mistake.
pub fn normalize(input: &str) -> Result<String, String> {
    if is_13_digits(input) {
        return check_isbn13(input).map(|()| input.to_string());
    }
    let mut compact: String = input
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\u{2010}' | '\u{2011}'))
        .collect();
    compact.make_ascii_uppercase();
    let compact = compact
        .strip_prefix("ISBN")
        .unwrap_or(&compact)
        .trim_start_matches(':');
    // Everything below slices by byte position, which only digits and X make safe.
    if !compact.is_ascii() {
        return Err("must be an ISBN-10 or ISBN-13".into());
    }
    match compact.len() {
        10 => from_isbn10(compact),
        13 => check_isbn13(compact).map(|()| compact.to_string()),
        _ => Err("must be an ISBN-10 or ISBN-13".into()),
    }
}

/// [`normalize`] in place: 13 digits, the form folio stores and every import row carries, are
/// checked without a copy.
pub fn normalize_in_place(isbn: &mut String) -> Result<(), String> {
    if is_13_digits(isbn) {
        return check_isbn13(isbn);
    }
    *isbn = normalize(isbn)?;
    Ok(())
}

fn is_13_digits(input: &str) -> bool {
    input.len() == 13 && input.bytes().all(|b| b.is_ascii_digit())
}

fn from_isbn10(isbn: &str) -> Result<String, String> {
    let (body, check) = isbn.split_at(9);
    if !body.bytes().all(|b| b.is_ascii_digit()) {
        return Err("an ISBN-10 has nine digits and a check digit (0-9 or X)".into());
    }
    let expected = isbn10_check(body);
    let given = match check {
        "X" => 10,
        digit if digit.as_bytes()[0].is_ascii_digit() => u32::from(digit.as_bytes()[0] - b'0'),
        _ => return Err("an ISBN-10 ends in a digit or X".into()),
    };
    if given != expected {
        return Err("the ISBN-10 check digit is wrong".into());
    }
    // Built by hand, not formatted: imports convert an ISBN-10 on most rows they read.
    let mut isbn13 = String::with_capacity(13);
    isbn13.push_str("978");
    isbn13.push_str(body);
    let check13 = isbn13_check(&isbn13);
    isbn13.push(char::from(b'0' + check13 as u8));
    Ok(isbn13)
}

fn check_isbn13(isbn: &str) -> Result<(), String> {
    if !isbn.bytes().all(|b| b.is_ascii_digit()) {
        return Err("an ISBN-13 has 13 digits".into());
    }
    if !(isbn.starts_with("978") || isbn.starts_with("979")) {
        return Err("an ISBN-13 starts with 978 or 979".into());
    }
    let (body, check) = isbn.split_at(12);
    if u32::from(check.as_bytes()[0] - b'0') != isbn13_check(body) {
        return Err("the ISBN-13 check digit is wrong".into());
    }
    Ok(())
}

/// Weights 10 down to 2; the check digit makes the sum a multiple of 11 (10 is written X).
pub fn isbn10_check(nine_digits: &str) -> u32 {
    let sum: u32 = nine_digits
        .bytes()
        .zip((2..=10).rev())
        .map(|(b, weight)| u32::from(b - b'0') * weight)
        .sum();
    (11 - sum % 11) % 11
}

/// Weights alternate 1 and 3; the check digit makes the sum a multiple of 10.
pub fn isbn13_check(twelve_digits: &str) -> u32 {
    let sum: u32 = twelve_digits
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    (10 - sum % 10) % 10
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isbn10_becomes_isbn13() {
        assert_eq!(normalize("0-306-40615-2").unwrap(), "9780306406157");
        assert_eq!(normalize("0439023483").unwrap(), "9780439023481");
        assert_eq!(normalize("080442957X").unwrap(), "9780804429573");
        assert_eq!(normalize("080442957x").unwrap(), "9780804429573");
    }

    #[test]
    fn isbn13_in_any_spelling() {
        assert_eq!(normalize("978-0-306-40615-7").unwrap(), "9780306406157");
        assert_eq!(
            normalize("ISBN 978 0 306 40615 7").unwrap(),
            "9780306406157"
        );
        assert_eq!(normalize("9791032305560").unwrap(), "9791032305560");
    }

    #[test]
    fn wrong_check_digits_and_shapes_are_refused() {
        assert!(
            normalize("0-306-40615-3")
                .unwrap_err()
                .contains("check digit")
        );
        assert!(
            normalize("978-0-306-40615-8")
                .unwrap_err()
                .contains("check digit")
        );
        assert!(normalize("12345").is_err());
        assert!(normalize("9770306406157").is_err());
        assert!(normalize("97803064061X7").is_err());
        assert!(normalize("").is_err());
    }

    /// Found by fuzzing: ten bytes that are not ten characters used to panic mid-character.
    #[test]
    fn non_ascii_input_is_refused_not_a_panic() {
        assert!(normalize("\t&\u{81}^B\u{82205}").is_err());
        assert!(normalize("978030640615\u{e9}").is_err());
        assert!(normalize("ISBN：9780306406157").is_err());
    }
}
