//! The metrics listener's one route: `GET /metrics`, Prometheus' text format. It is served on
//! `FOLIO_METRICS_BIND`, a listener of its own, so the figures never go out with the public
//! API by accident; anything else there is 404.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::db::Database;
use crate::telemetry::metrics::Exporter;

#[derive(Clone)]
struct Scrape {
    exporter: Arc<Exporter>,
    db: Database,
}

pub fn router(exporter: Exporter, db: Database) -> Router {
    let scrape = Scrape {
        exporter: Arc::new(exporter),
        db,
    };
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(scrape)
}

async fn metrics(State(scrape): State<Scrape>) -> impl IntoResponse {
    // A database that does not answer leaves the imports' figures as they were last read.
    let imports = crate::repo::limits::import_rows(scrape.db.reader())
        .await
        .unwrap_or_default();
    let text = scrape.exporter.render(&scrape.db.pool_stats(), &imports);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}
