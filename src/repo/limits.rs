//! Counters kept in the database because more than one process counts: the sign-in limits
//! and the scheduled jobs' turns (migration 0013; the limits on PostgreSQL only, where several
//! instances serve one database), and the catalog imports' rows (0014: `folio import` is a
//! process of its own, and `serve` reports them).

use sea_orm::sea_query::Value;

use super::rows;
use crate::db::{DbError, Read};

/// Counts an event for `key` unless `limit` events are in the window (after `since`): the
/// event's id, or the time of the oldest event in the window. Serialised per key by an
/// advisory lock held to the end of the unit of work, so instances racing on one key cannot
/// all pass the limit.
pub async fn hit(
    read: impl Into<Read<'_>>,
    key: &str,
    now: i64,
    since: i64,
    limit: i64,
) -> Result<Result<i64, i64>, DbError> {
    let read = read.into();
    let key_value = || -> Value { key.into() };
    rows(
        read,
        "SELECT 1::bigint FROM pg_advisory_xact_lock(hashtextextended(?, 0))",
        vec![key_value()],
        |r| r.get::<i64>(0),
    )
    .await?;
    rows(
        read,
        "DELETE FROM rate_limit_event WHERE key = ? AND at <= ? RETURNING id",
        vec![key_value(), since.into()],
        |r| r.get::<i64>(0),
    )
    .await?;
    let (count, oldest) = rows(
        read,
        "SELECT count(*), min(at) FROM rate_limit_event WHERE key = ?",
        vec![key_value()],
        |r| Ok((r.get::<i64>(0)?, r.get::<Option<i64>>(1)?)),
    )
    .await?
    .pop()
    .unwrap_or((0, None));
    if count >= limit {
        return Ok(Err(oldest.unwrap_or(now)));
    }
    let id = rows(
        read,
        "INSERT INTO rate_limit_event (key, at) VALUES (?, ?) RETURNING id",
        vec![key_value(), now.into()],
        |r| r.get::<i64>(0),
    )
    .await?
    .pop()
    .ok_or_else(|| DbError::NotFound("rate limit event".into()))?;
    Ok(Ok(id))
}

/// Takes one event back.
pub async fn release(read: impl Into<Read<'_>>, id: i64) -> Result<(), DbError> {
    let sql = "DELETE FROM rate_limit_event WHERE id = ? RETURNING id";
    rows(read.into(), sql, vec![id.into()], |r| r.get::<i64>(0)).await?;
    Ok(())
}

/// Forgets every event of `key`.
pub async fn clear(read: impl Into<Read<'_>>, key: &str) -> Result<(), DbError> {
    let sql = "DELETE FROM rate_limit_event WHERE key = ? RETURNING id";
    rows(read.into(), sql, vec![key.into()], |r| r.get::<i64>(0)).await?;
    Ok(())
}

/// Removes events older than `before` of every key (keys nobody uses any more).
pub async fn sweep(read: impl Into<Read<'_>>, before: i64) -> Result<(), DbError> {
    let sql = "DELETE FROM rate_limit_event WHERE at < ? RETURNING id";
    rows(read.into(), sql, vec![before.into()], |r| r.get::<i64>(0)).await?;
    Ok(())
}

/// Claims the job `name`'s turn: true when its last run began at or before `due_before` (or
/// it never ran), and it is now marked begun at `now`. Of several instances asking at once,
/// one gets true.
pub async fn claim_turn(
    read: impl Into<Read<'_>>,
    name: &str,
    now: i64,
    due_before: i64,
) -> Result<bool, DbError> {
    let read = read.into();
    let sql = "INSERT INTO job_run (name, started_at) VALUES (?, ?) \
               ON CONFLICT (name) DO UPDATE SET started_at = excluded.started_at \
               WHERE job_run.started_at <= ? RETURNING name";
    let won = rows(
        read,
        sql,
        vec![name.into(), now.into(), due_before.into()],
        |r| r.get::<String>(0),
    )
    .await?;
    Ok(!won.is_empty())
}

/// When the job `name`'s last turn began (Unix milliseconds), if it ever ran.
pub async fn last_turn(read: impl Into<Read<'_>>, name: &str) -> Result<Option<i64>, DbError> {
    let sql = "SELECT started_at FROM job_run WHERE name = ?";
    let found = rows(read.into(), sql, vec![name.into()], |r| r.get::<i64>(0)).await?;
    Ok(found.into_iter().next())
}

/// Adds an import's rows to the totals, in the unit of work that wrote them.
pub async fn count_import_rows(
    read: impl Into<Read<'_>>,
    created: u64,
    matched: u64,
    rejected: u64,
) -> Result<(), DbError> {
    let sql = "UPDATE import_rows SET rows = rows + CASE outcome WHEN 'created' THEN ? \
               WHEN 'matched' THEN ? ELSE ? END RETURNING outcome";
    let values = vec![
        (created as i64).into(),
        (matched as i64).into(),
        (rejected as i64).into(),
    ];
    rows(read.into(), sql, values, |r| r.get::<String>(0)).await?;
    Ok(())
}

/// The imports' rows by outcome, since the database was made.
pub async fn import_rows(read: impl Into<Read<'_>>) -> Result<Vec<(String, i64)>, DbError> {
    let sql = "SELECT outcome, rows FROM import_rows ORDER BY outcome";
    rows(read.into(), sql, vec![], |r| Ok((r.get(0)?, r.get(1)?))).await
}
