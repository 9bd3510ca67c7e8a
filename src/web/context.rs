//! What every page knows of its request: the reader (from the session cookie), their
//! language, the CSRF token for its forms, and where it is (for "sign in and come back").

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::cookies;
use super::csrf::{self, Seed};
use super::i18n::{Arg, LANG_COOKIE, Locale};
use crate::api::{ApiError, AppState};
use crate::service::auth::Principal;

#[derive(Clone)]
pub struct Ctx {
    pub locale: Locale,
    pub user: Option<Principal>,
    /// For the hidden field of every form that changes something.
    pub csrf: String,
    /// This page's path and query, to come back to after signing in or switching language.
    pub here: String,
    pub app_title: String,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(Self::of(parts, state).await)
    }
}

impl Ctx {
    /// The context of a request. A session cookie that no longer works (signed out elsewhere,
    /// expired, the account disabled) makes a signed-out visitor, not an error page.
    pub async fn of(parts: &Parts, state: &AppState) -> Self {
        let headers = &parts.headers;
        let locale = Locale::of(headers, cookies::get(headers, LANG_COOKIE));
        let user = match cookies::get(headers, cookies::SESSION) {
            Some(token) => state.auth.authenticate(token).await.ok(),
            None => None,
        };
        let seed = parts.extensions.get::<Seed>().map(|s| s.0.as_str());
        let csrf = csrf::token(state, seed.unwrap_or(""));
        let here = parts
            .uri
            .path_and_query()
            .map_or("/".to_string(), |p| p.as_str().to_string());
        Self {
            locale,
            user,
            csrf,
            here,
            app_title: state.settings.app_title.clone(),
        }
    }

    pub fn t(&self, id: &str) -> String {
        self.locale.t(id)
    }

    pub fn t1(&self, id: &str, name: &str, value: impl Into<Arg>) -> String {
        self.locale.t1(id, name, value)
    }

    pub fn lang(&self) -> &'static str {
        self.locale.tag()
    }

    pub fn asset(&self, name: &str) -> String {
        super::assets::url(name)
    }

    pub fn is_admin(&self) -> bool {
        self.user.as_ref().is_some_and(Principal::is_admin)
    }

    pub fn username(&self) -> &str {
        self.user.as_ref().map_or("", |u| u.username.as_str())
    }

    /// The languages the switch offers, with whether each is this page's.
    pub fn languages(&self) -> Vec<(&'static str, &'static str, bool)> {
        Locale::ALL
            .iter()
            .map(|&l| (l.tag(), l.native_name(), l == self.locale))
            .collect()
    }

    /// This page's own address, percent-encoded for a `next=` parameter.
    pub fn here_encoded(&self) -> String {
        form_urlencoded::byte_serialize(self.here.as_bytes()).collect()
    }
}

/// Where to go after signing in: a path of this site, never another site (an open redirect
/// would let a link to folio's sign-in send the reader anywhere).
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths_are_followed_after_signing_in() {
        assert_eq!(local_path(Some("/books/3?x=1")), "/books/3?x=1");
        assert_eq!(local_path(Some("//evil.example/")), "/");
        assert_eq!(local_path(Some("https://evil.example/")), "/");
        assert_eq!(local_path(Some("/\\evil.example")), "/");
        assert_eq!(local_path(None), "/");
    }
}
