//! Field checks shared by the services. Each returns the message for a [`FieldError`], so a
//! request can report every bad field at once.

use std::collections::HashSet;
use std::sync::LazyLock;

use super::FieldError;

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

/// Text a person typed: a length in characters, and no control characters (NUL among them,
/// which PostgreSQL cannot store in text).
pub fn text(value: &str, min: usize, max: usize) -> Result<(), String> {
    let length = value.chars().count();
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
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err("must not contain control characters".into());
    }
    Ok(())
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

/// At least 10 characters and not one of the most common passwords. Nothing else: length beats
/// composition rules, and people may use any character they like.
pub fn password(value: &str) -> Result<(), String> {
    let length = value.chars().count();
    if length < PASSWORD_MIN_CHARS {
        return Err(format!("must be at least {PASSWORD_MIN_CHARS} characters"));
    }
    if length > PASSWORD_MAX_CHARS {
        return Err(format!("must be at most {PASSWORD_MAX_CHARS} characters"));
    }
    if COMMON_PASSWORDS.contains(value.to_lowercase().as_str()) {
        return Err("is one of the most common passwords; choose another".into());
    }
    Ok(())
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

    #[test]
    fn passwords() {
        assert!(password("correct horse battery staple").is_ok());
        assert!(password("short").is_err());
        assert!(password("1234567890").is_err(), "common");
        assert!(password("QWERTYUIOP").is_err(), "common regardless of case");
        assert!(password(&"🙂".repeat(PASSWORD_MAX_CHARS + 1)).is_err());
        assert!(COMMON_PASSWORDS.len() > 5000);
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
