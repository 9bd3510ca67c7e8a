//! `folio serve`: migrate, bind, serve until a shutdown signal.

use clap::Args;
use tokio::net::TcpListener;

use super::{CommandError, connect};
use crate::api::AppState;
use crate::config::Settings;
use crate::db::schema;
use crate::server;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Do not apply pending migrations at start-up
    #[arg(long)]
    no_migrate: bool,
}

pub async fn run(args: ServeArgs, settings: Settings) -> Result<(), CommandError> {
    let db = connect(&settings).await?;
    if args.no_migrate {
        tracing::info!("skipping migrations (--no-migrate)");
    } else {
        let applied = schema::init(&db).await?;
        tracing::info!(count = applied.len(), "applied pending migrations");
    }
    let storage = super::open_storage(&settings)?;
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
    let state = AppState::new(settings, db.clone(), storage).await?;
    db.trim_when_idle();
    let result = server::serve(listener, state, server::shutdown_signal()).await;
    db.close().await;
    tracing::info!("stopped");
    result.map_err(|e| CommandError::failed(format!("server error: {e}")))
}
