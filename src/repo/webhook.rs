//! Outbound webhooks: endpoints, the outbox's events, their deliveries and each attempt
//! (migration 0012). Times are Unix milliseconds.

use sea_orm::DbBackend;

use super::rows;
use crate::db::{DbError, Read, Row};

/// A delivery's state.
pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";

#[derive(Clone, Debug)]
pub struct Endpoint {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    pub active: bool,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<i64>,
    pub failing_since: Option<i64>,
    pub disabled_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const ENDPOINT_COLUMNS: &str = "id, url, events, active, secret, previous_secret, \
     previous_secret_until, failing_since, disabled_reason, created_at, updated_at";

fn endpoint(row: &Row<'_>) -> Result<Endpoint, DbError> {
    let events: String = row.get(2)?;
    Ok(Endpoint {
        id: row.get(0)?,
        url: row.get(1)?,
        events: events.split_whitespace().map(str::to_string).collect(),
        active: row.get(3)?,
        secret: row.get(4)?,
        previous_secret: row.get(5)?,
        previous_secret_until: row.get(6)?,
        failing_since: row.get(7)?,
        disabled_reason: row.get(8)?,
        created_at: row.get(9)?,
        updated_at: row.get(10)?,
    })
}

pub async fn insert_endpoint(
    read: impl Into<Read<'_>>,
    url: &str,
    events: &[String],
    secret: &str,
    now: i64,
) -> Result<Endpoint, DbError> {
    let sql = format!(
        "INSERT INTO webhook_endpoint (url, events, active, secret, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?) RETURNING {ENDPOINT_COLUMNS}"
    );
    let values = vec![
        url.into(),
        events.join(" ").into(),
        true.into(),
        secret.into(),
        now.into(),
        now.into(),
    ];
    let mut rows = rows(read.into(), &sql, values, endpoint).await?;
    rows.pop()
        .ok_or_else(|| DbError::NotFound("webhook endpoint".into()))
}

pub async fn endpoints(read: impl Into<Read<'_>>) -> Result<Vec<Endpoint>, DbError> {
    let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoint ORDER BY id");
    rows(read.into(), &sql, vec![], endpoint).await
}

pub async fn find_endpoint(
    read: impl Into<Read<'_>>,
    id: i64,
) -> Result<Option<Endpoint>, DbError> {
    let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoint WHERE id = ?");
    Ok(rows(read.into(), &sql, vec![id.into()], endpoint)
        .await?
        .pop())
}

/// What an admin may change of an endpoint; `None` keeps the value.
#[derive(Default)]
pub struct EndpointChanges {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub active: Option<bool>,
}

/// Applies `changes`. Turning an endpoint on again forgets why it was disabled and since when
/// it failed, so it gets a fresh start.
pub async fn update_endpoint(
    read: impl Into<Read<'_>>,
    id: i64,
    changes: EndpointChanges,
    now: i64,
) -> Result<Option<Endpoint>, DbError> {
    let reenabled = changes.active == Some(true);
    let sql = format!(
        "UPDATE webhook_endpoint SET url = COALESCE(?, url), events = COALESCE(?, events), \
         active = COALESCE(?, active), \
         failing_since = CASE WHEN ? THEN NULL ELSE failing_since END, \
         disabled_reason = CASE WHEN ? THEN NULL ELSE disabled_reason END, \
         updated_at = ? WHERE id = ? RETURNING {ENDPOINT_COLUMNS}"
    );
    let values = vec![
        changes.url.into(),
        changes.events.map(|e| e.join(" ")).into(),
        changes.active.into(),
        reenabled.into(),
        reenabled.into(),
        now.into(),
        id.into(),
    ];
    Ok(rows(read.into(), &sql, values, endpoint).await?.pop())
}

/// A new secret; the old one is still signed with until `previous_until`.
pub async fn rotate_secret(
    read: impl Into<Read<'_>>,
    id: i64,
    secret: &str,
    previous_until: i64,
    now: i64,
) -> Result<Option<Endpoint>, DbError> {
    let sql = format!(
        "UPDATE webhook_endpoint SET previous_secret = secret, previous_secret_until = ?, \
         secret = ?, updated_at = ? WHERE id = ? RETURNING {ENDPOINT_COLUMNS}"
    );
    let values = vec![previous_until.into(), secret.into(), now.into(), id.into()];
    Ok(rows(read.into(), &sql, values, endpoint).await?.pop())
}

/// Removes an endpoint with its deliveries and their attempts; whether there was one.
pub async fn delete_endpoint(read: impl Into<Read<'_>>, id: i64) -> Result<bool, DbError> {
    let sql = "DELETE FROM webhook_endpoint WHERE id = ? RETURNING id";
    let gone = rows(read.into(), sql, vec![id.into()], |r| r.get::<i64>(0)).await?;
    Ok(!gone.is_empty())
}

/// The active endpoints and the event types each wants.
pub async fn subscribers(read: impl Into<Read<'_>>) -> Result<Vec<(i64, String)>, DbError> {
    let sql = "SELECT id, events FROM webhook_endpoint WHERE active ORDER BY id";
    rows(read.into(), sql, vec![], |r| Ok((r.get(0)?, r.get(1)?))).await
}

/// Writes an event and one pending delivery of it per endpoint, due at once.
pub async fn enqueue(
    read: impl Into<Read<'_>>,
    message_id: &str,
    kind: &str,
    payload: &str,
    endpoints: &[i64],
    now: i64,
) -> Result<i64, DbError> {
    let read = read.into();
    let sql = "INSERT INTO webhook_event (message_id, type, payload, created_at) \
               VALUES (?, ?, ?, ?) RETURNING id";
    let values = vec![message_id.into(), kind.into(), payload.into(), now.into()];
    let event = rows(read, sql, values, |r| r.get::<i64>(0))
        .await?
        .pop()
        .ok_or_else(|| DbError::NotFound("webhook event".into()))?;
    let tuples = vec!["(?, ?, 'pending', 0, ?, ?)"; endpoints.len()].join(", ");
    let sql = format!(
        "INSERT INTO webhook_delivery (event_id, endpoint_id, status, attempts, \
         next_attempt_at, retry_from) VALUES {tuples} RETURNING id"
    );
    let values = endpoints
        .iter()
        .flat_map(|endpoint| [event.into(), (*endpoint).into(), now.into(), now.into()])
        .collect();
    rows(read, &sql, values, |r| r.get::<i64>(0)).await?;
    Ok(event)
}

/// Whether any delivery is due: a read, so an idle worker's look writes nothing (no unit of
/// work every poll, which would keep an idle server from counting as idle).
pub async fn any_due(read: impl Into<Read<'_>>, now: i64) -> Result<bool, DbError> {
    let sql = "SELECT id FROM webhook_delivery WHERE status = 'pending' AND next_attempt_at <= ? \
               LIMIT 1";
    let found = rows(read.into(), sql, vec![now.into()], |r| r.get::<i64>(0)).await?;
    Ok(!found.is_empty())
}

/// Takes up to `limit` deliveries that are due, each the oldest pending one of its active
/// endpoint (so an endpoint gets its events one at a time, in order), and leases them until
/// `lease_until`: no other worker takes them before then. On PostgreSQL rows another
/// instance's worker is claiming right now are skipped, not waited for.
pub async fn claim(
    read: impl Into<Read<'_>>,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> Result<Vec<i64>, DbError> {
    let read = read.into();
    let lock = match read.backend() {
        DbBackend::Postgres => " FOR UPDATE OF d SKIP LOCKED",
        _ => "",
    };
    // Each active endpoint's head, by one probe of the pending-head index (migration 0015),
    // then those heads that are due.
    let sql = format!(
        "UPDATE webhook_delivery SET next_attempt_at = ? WHERE id IN (\
           SELECT d.id FROM webhook_delivery d \
           WHERE d.id IN (SELECT (SELECT min(p.id) FROM webhook_delivery p \
               WHERE p.endpoint_id = e.id AND p.status = 'pending') \
             FROM webhook_endpoint e WHERE e.active) \
           AND d.status = 'pending' AND d.next_attempt_at <= ? \
           ORDER BY d.id LIMIT ?{lock}) RETURNING id"
    );
    let values = vec![lease_until.into(), now.into(), limit.into()];
    rows(read, &sql, values, |r| r.get::<i64>(0)).await
}

/// A claimed delivery with what sending it needs.
#[derive(Clone, Debug)]
pub struct Due {
    pub delivery_id: i64,
    pub attempts: i32,
    pub retry_from: i64,
    pub message_id: String,
    pub kind: String,
    pub payload: String,
    pub endpoint: Endpoint,
}

pub async fn due(read: impl Into<Read<'_>>, ids: &[i64]) -> Result<Vec<Due>, DbError> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let (list, values) = super::in_list(ids);
    let columns = ENDPOINT_COLUMNS
        .split(", ")
        .map(|c| format!("e.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {columns}, d.id, d.attempts, d.retry_from, v.message_id, v.type, v.payload \
         FROM webhook_delivery d JOIN webhook_event v ON v.id = d.event_id \
         JOIN webhook_endpoint e ON e.id = d.endpoint_id WHERE d.id IN ({list}) ORDER BY d.id"
    );
    rows(read.into(), &sql, values, |r| {
        Ok(Due {
            endpoint: endpoint(r)?,
            delivery_id: r.get(11)?,
            attempts: r.get(12)?,
            retry_from: r.get(13)?,
            message_id: r.get(14)?,
            kind: r.get(15)?,
            payload: r.get(16)?,
        })
    })
    .await
}

/// One attempt's result.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub delivery_id: i64,
    pub attempted_at: i64,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub latency_ms: i32,
}

/// What an attempt makes of its delivery.
pub enum Settled {
    Delivered,
    /// Tried again at this time.
    Retry(i64),
    Failed,
}

/// Records an attempt and settles its delivery, in one unit of work.
pub async fn record(
    read: impl Into<Read<'_>>,
    attempt: &Attempt,
    settled: Settled,
) -> Result<(), DbError> {
    let read = read.into();
    let sql = "INSERT INTO webhook_attempt (delivery_id, attempted_at, status_code, error, \
               latency_ms) VALUES (?, ?, ?, ?, ?) RETURNING id";
    let values = vec![
        attempt.delivery_id.into(),
        attempt.attempted_at.into(),
        attempt.status_code.into(),
        attempt.error.clone().into(),
        attempt.latency_ms.into(),
    ];
    rows(read, sql, values, |r| r.get::<i64>(0)).await?;
    let (status, next): (&str, Option<i64>) = match settled {
        Settled::Delivered => (DELIVERED, None),
        Settled::Retry(at) => (PENDING, Some(at)),
        Settled::Failed => (FAILED, None),
    };
    let sql = "UPDATE webhook_delivery SET status = ?, next_attempt_at = ?, \
               attempts = attempts + 1, last_attempt_at = ?, last_status_code = ?, \
               last_error = ?, last_latency_ms = ? WHERE id = ? RETURNING id";
    let values = vec![
        status.into(),
        next.into(),
        attempt.attempted_at.into(),
        attempt.status_code.into(),
        attempt.error.clone().into(),
        attempt.latency_ms.into(),
        attempt.delivery_id.into(),
    ];
    rows(read, sql, values, |r| r.get::<i64>(0)).await?;
    Ok(())
}

/// Notes an endpoint's failure (`failing_since` set on the first) or success (cleared);
/// answers since when it has been failing.
pub async fn note_outcome(
    read: impl Into<Read<'_>>,
    endpoint_id: i64,
    ok: bool,
    now: i64,
) -> Result<Option<i64>, DbError> {
    let sql = "UPDATE webhook_endpoint SET failing_since = CASE WHEN ? THEN NULL \
               ELSE COALESCE(failing_since, ?) END WHERE id = ? RETURNING failing_since";
    let values = vec![ok.into(), now.into(), endpoint_id.into()];
    Ok(rows(read.into(), sql, values, |r| r.get::<Option<i64>>(0))
        .await?
        .pop()
        .flatten())
}

pub async fn disable(
    read: impl Into<Read<'_>>,
    endpoint_id: i64,
    reason: &str,
    now: i64,
) -> Result<(), DbError> {
    let sql = "UPDATE webhook_endpoint SET active = ?, disabled_reason = ?, updated_at = ? \
               WHERE id = ? RETURNING id";
    let values = vec![false.into(), reason.into(), now.into(), endpoint_id.into()];
    rows(read.into(), sql, values, |r| r.get::<i64>(0)).await?;
    Ok(())
}

/// A delivery as its endpoint's history shows it.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub id: i64,
    pub message_id: String,
    pub kind: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub last_latency_ms: Option<i32>,
    pub created_at: i64,
}

/// An endpoint's deliveries, newest first, before `before` (an id) when given.
pub async fn deliveries(
    read: impl Into<Read<'_>>,
    endpoint_id: i64,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Delivery>, DbError> {
    let sql = "SELECT d.id, v.message_id, v.type, d.status, d.attempts, d.next_attempt_at, \
               d.last_attempt_at, d.last_status_code, d.last_error, d.last_latency_ms, \
               v.created_at FROM webhook_delivery d JOIN webhook_event v ON v.id = d.event_id \
               WHERE d.endpoint_id = ? AND d.id < ? ORDER BY d.id DESC LIMIT ?";
    let values = vec![
        endpoint_id.into(),
        before.unwrap_or(i64::MAX).into(),
        limit.into(),
    ];
    rows(read.into(), sql, values, |r| {
        Ok(Delivery {
            id: r.get(0)?,
            message_id: r.get(1)?,
            kind: r.get(2)?,
            status: r.get(3)?,
            attempts: r.get(4)?,
            next_attempt_at: r.get(5)?,
            last_attempt_at: r.get(6)?,
            last_status_code: r.get(7)?,
            last_error: r.get(8)?,
            last_latency_ms: r.get(9)?,
            created_at: r.get(10)?,
        })
    })
    .await
}

/// The attempts of these deliveries, in order.
pub async fn attempts(read: impl Into<Read<'_>>, ids: &[i64]) -> Result<Vec<Attempt>, DbError> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let (list, values) = super::in_list(ids);
    let sql = format!(
        "SELECT delivery_id, attempted_at, status_code, error, latency_ms FROM webhook_attempt \
         WHERE delivery_id IN ({list}) ORDER BY id"
    );
    rows(read.into(), &sql, values, |r| {
        Ok(Attempt {
            delivery_id: r.get(0)?,
            attempted_at: r.get(1)?,
            status_code: r.get(2)?,
            error: r.get(3)?,
            latency_ms: r.get(4)?,
        })
    })
    .await
}

/// Puts a delivery of this endpoint back in the queue, due now, its retry period starting
/// again; whether there was such a delivery.
pub async fn retry(
    read: impl Into<Read<'_>>,
    endpoint_id: i64,
    delivery_id: i64,
    now: i64,
) -> Result<bool, DbError> {
    let sql = "UPDATE webhook_delivery SET status = 'pending', next_attempt_at = ?, \
               retry_from = ? WHERE id = ? AND endpoint_id = ? RETURNING id";
    let values = vec![
        now.into(),
        now.into(),
        delivery_id.into(),
        endpoint_id.into(),
    ];
    let found = rows(read.into(), sql, values, |r| r.get::<i64>(0)).await?;
    Ok(!found.is_empty())
}
