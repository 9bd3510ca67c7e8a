//! The web app's cookies: reading a request's, and writing ours with the right flags.

use axum::http::{HeaderMap, HeaderValue, header};

/// The browser's sign-in: a signed token naming the sign-in (`auth_session`), `HttpOnly` so no
/// script (a book's included) can read it.
pub const SESSION: &str = "folio_session";
/// The random value the forms' CSRF tokens are made from ([`super::csrf`]).
pub const CSRF: &str = "folio_csrf";

/// The value of cookie `name` in a request, if it sent one.
pub fn get<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name).then_some(value.trim_matches('"'))
        })
}

/// Whether cookies set in answer to this request must be `Secure`: as configured, else when
/// the request came over HTTPS (a TLS proxy says so in `X-Forwarded-Proto`).
pub fn secure(configured: Option<bool>, headers: &HeaderMap) -> bool {
    configured.unwrap_or_else(|| {
        headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
    })
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax` (sent on following a link to folio, never
/// on another site's form post), for the whole site; for `max_age_secs`, or cleared with 0.
pub fn set(name: &str, value: &str, max_age_secs: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}"
    ))
    .expect("cookie names and values are token characters")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            "a=1; folio_session=abc.def".parse().unwrap(),
        );
        headers.append(header::COOKIE, "folio_lang=ru".parse().unwrap());
        assert_eq!(get(&headers, SESSION), Some("abc.def"));
        assert_eq!(get(&headers, "folio_lang"), Some("ru"));
        assert_eq!(get(&headers, "folio"), None);
    }

    #[test]
    fn cookies_are_secure_over_https_or_when_configured() {
        let mut headers = HeaderMap::new();
        assert!(!secure(None, &headers));
        assert!(secure(Some(true), &headers));
        headers.insert("x-forwarded-proto", "https".parse().unwrap());
        assert!(secure(None, &headers));
        assert!(!secure(Some(false), &headers));
        let cookie = set(SESSION, "t", 60, true);
        assert_eq!(
            cookie.to_str().unwrap(),
            "folio_session=t; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
    }
}
