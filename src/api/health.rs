//! Liveness and readiness probes for process supervisors and load balancers.

use super::json::JsonResponse;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, AppState, Problem};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(live))
        .routes(routes!(ready))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    status: &'static str,
}

/// Liveness: 200 while the process runs
#[utoipa::path(
    get, path = "/health", tag = "health",
    responses((status = 200, description = "The process is running", body = Health)),
    security(())
)]
async fn live() -> JsonResponse<Health> {
    JsonResponse(Health { status: "ok" })
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    #[schema(example = "ready")]
    status: &'static str,
    /// `sqlite` or `postgres`.
    database: &'static str,
}

/// Readiness: 200 when the database answers, 503 when it does not
///
/// Each call asks afresh, so the answer turns back to 200 by itself once the database returns.
#[utoipa::path(
    get, path = "/ready", tag = "health",
    responses(
        (status = 200, description = "Ready to serve", body = Readiness),
        (status = 503, description = "The database is not answering", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
async fn ready(State(state): State<AppState>) -> Result<JsonResponse<Readiness>, ApiError> {
    state.db.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        ApiError::Unavailable("The database is not answering.".into())
    })?;
    Ok(JsonResponse(Readiness {
        status: "ready",
        database: match state.db.backend() {
            sea_orm::DbBackend::Postgres => "postgres",
            _ => "sqlite",
        },
    }))
}
