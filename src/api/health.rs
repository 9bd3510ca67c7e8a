//! Liveness and readiness probes for process supervisors and load balancers.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::{ApiError, AppState};

#[derive(Serialize)]
pub struct Health {
    status: &'static str,
}

/// 200 while the process runs; touches nothing else.
pub async fn live() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[derive(Serialize)]
pub struct Readiness {
    status: &'static str,
    database: &'static str,
}

/// 200 when the database answers, 503 when it does not. Each call asks afresh, so the
/// answer turns back to 200 by itself once the database returns.
pub async fn ready(State(state): State<AppState>) -> Result<Json<Readiness>, ApiError> {
    state.db.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        ApiError::Unavailable("The database is not answering.".into())
    })?;
    Ok(Json(Readiness {
        status: "ready",
        database: match state.db.backend() {
            sea_orm::DbBackend::Postgres => "postgres",
            _ => "sqlite",
        },
    }))
}
