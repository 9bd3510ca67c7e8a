//! Language codes as they come in exports (`eng`, `en-US`, `fre`, `ger`) folded to one form:
//! the ISO 639-1 two-letter code where there is one ("en"), else the three-letter code. The
//! region is dropped: "en-US" and "en-GB" are both English, and filtering by `language=en` should
//! find them all.

/// ISO 639-2 (bibliographic and terminology) codes of the languages likely in a catalog,
/// with their ISO 639-1 codes.
const THREE_TO_TWO: &[(&str, &str)] = &[
    ("ara", "ar"),
    ("bul", "bg"),
    ("cat", "ca"),
    ("ces", "cs"),
    ("chi", "zh"),
    ("cze", "cs"),
    ("dan", "da"),
    ("deu", "de"),
    ("dut", "nl"),
    ("ell", "el"),
    ("eng", "en"),
    ("est", "et"),
    ("fas", "fa"),
    ("fin", "fi"),
    ("fra", "fr"),
    ("fre", "fr"),
    ("ger", "de"),
    ("gre", "el"),
    ("heb", "he"),
    ("hin", "hi"),
    ("hrv", "hr"),
    ("hun", "hu"),
    ("ice", "is"),
    ("ind", "id"),
    ("isl", "is"),
    ("ita", "it"),
    ("jpn", "ja"),
    ("kor", "ko"),
    ("lat", "la"),
    ("lav", "lv"),
    ("lit", "lt"),
    ("msa", "ms"),
    ("may", "ms"),
    ("nld", "nl"),
    ("nob", "nb"),
    ("nor", "no"),
    ("per", "fa"),
    ("pol", "pl"),
    ("por", "pt"),
    ("ron", "ro"),
    ("rum", "ro"),
    ("rus", "ru"),
    ("slk", "sk"),
    ("slo", "sk"),
    ("slv", "sl"),
    ("spa", "es"),
    ("srp", "sr"),
    ("swe", "sv"),
    ("tha", "th"),
    ("tur", "tr"),
    ("ukr", "uk"),
    ("vie", "vi"),
    ("zho", "zh"),
];

/// The folded code, or `None` for an empty or unusable one (which is unknown, not an error).
pub fn normalize(code: &str) -> Option<String> {
    let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    if !(2..=3).contains(&primary.len()) || !primary.chars().all(|c| c.is_ascii_lowercase()) {
        return None;
    }
    let two = THREE_TO_TWO
        .iter()
        .find(|(three, _)| *three == primary)
        .map(|(_, two)| two.to_string());
    Some(two.unwrap_or(primary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_codes_fold_to_one() {
        for code in ["eng", "en-US", "en-GB", "EN", "en_CA", "en"] {
            assert_eq!(normalize(code).as_deref(), Some("en"), "{code}");
        }
        assert_eq!(normalize("fre").as_deref(), Some("fr"));
        assert_eq!(normalize("ger").as_deref(), Some("de"));
        assert_eq!(normalize("fil").as_deref(), Some("fil"));
        assert_eq!(normalize(""), None);
        assert_eq!(normalize("english"), None);
        assert_eq!(normalize("e1"), None);
    }
}
