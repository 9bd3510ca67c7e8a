//! The web app: server-rendered pages for readers and the shop keeper at `/`, beside the JSON
//! API. Pages are askama templates (`templates/`, checked at compile time) filled from the
//! same services the API calls; text comes from the message catalogues (`locales/`); the few
//! scripts and the stylesheet are folio's own (`assets/`).
//!
//! A browser signs in with a session cookie on the API's own sign-ins ([`cookies`]); every
//! form that changes something is guarded against cross-site forgery ([`csrf`]); errors are
//! pages in the reader's language ([`errors`]).

mod assets;
mod chapter;
mod context;
mod cookies;
mod csrf;
mod errors;
pub mod i18n;
mod pages;
mod view;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

use crate::api::{ApiError, AppState};
pub use context::Ctx;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home::home))
        .route("/search", get(pages::browse::search))
        .route("/authors/{id}", get(pages::browse::author))
        .route("/categories/{slug}", get(pages::browse::category))
        .route("/books/{id}", get(pages::book::show))
        .route("/books/{id}/comments", post(pages::book::comment))
        .route("/comments/{id}", post(pages::book::edit_comment))
        .route("/comments/{id}/delete", post(pages::book::delete_comment))
        .route(
            "/signin",
            get(pages::account::signin_form).post(pages::account::signin),
        )
        .route(
            "/register",
            get(pages::account::register_form).post(pages::account::register),
        )
        .route("/editions/{id}/buy", post(pages::store::buy))
        .route("/purchases/{id}", get(pages::store::purchase_page))
        .route(
            "/checkout/{id}",
            get(pages::store::checkout).post(pages::store::settle),
        )
        .route("/library", get(pages::store::library))
        .route("/read/{id}", get(pages::reader::read))
        .route("/read/{id}/res/{*path}", get(pages::reader::resource))
        .route("/read/{id}/position", post(pages::reader::save_position))
        .route("/listen/{id}", get(pages::player::listen))
        .route("/listen/{id}/position", post(pages::player::save_position))
        .route("/files/{id}/content", get(pages::store::file))
        .route("/admin", get(pages::admin::dashboard))
        .route("/admin/books", post(pages::admin::create_book))
        .route(
            "/admin/books/{id}",
            get(pages::admin::book).post(pages::admin::update_book),
        )
        .route(
            "/admin/books/{id}/editions",
            post(pages::admin::create_edition),
        )
        // The upload's own limit (FOLIO_MAX_UPLOAD_BYTES) is counted as the parts are
        // written to disk, as the API's upload does; not the router's 1 MiB.
        .route(
            "/admin/editions/{id}/files",
            post(pages::admin::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/admin/editions/{id}", post(pages::admin::update_edition))
        .route("/admin/editions/{id}/apply", post(pages::admin::apply))
        .route(
            "/admin/books/{id}/cover",
            post(pages::admin::cover).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/admin/categories",
            get(pages::admin_catalog::categories).post(pages::admin_catalog::create_category),
        )
        .route(
            "/admin/categories/{id}",
            post(pages::admin_catalog::update_category),
        )
        .route(
            "/admin/authors/{id}",
            get(pages::admin_catalog::author).post(pages::admin_catalog::update_author),
        )
        .route("/admin/purchases", get(pages::admin::purchases))
        .route("/admin/users", get(pages::admin::users))
        .route("/admin/users/{id}", post(pages::admin::update_user))
        .route("/account", get(pages::me::show))
        .route("/account/password", post(pages::me::password))
        .route(
            "/account/signout-everywhere",
            post(pages::me::signout_everywhere),
        )
        .route("/account/sign-ins/{id}/end", post(pages::me::end_sign_in))
        .route("/account/api-keys", post(pages::me::create_key))
        .route("/account/api-keys/{id}/revoke", post(pages::me::revoke_key))
        .route("/account/referral-links", post(pages::me::create_link))
        .route("/account/export", get(pages::me::export))
        .route("/signout", post(pages::account::signout))
        .route("/lang", post(pages::account::language))
        .route("/static/{file}", get(assets::serve))
}

/// Paths that belong to the API, the e-reader protocols or the docs: never pages.
const NOT_PAGES: &[&str] = &[
    "/api/", "/opds/", "/kosync/", "/docs", "/openapi", "/health", "/ready", "/r/",
];

fn is_page(path: &str) -> bool {
    !NOT_PAGES.iter().any(|prefix| path.starts_with(prefix))
}

/// Around every request to a page: the browser's CSRF seed (set as a cookie on its first
/// visit), refusal of cross-site posts, the pages' security and caching headers, and errors
/// turned into pages.
pub async fn layer(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if !is_page(path) || path.starts_with("/static/") {
        return next.run(request).await;
    }
    let (seed, new_seed) = match cookies::get(request.headers(), cookies::CSRF) {
        Some(seed) if seed.len() >= 32 => (seed.to_string(), false),
        _ => (crate::service::auth::token::random_secret(""), true),
    };
    request.extensions_mut().insert(csrf::Seed(seed.clone()));
    // What an error page needs of the request, kept before the handler takes it.
    let (parts, body) = request.into_parts();
    let mut kept = Request::new(());
    *kept.uri_mut() = parts.uri.clone();
    *kept.headers_mut() = parts.headers.clone();
    kept.extensions_mut().insert(csrf::Seed(seed.clone()));
    let (kept, ()) = kept.into_parts();
    let headers = &kept.headers;
    let secure = cookies::secure(state.settings.cookie_secure, headers);

    let response = if csrf::cross_site(&parts.method, headers) {
        ApiError::Forbidden("A form from another site was refused.".into()).into_response()
    } else {
        next.run(Request::from_parts(parts, body)).await
    };
    let mut response = errors::page(&state, &kept, response).await;
    let out = response.headers_mut();
    if new_seed {
        // A year: the seed is no secret on its own, and a reader's open forms keep working.
        out.append(
            header::SET_COOKIE,
            cookies::set(cookies::CSRF, &seed, 365 * 86_400, secure),
        );
    }
    let is_html = out
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if is_html {
        out.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        out.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
        out.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        // A signed-in page is the reader's own: no cache keeps it. A signed-out one may be
        // kept, but is asked for again each time (it changes as the catalog does).
        let signed_in = cookies::get(headers, cookies::SESSION).is_some();
        out.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(if signed_in { "no-store" } else { "no-cache" }),
        );
        out.append(
            header::VARY,
            HeaderValue::from_static("Cookie, Accept-Language"),
        );
    }
    response
}

/// Only folio's own scripts, styles and media; no inline script anywhere, so nothing injected
/// into a page (a book's description, a comment) could run.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
                   img-src 'self' data:; media-src 'self'; object-src 'none'; base-uri 'none'; \
                   form-action 'self'; frame-ancestors 'none'";

/// A rendered template as an HTML response; a template that fails to render is a 500.
pub fn render(template: &impl askama::Template) -> Result<Response, ApiError> {
    let html = template
        .render()
        .map_err(|e| ApiError::internal(format!("a page did not render: {e}")))?;
    Ok(Html(html).into_response())
}

/// A redirect after a form post: `303 See Other`, so a reload never posts again.
pub fn see_other(to: &str) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = axum::http::StatusCode::SEE_OTHER;
    response.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/")),
    );
    response
}
