//! The HTTP API: routers per resource, the shared state, the OpenAPI document and docs page,
//! and the middleware every request passes through (request id, logging, limits).

mod auth;
mod authors;
mod books;
mod categories;
mod comments;
mod covers;
pub mod docs;
mod editions;
mod error;
pub mod extract;
mod files;
mod health;
mod json;
mod kosync;
mod linger;
mod me;
pub mod metrics;
mod middleware;
mod opds;
pub mod pagination;
mod patch;
mod reading;
mod referrals;
mod store;
mod users;
mod webhooks;

use std::sync::Arc;

use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::config::Settings;
use crate::db::{Database, DbError};
use crate::service::auth::AuthService;
use crate::service::referrals::ClickLimits;
use crate::storage::Storage;
pub use error::{ApiError, DatabaseUnavailable, FieldError, PROBLEM_JSON, Problem};
pub use files::{AUDIOBOOK_MANIFEST, deliver, manifest, receive};

/// What every handler can reach: settings, the database, the file storage, sign-in. Cloned
/// per request and per extractor, so it is one shared allocation: a clone is one atomic
/// increment, not one per pool and service inside.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// The contents of [`AppState`].
pub struct Shared {
    pub settings: Arc<Settings>,
    pub db: Database,
    pub storage: Storage,
    pub auth: Arc<AuthService>,
    pub referral_clicks: Arc<ClickLimits>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// Builds the state; loads (or on a first start, creates) the token signing key.
    pub async fn new(settings: Settings, db: Database, storage: Storage) -> Result<Self, DbError> {
        let auth =
            AuthService::new(db.clone(), settings.secret_key.as_ref(), &settings.auth).await?;
        Ok(Self(Arc::new(Shared {
            settings: Arc::new(settings),
            db,
            storage,
            auth: Arc::new(auth),
            referral_clicks: Arc::default(),
        })))
    }
}

/// The API's routes with their OpenAPI description, titled from the settings.
pub fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let v1 = OpenApiRouter::new()
        .merge(auth::router())
        .merge(me::router())
        .merge(users::router())
        .merge(authors::router())
        .merge(categories::router())
        .merge(webhooks::router())
        .merge(books::router())
        .merge(editions::router())
        .merge(files::router())
        .merge(covers::router())
        .merge(comments::router())
        .merge(reading::router())
        .merge(store::router());
    OpenApiRouter::with_openapi(docs::ApiDoc::openapi())
        .merge(health::router())
        .merge(referrals::router())
        .nest("/api/v1", v1)
        .split_for_parts()
}

/// The OpenAPI document as served, for tools and the snapshot test.
pub fn openapi(settings: &Settings) -> utoipa::openapi::OpenApi {
    let (_, mut api) = routes();
    docs::describe(&mut api, &settings.app_title, &settings.app_description);
    api
}

/// The whole application as a router, apart from serving it, so tests can drive it.
pub fn app(state: AppState) -> Router {
    let (router, mut api) = routes();
    docs::describe(
        &mut api,
        &state.settings.app_title,
        &state.settings.app_description,
    );
    let limits = state.settings.limits.clone();
    let router = router
        .merge(opds::router())
        .merge(kosync::router())
        .merge(crate::web::router())
        .layer(axum::middleware::from_fn_with_state(
            state.db.clone(),
            middleware::while_database_down,
        ))
        .merge(docs::router(&api, &state.settings.app_title))
        .fallback(middleware::not_found)
        .method_not_allowed_fallback(middleware::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::web::layer,
        ))
        .with_state(state);
    middleware::wrap(router, &limits)
}
