//! Field checks shared by the services. Each returns the message for a [`FieldError`], so a
//! request can report every bad field at once.

use std::collections::HashSet;
use std::sync::LazyLock;

use super::FieldError;
use super::auth::password::normalise;

/// Collects field errors; `finish` turns them into a validation error if there are any.
#[derive(Default)]
pub struct Checks(Vec<FieldError>);

impl Checks {
    pub fn check(&mut self, field: &str, result: Result<(), String>) -> &mut Self {
        if let Err(message) = result {
            self.0.push(FieldError::new(field, message));
        }
        self
    }

    pub fn finish(&mut self) -> Result<(), super::ServiceError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(super::ServiceError::Validation(std::mem::take(&mut self.0)))
        }
    }
}

/// A value that passed its service's rules, normalised as they normalise it. Only the services
/// make one, so a function that takes a `Checked` (the catalog's batch writes, say) cannot be
/// handed a value no rule has seen; it is read through `Deref` and not changed afterwards.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked<T>(T);

impl<T> Checked<T> {
    /// For a service's check, once its rules have passed.
    pub(in crate::service) fn new(value: T) -> Self {
        Self(value)
    }

    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Checked<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// Text a person typed: a length in characters, and no control characters (NUL among them,
/// which PostgreSQL cannot store in text).
pub fn text(value: &str, min: usize, max: usize) -> Result<(), String> {
    let allowed = |c: char| !c.is_control() || matches!(c, '\n' | '\t' | '\r');
    // One pass, and over bytes when the text is ASCII: imports check every row they read.
    let (length, controls) = if value.is_ascii() {
        let control = |b: &u8| b.is_ascii_control() && !matches!(b, b'\n' | b'\t' | b'\r');
        (value.len(), value.bytes().any(|b| control(&b)))
    } else {
        value
            .chars()
            .fold((0, false), |(n, bad), c| (n + 1, bad || !allowed(c)))
    };
    if length < min {
        return Err(if min == 1 {
            "must not be empty".into()
        } else {
            format!("must be at least {min} characters")
        });
    }
    if length > max {
        return Err(format!("must be at most {max} characters"));
    }
    if controls {
        return Err("must not contain control characters".into());
    }
    Ok(())
}

/// Trims `value` in place, allocating only when there is something to trim.
pub fn trim(value: &mut String) {
    let trimmed = value.trim();
    if trimmed.len() != value.len() {
        *value = trimmed.to_string();
    }
}

/// 3–50 letters, digits, `_`, `.` or `-`.
pub fn username(value: &str) -> Result<(), String> {
    let length = value.chars().count();
    if !(3..=50).contains(&length) {
        return Err("must be 3 to 50 characters".into());
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Err("may contain only letters, digits, '_', '.' and '-'".into());
    }
    Ok(())
}

/// The shape of an address: one `@`, a local part, a dotted domain, no spaces or controls.
pub fn email(value: &str) -> Result<(), String> {
    const MESSAGE: &str = "must be an email address such as reader@example.org";
    if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(MESSAGE.into());
    }
    let Some((local, domain)) = value.split_once('@') else {
        return Err(MESSAGE.into());
    };
    let domain_ok = !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..");
    if local.is_empty() || local.len() > 64 || !domain_ok {
        return Err(MESSAGE.into());
    }
    Ok(())
}

pub const PASSWORD_MIN_CHARS: usize = 10;
pub const PASSWORD_MAX_CHARS: usize = 1000;

/// At least 10 visible characters, not one of the most common passwords, and not the account's
/// own username or email. Nothing else: length beats composition rules, and people may use any
/// character they like, so long as they can see it and type it again.
///
/// Every rule looks at the NFKC form, which is also what gets hashed (`password::normalise`),
/// so a password is judged as it will be compared.
pub fn password(value: &str, username: &str, email: &str) -> Result<(), String> {
    let normalised = normalise(value);
    let value = normalised.as_ref();
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    if value.chars().any(|c| is_invisible(c) && !is_joiner(c)) {
        return Err("must not contain invisible characters".into());
    }
    if value.chars().all(char::is_whitespace) {
        return Err("must not be only spaces".into());
    }
    let visible = value.chars().filter(|c| !is_invisible(*c)).count();
    if visible < PASSWORD_MIN_CHARS {
        return Err(format!("must be at least {PASSWORD_MIN_CHARS} characters"));
    }
    if value.chars().count() > PASSWORD_MAX_CHARS {
        return Err(format!("must be at most {PASSWORD_MAX_CHARS} characters"));
    }
    let (plain, skeleton) = (value.to_lowercase(), skeleton(value));
    let own = [username.to_lowercase(), email.to_lowercase()];
    if own.iter().any(|o| [&plain, &skeleton].contains(&o)) {
        return Err("must not be your username or email".into());
    }
    if COMMON_PASSWORDS.contains(plain.as_str()) || COMMON_PASSWORDS.contains(skeleton.as_str()) {
        return Err("is one of the most common passwords; choose another".into());
    }
    Ok(())
}

/// A character that shows nothing: format characters (general category Cf: zero-width space,
/// joiners, direction marks, the byte-order mark, tag characters…) and the few letters that
/// render blank (the Hangul fillers, the blank Braille pattern).
fn is_invisible(c: char) -> bool {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    c.general_category() == GeneralCategory::Format
        || matches!(
            c,
            '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{2800}'
        )
}

/// Zero-width joiner and non-joiner: invisible, but part of how emoji sequences and scripts
/// such as Persian are written, so allowed inside a password (they do not count to its length).
fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200C}' | '\u{200D}')
}

/// The password lower-cased with Cyrillic and Greek look-alikes of Latin letters read as those
/// letters, so that `pаssword12` with a Cyrillic `а` is the common password it looks like.
///
/// It catches single-letter swaps from those two scripts (and, through NFKC before it,
/// full-width and mathematical letters). It does not catch look-alikes from other scripts
/// (Armenian, Cherokee…), digits for letters (`p4ssw0rd`), or other leetspeak.
fn skeleton(value: &str) -> String {
    value
        .chars()
        .map(latin_look_alike)
        .collect::<String>()
        .to_lowercase()
}

/// The Latin letter a Cyrillic or Greek letter is commonly mistaken for, or the letter itself.
fn latin_look_alike(c: char) -> char {
    match c {
        // Cyrillic
        'а' | 'А' => 'a',
        'В' => 'b',
        'с' | 'С' => 'c',
        'ԁ' => 'd',
        'е' | 'Е' => 'e',
        'һ' | 'Н' => 'h',
        'і' | 'І' => 'i',
        'ј' | 'Ј' => 'j',
        'к' | 'К' => 'k',
        'ӏ' => 'l',
        'М' => 'm',
        'о' | 'О' => 'o',
        'р' | 'Р' => 'p',
        'ԛ' => 'q',
        'ѕ' | 'Ѕ' => 's',
        'Т' => 't',
        'ԝ' => 'w',
        'х' | 'Х' => 'x',
        'у' | 'Ү' => 'y',
        // Greek
        'α' | 'Α' => 'a',
        'Β' => 'b',
        'Ε' => 'e',
        'Η' => 'h',
        'ι' | 'Ι' => 'i',
        'κ' | 'Κ' => 'k',
        'Μ' => 'm',
        'ν' | 'Ν' => 'n',
        'ο' | 'Ο' => 'o',
        'ρ' | 'Ρ' => 'p',
        'Τ' => 't',
        'υ' => 'u',
        'χ' | 'Χ' => 'x',
        'Υ' => 'y',
        'Ζ' => 'z',
        other => other,
    }
}

/// Django's list of common passwords (BSD-3-Clause): its 5,000 most common entries and every
/// entry of 10 or more characters, lower-cased.
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("auth/common-passwords.txt")
        .lines()
        .filter(|line| !line.is_empty())
        .collect()
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(username("ada.lovelace_1815-x").is_ok());
        for bad in [
            "ab",
            "has space",
            "ümlaut",
            "a'; DROP TABLE",
            &"x".repeat(51),
            "nul\0x",
        ] {
            assert!(username(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn emails() {
        assert!(email("reader@example.org").is_ok());
        assert!(email("First.Last+tag@sub.example.co.uk").is_ok());
        for bad in [
            "",
            "no-at",
            "@example.org",
            "a@b",
            "a@@b.org",
            "a b@c.org",
            "a@b..org",
            "x\0@y.org",
        ] {
            assert!(email(bad).is_err(), "{bad:?}");
        }
    }

    fn pw(value: &str) -> Result<(), String> {
        password(value, "ada", "ada@example.org")
    }

    #[test]
    fn passwords() {
        assert!(pw("correct horse battery staple").is_ok());
        assert!(pw("short").is_err());
        assert!(pw("1234567890").is_err(), "common");
        assert!(pw("QWERTYUIOP").is_err(), "common regardless of case");
        assert!(pw(&"🙂".repeat(PASSWORD_MAX_CHARS + 1)).is_err());
        assert!(COMMON_PASSWORDS.len() > 5000);
    }

    #[test]
    fn passwords_are_judged_as_they_look() {
        assert!(pw(&" ".repeat(10)).is_err(), "spaces");
        assert!(pw(&"\u{3000}".repeat(10)).is_err(), "ideographic spaces");
        assert!(pw(&"\u{200B}".repeat(10)).is_err(), "zero-width spaces");
        assert!(pw("abc\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}").is_err());
        assert!(pw(&"\u{3164}".repeat(10)).is_err(), "Hangul filler");
        assert!(pw("tab\tinside the password").is_err(), "control");
        assert!(
            pw("bidi \u{202E}override here").is_err(),
            "format character"
        );
        assert!(pw("pаssword12").is_err(), "Cyrillic а");
        assert!(pw("ΡАSSWОRD12").is_err(), "Greek and Cyrillic capitals");
        assert!(
            pw("ｐａｓｓｗｏｒｄ１２").is_err(),
            "full-width, through NFKC"
        );
        assert!(
            pw("family 👨\u{200D}👩\u{200D}👧 at home").is_ok(),
            "joiners are fine"
        );
        assert!(pw("crème brûlée forever").is_ok());
        assert!(pw("Ada@Example.org").is_err(), "the email");
        assert!(password("ada.lovelace", "Ada.Lovelace", "x@example.org").is_err());
        assert!(password("аda.lovelace", "ada.lovelace", "x@example.org").is_err());
    }

    #[test]
    fn texts() {
        assert!(text("Ursula", 1, 10).is_ok());
        assert!(text("", 1, 10).is_err());
        assert!(text("a\0b", 1, 10).is_err());
        assert!(text("line\nbreak", 1, 20).is_ok());
        assert!(text(&"🙂".repeat(11), 1, 10).is_err());
    }
}
