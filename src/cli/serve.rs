//! `folio serve`: migrate, bind, serve until a shutdown signal.

use clap::Args;
use tokio::net::TcpListener;

use super::{CommandError, connect};
use crate::api::AppState;
use crate::config::Settings;
use std::net::SocketAddr;

use tokio::task::JoinHandle;

use crate::config::DatabaseUrl;
use crate::db::instance::{LockError, PostgresServing, SqliteLock};
use crate::db::{Database, schema};
use crate::server;
use crate::telemetry::metrics;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Do not apply pending migrations at start-up
    #[arg(long)]
    no_migrate: bool,
}

pub async fn run(args: ServeArgs, settings: Settings) -> Result<(), CommandError> {
    let shutdown = server::shutdown_signal();
    // Before the database connects: its pools take their metrics' handles as they open.
    let exporter = match settings.metrics_bind {
        Some(_) => {
            let backend = if settings.database_url.is_sqlite() {
                "sqlite"
            } else {
                "postgres"
            };
            Some(metrics::install(backend).map_err(|e| CommandError::failed(e.to_string()))?)
        }
        None => None,
    };
    // One server per SQLite file, held until the process ends (`db::instance`).
    let _one_server = match &settings.database_url {
        DatabaseUrl::Sqlite { path } => Some(SqliteLock::try_hold(path).map_err(|e| match e {
            LockError::Held { .. } => CommandError::usage(format!(
                "{e}: on SQLite one server serves a database; stop the other, or run several \
                 on PostgreSQL (docs/DEPLOYMENT.md, \"Growing past one machine\")"
            )),
            LockError::Io { .. } => CommandError::failed(e.to_string()),
        })?),
        DatabaseUrl::Postgres { .. } => None,
    };
    // On PostgreSQL, many servers; none while a restore runs (`db::instance`).
    let _serving = match &settings.database_url {
        DatabaseUrl::Postgres { url } => Some(PostgresServing::hold(url).await.map_err(|e| {
            CommandError::failed(format!(
                "cannot open the database {}: {e}",
                settings.database_url
            ))
        })?),
        DatabaseUrl::Sqlite { .. } => None,
    };
    let db = connect(&settings).await?;
    if args.no_migrate {
        tracing::info!("skipping migrations (--no-migrate)");
    } else {
        let applied = schema::init(&db).await?;
        tracing::info!(count = applied.len(), "applied pending migrations");
    }
    let storage = super::open_storage(&settings)?;
    // An S3 bucket that cannot be reached is said at start, not at the first upload; folio
    // still serves (the catalog needs no files, and S3 may be back in a minute), and does not
    // wait for the answer, which retries may take seconds to give.
    let probe = storage.clone();
    tokio::spawn(async move {
        if let Err(e) = probe.check_reachable().await {
            tracing::error!(
                storage = %probe.describe(),
                error = %super::chain(&e),
                "the file storage does not answer: uploads and downloads fail until it does"
            );
        }
    });
    let listener = TcpListener::bind(settings.bind).await.map_err(|e| {
        CommandError::failed(format!(
            "cannot listen on {} (FOLIO_BIND): {e}",
            settings.bind
        ))
    })?;
    let address = listener
        .local_addr()
        .map_err(|e| CommandError::failed(e.to_string()))?;
    tracing::info!(
        %address,
        database = %settings.database_url,
        storage = %storage.describe(),
        "folio {} serving",
        env!("CARGO_PKG_VERSION")
    );
    if settings.payment_test_mode {
        tracing::warn!(
            "FOLIO_PAYMENT_TEST_MODE is on: the web app's test checkout marks any purchase \
             paid without money moving. Never run a real shop like this."
        );
    }
    // KOReader's ids of ebook files stored before they were kept (issue 17): filled beside
    // serving, a dozen 1 KiB reads a file.
    let (ids_db, ids_storage) = (db.clone(), storage.clone());
    tokio::spawn(async move {
        match crate::service::kosync::identify_missing(&ids_db, &ids_storage).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "computed KOReader's ids of stored ebook files"),
            Err(e) => {
                tracing::warn!(error = %e, "could not compute KOReader's ids of stored files")
            }
        }
    });
    let scraped = match (exporter, settings.metrics_bind) {
        (Some(exporter), Some(bind)) => Some(serve_metrics(exporter, bind, &settings, &db).await?),
        _ => None,
    };
    if let Some(schedule) = settings.backups.clone() {
        tracing::info!(
            dir = %schedule.dir.display(),
            every_secs = schedule.every.as_secs(),
            keep = schedule.keep,
            "scheduled backups on"
        );
        let (url, storage) = (settings.database_url.clone(), storage.clone());
        tokio::spawn(crate::service::backups::run_schedule(
            db.clone(),
            url,
            storage,
            schedule,
        ));
    }
    if let Some(schedule) = settings.storage_gc.clone() {
        tracing::info!(
            every_secs = schedule.every.as_secs(),
            min_age_secs = schedule.min_age.as_secs(),
            "scheduled storage gc on"
        );
        tokio::spawn(crate::service::jobs::run_storage_gc(
            db.clone(),
            storage.clone(),
            schedule,
        ));
    }
    tokio::spawn(crate::service::webhooks::run_worker(
        db.clone(),
        settings.webhooks.clone(),
    ));
    let state = AppState::new(settings, db.clone(), storage).await?;
    db.trim_when_idle();
    let result = server::serve(listener, state, shutdown).await;
    if let Some(scraped) = scraped {
        scraped.abort();
    }
    db.close().await;
    tracing::info!("stopped");
    result.map_err(|e| CommandError::failed(format!("server error: {e}")))
}

/// Answers Prometheus on `bind` until the server stops (the task is aborted then: a scrape
/// has nothing to finish).
async fn serve_metrics(
    exporter: metrics::Exporter,
    bind: SocketAddr,
    settings: &Settings,
    db: &Database,
) -> Result<JoinHandle<std::io::Result<()>>, CommandError> {
    let listener = TcpListener::bind(bind).await.map_err(|e| {
        CommandError::failed(format!("cannot listen on {bind} (FOLIO_METRICS_BIND): {e}"))
    })?;
    let metrics_address = listener
        .local_addr()
        .map_err(|e| CommandError::failed(e.to_string()))?;
    tracing::info!(%metrics_address, "metrics at http://{metrics_address}/metrics");
    let router = crate::api::metrics::router(exporter, db.clone());
    let limits = settings.connections.clone();
    Ok(tokio::spawn(async move {
        server::serve_router(listener, router, &limits, std::future::pending()).await
    }))
}
