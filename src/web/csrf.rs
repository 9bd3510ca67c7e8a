//! Cross-site request forgery: every form that changes something carries a token another site
//! cannot know, and a post from another origin is refused before its form is read.
//!
//! The token is an HMAC of a random value kept in the browser's `folio_csrf` cookie (which no
//! other site can read or set), so it holds for signed-out forms (signing in, registering) as
//! for signed-in ones, and no server-side state is kept.

use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, Method, header};
use hmac::{KeyInit, Mac};
use serde::de::DeserializeOwned;
use sha2::Sha256;

use crate::api::{ApiError, AppState};

/// The form field the token travels in.
pub const FIELD: &str = "csrf";

/// This browser's `folio_csrf` value, put on the request by the pages' layer (which sets the
/// cookie when the browser had none).
#[derive(Clone)]
pub struct Seed(pub String);

/// The token for forms shown to the browser holding `seed`.
pub fn token(state: &AppState, seed: &str) -> String {
    let key = state.auth.derived_key("csrf");
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key");
    mac.update(seed.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn matches(state: &AppState, seed: &str, sent: &str) -> bool {
    let Ok(sent) = hex::decode(sent) else {
        return false;
    };
    let key = state.auth.derived_key("csrf");
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key");
    mac.update(seed.as_bytes());
    // Constant time: the comparison says nothing about how much of a guess was right.
    mac.verify_slice(&sent).is_ok()
}

/// Whether a request that changes something came from another site, by what browsers say of
/// it: `Sec-Fetch-Site`, else an `Origin` that is not this host.
pub fn cross_site(method: &Method, headers: &HeaderMap) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !matches!(site, "same-origin" | "none");
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (origin, host) {
        (Some(origin), Some(host)) => {
            let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
            !origin_host.eq_ignore_ascii_case(host)
        }
        // A browser sends `Origin: null` from sandboxed or privacy-sensitive contexts.
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// The header a page's script sends its token in (a `fetch` or `sendBeacon` has no form).
pub const HEADER: &str = "x-csrf-token";

/// Checks the token a script sent in [`HEADER`], or in its body where a header cannot go
/// (`navigator.sendBeacon`); for the reader's and the player's position saves.
pub fn check_script(
    state: &AppState,
    seed: Option<&Seed>,
    headers: &HeaderMap,
    in_body: Option<&str>,
) -> Result<(), ApiError> {
    let sent = headers
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .or(in_body);
    match (seed, sent) {
        (Some(Seed(seed)), Some(sent)) if matches(state, seed, sent) => Ok(()),
        _ => Err(ApiError::Forbidden(EXPIRED.into())),
    }
}

/// An HTML form post (`application/x-www-form-urlencoded`) whose CSRF token checked out; the
/// fields then deserialise into `T`, which ignores the token's own field.
pub struct Form<T>(pub T);

const EXPIRED: &str =
    "This form has expired or came from another site. Reload the page and send it again.";

impl<T: DeserializeOwned> FromRequest<AppState> for Form<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let seed = request.extensions().get::<Seed>().cloned();
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|_| ApiError::BadRequest("The form could not be read.".into()))?;
        let sent = form_urlencoded::parse(&bytes)
            .find(|(name, _)| name == FIELD)
            .map(|(_, value)| value.into_owned());
        match (seed, sent) {
            (Some(Seed(seed)), Some(sent)) if matches(state, &seed, &sent) => {}
            _ => return Err(ApiError::Forbidden(EXPIRED.into())),
        }
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(&bytes));
        serde_path_to_error::deserialize(deserializer)
            .map(Self)
            .map_err(|e| {
                ApiError::BadRequest(format!(
                    "The form's {} is not right: {}",
                    e.path(),
                    e.inner()
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_from_another_site_is_cross_site() {
        let post = Method::POST;
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "127.0.0.1:8000".parse().unwrap());
        assert!(
            !cross_site(&post, &headers),
            "no Origin: an older browser, token decides"
        );
        headers.insert(header::ORIGIN, "http://127.0.0.1:8000".parse().unwrap());
        assert!(!cross_site(&post, &headers));
        headers.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
        assert!(cross_site(&post, &headers));
        assert!(!cross_site(&Method::GET, &headers));
        headers.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(cross_site(&post, &headers));
        headers.insert("sec-fetch-site", "same-origin".parse().unwrap());
        assert!(!cross_site(&post, &headers));
    }
}
