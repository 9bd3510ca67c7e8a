//! HTTP's validators and ranges for downloads (RFC 9110 §13, §14): `If-None-Match`, a single
//! `Range` with `If-Range`, and `Content-Disposition` names (RFC 6266).

use std::ops::Range;

use axum::http::{HeaderMap, header};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Whether `If-None-Match` names the current ETag (or `*`): the client's copy is current.
pub fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == etag)
}

/// What part of a file a request asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Requested {
    Whole,
    /// A byte range, end exclusive, within the file.
    Part(Range<u64>),
    Unsatisfiable,
}

/// The range to send. A `Range` folio does not serve as one part (several ranges, other units,
/// one it cannot parse) is ignored and the whole file sent, as the RFC allows; so is one whose
/// `If-Range` names another version of the file.
pub fn requested(headers: &HeaderMap, etag: &str, size: u64) -> Requested {
    let Some(range) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Requested::Whole;
    };
    if let Some(if_range) = headers.get(header::IF_RANGE) {
        // A date validator is never a strong match for a content hash: send it whole.
        if if_range.to_str().ok().map(str::trim) != Some(etag) {
            return Requested::Whole;
        }
    }
    parse(range, size)
}

fn parse(range: &str, size: u64) -> Requested {
    let Some(spec) = range.trim().strip_prefix("bytes=") else {
        return Requested::Whole;
    };
    if spec.contains(',') {
        return Requested::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Requested::Whole;
    };
    let number = |text: &str| text.trim().parse::<u64>().ok();
    match (first.trim().is_empty(), number(first), number(last)) {
        // `bytes=-N`: the last N bytes.
        (true, _, Some(suffix)) => {
            if suffix == 0 || size == 0 {
                Requested::Unsatisfiable
            } else {
                Requested::Part(size.saturating_sub(suffix)..size)
            }
        }
        // `bytes=A-` and `bytes=A-B` (B past the end means the end).
        (false, Some(start), end) if last.trim().is_empty() || end.is_some() => {
            let end = end.map_or(size, |e| e.saturating_add(1).min(size));
            if start >= size {
                Requested::Unsatisfiable
            } else if end <= start {
                Requested::Whole
            } else {
                Requested::Part(start..end)
            }
        }
        _ => Requested::Whole,
    }
}

/// Characters kept as they are in RFC 5987's `filename*` (its `attr-char`).
const ATTR_CHAR_ESCAPES: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `attachment` (or `inline`) with the name twice: an ASCII-only `filename` for old clients and
/// the exact name as `filename*=UTF-8''…`.
pub fn content_disposition(name: &str, inline: bool) -> String {
    let ascii: String = name
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '_',
        })
        .collect();
    format!(
        "{}; filename=\"{ascii}\"; filename*=UTF-8''{}",
        if inline { "inline" } else { "attachment" },
        utf8_percent_encode(name, ATTR_CHAR_ESCAPES)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_read_as_rfc_9110_says() {
        assert_eq!(parse("bytes=0-99", 1000), Requested::Part(0..100));
        assert_eq!(parse("bytes=900-", 1000), Requested::Part(900..1000));
        assert_eq!(parse("bytes=-100", 1000), Requested::Part(900..1000));
        assert_eq!(parse("bytes=-5000", 1000), Requested::Part(0..1000));
        assert_eq!(parse("bytes=990-2000", 1000), Requested::Part(990..1000));
        assert_eq!(parse("bytes=1000-", 1000), Requested::Unsatisfiable);
        assert_eq!(parse("bytes=-0", 1000), Requested::Unsatisfiable);
        assert_eq!(parse("bytes=5-2", 1000), Requested::Whole);
        assert_eq!(parse("bytes=0-1,5-9", 1000), Requested::Whole);
        assert_eq!(parse("items=0-1", 1000), Requested::Whole);
        assert_eq!(parse("bytes=x-y", 1000), Requested::Whole);
    }

    #[test]
    fn names_are_safe_in_both_forms() {
        assert_eq!(
            content_disposition("Война и мир.epub", false),
            "attachment; filename=\"_____ _ ___.epub\"; \
             filename*=UTF-8''%D0%92%D0%BE%D0%B9%D0%BD%D0%B0%20%D0%B8%20%D0%BC%D0%B8%D1%80.epub"
        );
        assert_eq!(
            content_disposition("a\"b\\c.pdf", true),
            "inline; filename=\"a_b_c.pdf\"; filename*=UTF-8''a%22b%5Cc.pdf"
        );
    }
}
