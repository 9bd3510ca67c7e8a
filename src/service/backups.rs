//! Backups of the database with the list of the file storage's objects: made on demand
//! (`folio db backup`) and on a schedule inside `serve` (`FOLIO_BACKUP_DIR`), where each new
//! backup is checked whole before the oldest is removed.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use futures_util::TryStreamExt;

use crate::config::{BackupSchedule as Schedule, DatabaseUrl};
use crate::db::Database;
use crate::db::backup::{self, BackupError, BackupInfo, Manifest};
use crate::storage::Storage;

/// Backs the database up to `target`: on SQLite with the storage's objects listed in the
/// backup's manifest, on PostgreSQL with `pg_dump`.
#[tracing::instrument(level = "info", name = "service.backups.make", skip_all, fields(target = %target.display()))]
pub async fn make(
    url: &DatabaseUrl,
    storage: &Storage,
    target: PathBuf,
) -> Result<BackupInfo, BackupError> {
    let made = match url {
        DatabaseUrl::Sqlite { path } => {
            let objects: Vec<(String, u64)> = storage
                .list()
                .map_ok(|object| (object.hash.to_string(), object.size))
                .try_collect()
                .await
                .map_err(|e| BackupError::Unsupported(format!("listing the file storage: {e}")))?;
            let manifest = Manifest {
                storage: storage.describe().to_string(),
                objects,
            };
            let database = path.clone();
            blocking(move || backup::backup_sqlite(&database, &target, &manifest)).await
        }
        DatabaseUrl::Postgres { url } => {
            let url = url.clone();
            blocking(move || backup::backup_postgres(&url, &target)).await
        }
    };
    crate::telemetry::metrics::backup(&made);
    made
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, BackupError> + Send + 'static,
) -> Result<T, BackupError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(done) => done,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(BackupError::Unsupported("folio is shutting down".into())),
    }
}

/// The name a scheduled backup takes: its time first, so names sort as times do.
fn scheduled_name(url: &DatabaseUrl) -> String {
    let extension = if url.is_sqlite() { "db" } else { "dump" };
    format!(
        "folio-{}.{extension}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
    )
}

/// The scheduled backups in `dir`, oldest first (by name, which is by time).
fn scheduled(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with("folio-") && (n.ends_with(".db") || n.ends_with(".dump"))
            })
        })
        .collect();
    found.sort();
    found
}

/// Runs the schedule until the process ends: the first backup when the newest one in `dir` is
/// `every` old (at once when there is none), then every `every`, by one instance a turn
/// ([`super::jobs`]). A backup that fails is logged and removes nothing; the next one is tried
/// at the next turn.
pub async fn run_schedule(db: Database, url: DatabaseUrl, storage: Storage, schedule: Schedule) {
    if let Err(e) = std::fs::create_dir_all(&schedule.dir) {
        tracing::error!(dir = %schedule.dir.display(), error = %e, "cannot make the backup folder; no scheduled backups");
        return;
    }
    let newest_age = scheduled(&schedule.dir)
        .last()
        .and_then(|p| p.metadata().ok()?.modified().ok())
        .and_then(|t| SystemTime::now().duration_since(t).ok());
    let first = newest_age.map_or(Duration::ZERO, |age| schedule.every.saturating_sub(age));
    let every = schedule.every;
    super::jobs::run_every(db, "backup", every, first, || async {
        let target = schedule.dir.join(scheduled_name(&url));
        match make(&url, &storage, target).await {
            Ok(made) => {
                tracing::info!(
                    backup = %made.path.display(),
                    bytes = made.bytes,
                    objects = made.objects,
                    "scheduled backup made and checked"
                );
                prune(&schedule);
            }
            Err(e) => tracing::error!(error = %e, "scheduled backup failed; older backups kept"),
        }
    })
    .await
}

/// Removes the oldest scheduled backups past `keep`; called only after a new one was checked.
fn prune(schedule: &Schedule) {
    let all = scheduled(&schedule.dir);
    let extra = all.len().saturating_sub(schedule.keep.max(1));
    for old in &all[..extra] {
        match std::fs::remove_file(old) {
            Ok(()) => tracing::info!(backup = %old.display(), "removed an old backup"),
            Err(e) => {
                tracing::warn!(backup = %old.display(), error = %e, "cannot remove an old backup")
            }
        }
    }
}
