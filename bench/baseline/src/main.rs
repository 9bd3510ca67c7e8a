//! folio-baseline: the "minimal hand-written axum handler set doing the same SQL" that folio's
//! benchmark measures folio against (DESIGN §6, bench/run).
//!
//! Five of folio's endpoints, on the same paths and with the same JSON, running the statements
//! folio runs, with none of folio's layers: no tracing, middleware, ORM, validation framework
//! or unit of work. Whatever folio is slower by is what its layers cost. Writes, and
//! everything on PostgreSQL, go through sqlx on pools shaped as folio's; SQLite reads go
//! through rusqlite, the best hand-written way to serve them (db.rs says why).
//!
//! Configuration: `DATABASE_URL` (a database made by `folio db init`), `BASELINE_BIND`
//! (default 127.0.0.1:8100), `BASELINE_POOL_SIZE` (default 8: folio's pool size).
//!
//! bench/run builds it into folio's target directory, so the two share compiled dependencies:
//! `CARGO_TARGET_DIR=target cargo build --release --manifest-path bench/baseline/Cargo.toml`.

mod books;
mod db;
mod writes;

use std::error::Error;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::db::Db;

/// folio's allocator: neither side gets an optimisation the other lacks.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let url = std::env::var("DATABASE_URL")
        .map_err(|_| "set DATABASE_URL to a folio database (sqlite://… or postgres://…)")?;
    let bind = std::env::var("BASELINE_BIND").unwrap_or_else(|_| "127.0.0.1:8100".into());
    let pool_size: u32 = match std::env::var("BASELINE_POOL_SIZE") {
        Ok(size) => size
            .parse()
            .map_err(|_| "BASELINE_POOL_SIZE must be a number")?,
        Err(_) => 8,
    };

    let db = Db::connect(&url, pool_size).await?;
    let app = Router::new()
        .route("/api/v1/books", get(books::list_books))
        .route("/api/v1/books/{id}", get(books::get_book))
        .route("/api/v1/books/{id}/comments", post(writes::create_comment))
        .route("/api/v1/purchases", post(writes::create_purchase))
        .with_state(Arc::new(db));
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    println!("folio-baseline serving on {bind}");
    axum::serve(listener, app).await?;
    Ok(())
}

/// Every error answer: a status and `{"error": "…"}`.
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.message });
        (self.status, Json(body)).into_response()
    }
}

/// A database error is a 500 (a 503 when no connection came in time), told on stderr only.
impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        eprintln!("database error: {err}");
        let status = match err {
            sqlx::Error::PoolTimedOut => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self::new(status, "database error")
    }
}

/// The same for the rusqlite readers.
impl From<rusqlite::Error> for ApiError {
    fn from(err: rusqlite::Error) -> Self {
        eprintln!("database error: {err}");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "database error")
    }
}

/// Malformed JSON is a 400, JSON of the wrong shape a 422, another content type a 415: axum's
/// statuses, which are folio's.
impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        Self::new(rejection.status(), rejection.body_text())
    }
}

/// folio answers a path or query parameter of the wrong type with 422 (axum would say 400).
impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, rejection.body_text())
    }
}
