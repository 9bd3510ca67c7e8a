//! The HTTP API: routers per resource, the shared state, and the middleware every request
//! passes through (request id, logging, timeout, panic capture).

mod error;
mod health;
mod middleware;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use crate::config::Settings;
use crate::db::Database;
pub use error::{ApiError, FieldError, PROBLEM_JSON, Problem};

/// What every handler can reach: settings and the database. Cloned per request (cheap).
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Database,
}

impl AppState {
    pub fn new(settings: Settings, db: Database) -> Self {
        Self {
            settings: Arc::new(settings),
            db,
        }
    }
}

/// The whole application as a router, apart from serving it, so tests can drive it.
pub fn app(state: AppState) -> Router {
    let api_v1 = Router::new();
    let router = Router::new()
        .route("/health", get(health::live))
        .route("/ready", get(health::ready))
        .nest("/api/v1", api_v1)
        .fallback(middleware::not_found)
        .method_not_allowed_fallback(middleware::method_not_allowed)
        .with_state(state);
    middleware::wrap(router)
}
