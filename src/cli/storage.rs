//! `folio storage gc | check`: keeping the file storage and the rows that name its objects in
//! step.

use std::time::Duration;

use clap::{Args, Subcommand};

use super::{CommandError, connect, open_storage};
use crate::config::Settings;
use crate::service::files;

#[derive(Debug, Subcommand)]
pub enum StorageCommand {
    /// Remove objects no file or cover names (left by deletions, failed uploads or a crash)
    Gc(GcArgs),
    /// Verify that every file's object exists with its size and SHA-256; list orphans
    Check,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// List what would be removed, remove nothing
    #[arg(long)]
    dry_run: bool,
    /// Leave objects written less than this many seconds ago: an upload may be about to name
    /// them
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    min_age: u64,
}

pub async fn run(command: StorageCommand, settings: &Settings) -> Result<(), CommandError> {
    let storage = open_storage(settings)?;
    let db = connect(settings).await?;
    let outcome = match command {
        StorageCommand::Gc(args) => gc(&db, &storage, args).await,
        StorageCommand::Check => check(&db, &storage).await,
    };
    db.close().await;
    outcome
}

async fn gc(
    db: &crate::db::Database,
    storage: &crate::storage::Storage,
    args: GcArgs,
) -> Result<(), CommandError> {
    let report = files::gc(db, storage, Duration::from_secs(args.min_age), args.dry_run)
        .await
        .map_err(|e| CommandError::failed(format!("storage gc failed: {}", super::chain(&e))))?;
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    for (hash, size) in &report.removed {
        println!("{verb} object {hash} ({size} bytes)");
    }
    for path in &report.stale_uploads {
        println!("{verb} upload left by a crash: {}", path.display());
    }
    let bytes: u64 = report.removed.iter().map(|(_, size)| size).sum();
    println!(
        "{} {}: {} objects ({bytes} bytes) and {} stale uploads; kept {} in use and {} too \
         recent to judge (--min-age {}).",
        storage.describe(),
        verb,
        report.removed.len(),
        report.stale_uploads.len(),
        report.kept,
        report.young,
        args.min_age,
    );
    Ok(())
}

async fn check(
    db: &crate::db::Database,
    storage: &crate::storage::Storage,
) -> Result<(), CommandError> {
    let report = files::check(db, storage)
        .await
        .map_err(|e| CommandError::failed(format!("storage check failed: {}", super::chain(&e))))?;
    for (id, problem) in &report.broken {
        println!("file {id}: {problem}");
    }
    for hash in &report.orphans {
        println!("orphan object {hash} (no row names it; `folio storage gc` removes it)");
    }
    println!(
        "{}: checked {} files, {} broken, {} orphan objects.",
        storage.describe(),
        report.checked,
        report.broken.len(),
        report.orphans.len()
    );
    if report.broken.is_empty() {
        Ok(())
    } else {
        Err(CommandError::failed(format!(
            "{} files are missing or damaged in storage",
            report.broken.len()
        )))
    }
}
