//! Work `serve` does on a schedule (backups, storage gc): once a turn, however many instances
//! share the database. Each turn is claimed in the `job_run` table; of several instances
//! whose timers fire, the first claims it and the others skip it.

use std::future::Future;
use std::time::Duration;

use crate::config::GcSchedule;
use crate::db::{Database, DbError};
use crate::repo::limits;
use crate::storage::Storage;

/// Runs `job` every `every`, the first time after `first_wait`, until the process ends; a turn
/// another instance claimed is skipped.
pub async fn run_every<F, Fut>(
    db: Database,
    name: &'static str,
    every: Duration,
    first_wait: Duration,
    mut job: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut wait = first_wait;
    loop {
        tokio::time::sleep(wait).await;
        wait = every;
        match claim(&db, name, every).await {
            Ok(true) => {
                tracing::info!(job = name, "took this turn of a scheduled job");
                job().await
            }
            Ok(false) => tracing::info!(job = name, "another instance took this turn"),
            Err(e) => {
                tracing::error!(job = name, error = %e, "cannot claim the turn; trying next turn")
            }
        }
    }
}

/// Claims `name`'s turn when its last one began at least nine tenths of `every` ago: the
/// slack lets an instance whose timer fires a little early still take its turn, while two
/// instances a few milliseconds apart cannot both take one.
async fn claim(db: &Database, name: &'static str, every: Duration) -> Result<bool, DbError> {
    let now = crate::db::now().timestamp_millis();
    let due_before = now - (every.as_millis() as i64) * 9 / 10;
    db.write(|tx| Box::pin(async move { limits::claim_turn(&**tx, name, now, due_before).await }))
        .await
}

/// How long until `name` is due by its last turn in the database: zero when it never ran or
/// its turn has passed.
pub async fn due_in(db: &Database, name: &str, every: Duration) -> Duration {
    let last = match limits::last_turn(db.reader(), name).await {
        Ok(last) => last,
        Err(e) => {
            tracing::warn!(job = name, error = %e, "cannot read the job's last turn; running it now");
            None
        }
    };
    let Some(last) = last else {
        return Duration::ZERO;
    };
    let since = crate::db::now().timestamp_millis().saturating_sub(last);
    every.saturating_sub(Duration::from_millis(since.max(0) as u64))
}

/// `folio storage gc` on a schedule: objects no row names, older than `schedule.min_age`, and
/// upload files a crash left, removed once a turn. Objects are content-addressed and shared,
/// so one instance's turn cleans the storage for all.
pub async fn run_storage_gc(db: Database, storage: Storage, schedule: GcSchedule) {
    let first = due_in(&db, STORAGE_GC, schedule.every).await;
    run_every(db.clone(), STORAGE_GC, schedule.every, first, || {
        storage_gc_turn(&db, &storage, schedule.min_age)
    })
    .await
}

const STORAGE_GC: &str = "storage_gc";

async fn storage_gc_turn(db: &Database, storage: &Storage, min_age: Duration) {
    let done = super::files::gc(db, storage, min_age, false).await;
    crate::telemetry::metrics::storage_gc(&done);
    match done {
        Ok(report) => tracing::info!(
            removed = report.removed.len(),
            removed_bytes = report.removed.iter().map(|(_, size)| size).sum::<u64>(),
            stale_uploads = report.stale_uploads.len(),
            kept = report.kept,
            too_recent = report.young,
            "scheduled storage gc done"
        ),
        Err(e) => tracing::error!(error = %e, "scheduled storage gc failed; trying next turn"),
    }
}
