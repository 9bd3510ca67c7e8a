//! The OpenAPI document and the interactive docs page, both served by folio itself (the docs
//! page's files are compiled in: it works with no internet).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use utoipa::Modify;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Password, Scopes,
    SecurityScheme,
};
use utoipa_swagger_ui::Config;

pub const OPENAPI_PATH: &str = "/api/openapi.json";

#[derive(utoipa::OpenApi)]
#[openapi(
    modifiers(&SecuritySchemes),
    tags(
        (name = "health", description = "Probes for supervisors and load balancers"),
        (name = "auth", description = "Registering, signing in and out, refreshing tokens"),
        (name = "me", description = "The signed-in user's account, API keys and referral links"),
        (name = "users", description = "Accounts, for admins"),
        (name = "referrals", description = "Shareable referral links"),
        (name = "books", description = "Browsing, searching and curating books"),
        (name = "editions", description = "Print, ebook, audiobook and vinyl editions of books"),
        (name = "authors", description = "Writers, narrators, translators and performers"),
        (name = "categories", description = "Genres, in a tree"),
        (name = "webhooks", description = "Telling other systems what happened: signed, retried, in order"),
        (name = "comments", description = "Readers' comments and ratings"),
        (name = "reading", description = "Your place in your books, across formats, and your notes"),
        (name = "store", description = "Purchases, your library, and the payment webhook"),
    )
)]
pub struct ApiDoc;

/// Bearer access tokens, the OAuth2 password flow (the docs page's Authorize button), and
/// API keys in `X-Api-Key`.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT or API key")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "oauth2",
            SecurityScheme::OAuth2(OAuth2::new([Flow::Password(Password::new(
                "/api/v1/auth/login",
                Scopes::new(),
            ))])),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))),
        );
    }
}

/// Puts the configured title and description on the document.
pub fn describe(api: &mut OpenApi, title: &str, description: &str) {
    api.info.title = title.to_string();
    api.info.description = Some(description.to_string());
    api.info.version = env!("CARGO_PKG_VERSION").to_string();
    api.info.license = Some(utoipa::openapi::License::new(env!("CARGO_PKG_LICENSE")));
    api.info.contact = None;
}

#[derive(Clone)]
struct DocsState {
    config: Arc<Config<'static>>,
    title_tag: Arc<str>,
    document: Arc<str>,
}

/// `GET /api/openapi.json` and the docs page at `/docs`, titled `title`.
pub fn router<S: Clone + Send + Sync + 'static>(api: &OpenApi, title: &str) -> Router<S> {
    let state = DocsState {
        config: Arc::new(
            Config::from(OPENAPI_PATH)
                .validator_url("none")
                // Not kept in the browser's localStorage: a password and a refresh token
                // would sit there for any script of the origin to read, for ever.
                .persist_authorization(false)
                .display_request_duration(true)
                .try_it_out_enabled(true),
        ),
        title_tag: format!("<title>{}</title>", escape_html(title)).into(),
        document: api
            .to_pretty_json()
            .expect("the OpenAPI document serialises")
            .into(),
    };
    Router::new()
        .route(OPENAPI_PATH, get(document))
        .route("/docs", get(|| async { Redirect::permanent("/docs/") }))
        .route("/docs/", get(docs_file))
        .route("/docs/{*file}", get(docs_file))
        .with_state(state)
}

async fn document(State(state): State<DocsState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.document.to_string(),
    )
        .into_response()
}

async fn docs_file(State(state): State<DocsState>, file: Option<Path<String>>) -> Response {
    let file = file.map(|Path(f)| f).unwrap_or_default();
    match utoipa_swagger_ui::serve(&file, state.config.clone()) {
        Ok(Some(found)) => {
            let content_type = found.content_type.clone();
            if content_type.starts_with("text/html") {
                let page = String::from_utf8_lossy(&found.bytes).replacen(
                    "<title>Swagger UI</title>",
                    &state.title_tag,
                    1,
                );
                let headers = [
                    (header::CONTENT_TYPE, content_type.to_string()),
                    (header::CONTENT_SECURITY_POLICY, DOCS_POLICY.to_string()),
                    (header::X_FRAME_OPTIONS, "DENY".to_string()),
                ];
                (headers, page).into_response()
            } else {
                (
                    [(header::CONTENT_TYPE, content_type)],
                    found.bytes.into_owned(),
                )
                    .into_response()
            }
        }
        Ok(None) => {
            super::ApiError::NotFound("No such file of the docs page.".into()).into_response()
        }
        Err(e) => super::ApiError::internal(format!("docs page: {e}")).into_response(),
    }
}

/// The docs page runs only its own files (Swagger UI's bundle and its start-up script, no
/// inline script), talks only to folio, and is never framed (no clickjacking of "Authorize").
/// Swagger UI sets inline styles and draws icons from `data:` URLs.
const DOCS_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
