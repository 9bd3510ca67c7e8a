//! Outbound webhooks: endpoints admins register, events written in the unit of work of the
//! change they report (a transactional outbox), and the worker inside `serve` that delivers
//! them by the Standard Webhooks specification (standardwebhooks.com).
//!
//! At least once: a delivery is settled only after its attempt is recorded, and one whose
//! worker died mid-attempt is taken again when its lease ends. The `webhook-id` is the event's
//! and never changes, so a receiver drops what it has seen. One endpoint gets its events one at
//! a time, in the order they happened: its oldest pending delivery goes first, and the next
//! waits while it is retried (`repo::webhook::claim`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::config::WebhookSettings;
use crate::db::{Database, DbError, Read};
use crate::repo::webhook::{self as repo, Attempt, Due, Endpoint, EndpointChanges, Settled};
use crate::service::auth::Principal;
use crate::service::{ServiceError, ServiceResult};
use crate::telemetry::metrics;

/// Every event an endpoint may ask for.
pub const EVENT_TYPES: [&str; 10] = [
    "purchase.created",
    "purchase.paid",
    "purchase.failed",
    "purchase.refunded",
    "comment.created",
    "book.created",
    "book.updated",
    "book.deleted",
    "edition.file_added",
    "user.registered",
];

/// How long one attempt may take, connecting included.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a claimed delivery is the claiming worker's: past it (the worker died) another
/// takes it. Longer than an attempt can take.
const LEASE: Duration = Duration::from_secs(60);
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(3_600);
/// How often an idle worker looks for due deliveries.
const POLL: Duration = Duration::from_millis(250);
/// Deliveries one worker sends at once (each to a different endpoint).
const BATCH: i64 = 16;
/// How long a rotated-out secret is still signed with.
const ROTATION_OVERLAP: Duration = Duration::from_secs(24 * 3_600);

fn now_ms() -> i64 {
    crate::db::now().timestamp_millis()
}

/// An event about to be written: its type and the resource it is about.
pub struct Event {
    kind: &'static str,
    data: serde_json::Value,
}

impl Event {
    pub fn new(kind: &'static str, data: impl Serialize) -> Self {
        debug_assert!(EVENT_TYPES.contains(&kind), "{kind} is an event type");
        Self {
            kind,
            data: serde_json::to_value(data).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// Writes `event` for every active endpoint that wants it, inside the caller's unit of work:
/// committed with the change, or rolled back with it. Nothing when no endpoint wants it.
pub async fn emit(read: impl Into<Read<'_>>, event: Event) -> Result<(), DbError> {
    emit_all(read, [event]).await
}

/// `emit` for each of a batch's events (an import's new books), reading the endpoints once:
/// a batch nobody subscribed to costs one read.
pub async fn emit_all(
    read: impl Into<Read<'_>>,
    events: impl IntoIterator<Item = Event>,
) -> Result<(), DbError> {
    let read = read.into();
    let subscribers = repo::subscribers(read).await?;
    if subscribers.is_empty() {
        return Ok(());
    }
    for event in events {
        let wanted: Vec<i64> = subscribers
            .iter()
            .filter(|(_, events)| events.split_whitespace().any(|e| e == event.kind))
            .map(|(id, _)| *id)
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let message_id = format!("msg_{}", uuid::Uuid::new_v4().simple());
        let payload = serde_json::json!({
            "id": message_id,
            "type": event.kind,
            "timestamp": crate::db::now(),
            "data": event.data,
        });
        repo::enqueue(
            read,
            &message_id,
            event.kind,
            &payload.to_string(),
            &wanted,
            now_ms(),
        )
        .await?;
    }
    Ok(())
}

/// A new signing secret in the form Standard Webhooks libraries take: `whsec_` and the
/// base64 of 32 random bytes.
fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// `v1,<base64 HMAC-SHA256>` of `{id}.{timestamp}.{body}` with `secret`'s key.
pub fn sign(secret: &str, message_id: &str, timestamp: i64, body: &str) -> String {
    let key = secret.strip_prefix("whsec_").unwrap_or(secret);
    let key = STANDARD
        .decode(key)
        .unwrap_or_else(|_| key.as_bytes().to_vec());
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&key)
        .expect("HMAC takes a key of any length");
    mac.update(format!("{message_id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// What an admin registers.
pub struct NewEndpoint {
    pub url: String,
    pub events: Vec<String>,
}

fn require_admin(who: &Principal) -> ServiceResult<()> {
    if who.is_admin() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden("This needs an admin.".into()))
    }
}

fn check_events(events: &[String]) -> ServiceResult<Vec<String>> {
    if events.is_empty() {
        return Err(ServiceError::invalid("events", "name at least one event"));
    }
    let mut checked: Vec<String> = vec![];
    for event in events {
        if !EVENT_TYPES.contains(&event.as_str()) {
            return Err(ServiceError::invalid(
                "events",
                format!(
                    "'{event}' is not an event; the events are {}",
                    EVENT_TYPES.join(", ")
                ),
            ));
        }
        if !checked.contains(event) {
            checked.push(event.clone());
        }
    }
    Ok(checked)
}

/// An endpoint's URL: http or https, no credentials in it, and (unless private addresses are
/// allowed) every address its name resolves to public, so folio cannot be made to call into
/// its own network. Checked again at each delivery, where the name is resolved afresh.
async fn check_url(url: &str, allow_private: bool) -> ServiceResult<String> {
    let refuse = |why: &str| ServiceError::invalid("url", why.to_string());
    let parsed = url::Url::parse(url.trim()).map_err(|_| refuse("not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(refuse("must be an http or https URL"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(refuse(
            "must not hold credentials; receivers check the signature",
        ));
    }
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addresses: Vec<IpAddr> = match parsed.host().ok_or_else(|| refuse("has no host"))? {
        url::Host::Ipv4(ip) => vec![ip.into()],
        url::Host::Ipv6(ip) => vec![ip.into()],
        url::Host::Domain(name) => tokio::net::lookup_host((name, port))
            .await
            .map_err(|_| refuse("its host name does not resolve"))?
            .map(|a| a.ip())
            .collect(),
    };
    if addresses.is_empty() {
        return Err(refuse("its host name does not resolve"));
    }
    if !allow_private && let Some(private) = addresses.iter().find(|ip| !is_public(**ip)) {
        return Err(refuse(&format!(
            "resolves to {private}, a private, loopback or link-local address \
             (FOLIO_WEBHOOK_ALLOW_PRIVATE=true allows it)"
        )));
    }
    Ok(parsed.to_string())
}

/// Whether an address is on the public internet: not loopback, private, link-local, shared
/// (CGNAT), unspecified, multicast, documentation or benchmarking space, nor IPv6's
/// unique-local, link-local or an IPv4 address mapped into IPv6 that is one of those.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

/// Registers an endpoint; the answer carries its secret, shown this once.
#[tracing::instrument(level = "info", name = "service.webhooks.create", skip_all)]
pub async fn create(
    db: &Database,
    who: &Principal,
    new: NewEndpoint,
    allow_private: bool,
) -> ServiceResult<Endpoint> {
    require_admin(who)?;
    let events = check_events(&new.events)?;
    let url = check_url(&new.url, allow_private).await?;
    let secret = new_secret();
    let now = now_ms();
    let made = db
        .write(|tx| {
            Box::pin(async move { repo::insert_endpoint(&**tx, &url, &events, &secret, now).await })
        })
        .await?;
    Ok(made)
}

pub async fn list(db: &Database, who: &Principal) -> ServiceResult<Vec<Endpoint>> {
    require_admin(who)?;
    Ok(repo::endpoints(db.reader()).await?)
}

pub async fn get(db: &Database, who: &Principal, id: i64) -> ServiceResult<Endpoint> {
    require_admin(who)?;
    repo::find_endpoint(db.reader(), id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("webhook endpoint".into()))
}

/// What a change to an endpoint may say.
#[derive(Default)]
pub struct Changes {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub active: Option<bool>,
}

#[tracing::instrument(level = "info", name = "service.webhooks.update", skip_all, fields(id))]
pub async fn update(
    db: &Database,
    who: &Principal,
    id: i64,
    changes: Changes,
    allow_private: bool,
) -> ServiceResult<Endpoint> {
    require_admin(who)?;
    let events = changes.events.as_deref().map(check_events).transpose()?;
    let url = match &changes.url {
        Some(url) => Some(check_url(url, allow_private).await?),
        None => None,
    };
    let changes = EndpointChanges {
        url,
        events,
        active: changes.active,
    };
    let now = now_ms();
    db.write(|tx| Box::pin(async move { repo::update_endpoint(&**tx, id, changes, now).await }))
        .await?
        .ok_or_else(|| ServiceError::NotFound("webhook endpoint".into()))
}

/// A new secret, shown this once; the old one is still signed with for a day, so receivers
/// can change over without losing an event.
#[tracing::instrument(level = "info", name = "service.webhooks.rotate", skip_all, fields(id))]
pub async fn rotate(db: &Database, who: &Principal, id: i64) -> ServiceResult<Endpoint> {
    require_admin(who)?;
    let secret = new_secret();
    let now = now_ms();
    let until = now + ROTATION_OVERLAP.as_millis() as i64;
    db.write(|tx| {
        Box::pin(async move { repo::rotate_secret(&**tx, id, &secret, until, now).await })
    })
    .await?
    .ok_or_else(|| ServiceError::NotFound("webhook endpoint".into()))
}

pub async fn delete(db: &Database, who: &Principal, id: i64) -> ServiceResult<()> {
    require_admin(who)?;
    let gone = db
        .write(|tx| Box::pin(async move { repo::delete_endpoint(&**tx, id).await }))
        .await?;
    if gone {
        Ok(())
    } else {
        Err(ServiceError::NotFound("webhook endpoint".into()))
    }
}

/// A delivery with its attempts.
pub struct DeliveryHistory {
    pub delivery: repo::Delivery,
    pub attempts: Vec<Attempt>,
}

/// An endpoint's deliveries, newest first: a page of `limit` before the delivery `before`.
pub async fn deliveries(
    db: &Database,
    who: &Principal,
    id: i64,
    before: Option<i64>,
    limit: i64,
) -> ServiceResult<(Vec<DeliveryHistory>, bool)> {
    get(db, who, id).await?;
    let mut page = repo::deliveries(db.reader(), id, before, limit + 1).await?;
    let more = page.len() as i64 > limit;
    page.truncate(limit as usize);
    let ids: Vec<i64> = page.iter().map(|d| d.id).collect();
    let mut attempts: HashMap<i64, Vec<Attempt>> = HashMap::new();
    for attempt in repo::attempts(db.reader(), &ids).await? {
        attempts
            .entry(attempt.delivery_id)
            .or_default()
            .push(attempt);
    }
    let history = page
        .into_iter()
        .map(|delivery| DeliveryHistory {
            attempts: attempts.remove(&delivery.id).unwrap_or_default(),
            delivery,
        })
        .collect();
    Ok((history, more))
}

/// Sends a delivery again now (a failed one, or one a receiver lost), retried as a new one.
pub async fn retry(db: &Database, who: &Principal, id: i64, delivery_id: i64) -> ServiceResult<()> {
    require_admin(who)?;
    let now = now_ms();
    let found = db
        .write(|tx| Box::pin(async move { repo::retry(&**tx, id, delivery_id, now).await }))
        .await?;
    if found {
        Ok(())
    } else {
        Err(ServiceError::NotFound("webhook delivery".into()))
    }
}

/// Resolves endpoints' names to public addresses only (unless private ones are allowed), at
/// every connection: a name that resolved to a public address when it was registered and
/// points inside later (DNS rebinding) gets no request.
struct PublicOnly {
    allow_private: bool,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let (host, allow_private) = (name.as_str().to_string(), self.allow_private);
        Box::pin(async move {
            let found: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Delivers due events until the process ends. Several instances' workers share the queue
/// safely: each delivery is claimed by one of them (`repo::webhook::claim`).
pub async fn run_worker(db: Database, settings: WebhookSettings) {
    let client = reqwest::Client::builder()
        .timeout(ATTEMPT_TIMEOUT)
        .connect_timeout(ATTEMPT_TIMEOUT)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("folio-webhooks/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(PublicOnly {
            allow_private: settings.allow_private,
        }))
        .build();
    let client = match client {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook client; no deliveries");
            return;
        }
    };
    loop {
        match work_once(&db, &client, &settings).await {
            Ok(0) => tokio::time::sleep(POLL).await,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "webhook deliveries could not be claimed");
                tokio::time::sleep(POLL * 4).await;
            }
        }
    }
}

/// Claims what is due, sends it all at once, records each outcome: how many were sent.
async fn work_once(
    db: &Database,
    client: &reqwest::Client,
    settings: &WebhookSettings,
) -> Result<usize, DbError> {
    let now = now_ms();
    if !repo::any_due(db.reader(), now).await? {
        return Ok(0);
    }
    let lease_until = now + LEASE.as_millis() as i64;
    let ids = db
        .write(|tx| Box::pin(async move { repo::claim(&**tx, now, lease_until, BATCH).await }))
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    let due = repo::due(db.reader(), &ids).await?;
    let sent = due.len();
    let sends = due.into_iter().map(|due| async move {
        let attempt = attempt(client, &due, settings).await;
        if let Err(e) = settle(db, &due, attempt, settings).await {
            tracing::warn!(delivery = due.delivery_id, error = %e, "a webhook attempt could not be recorded; it is sent again when its lease ends");
        }
    });
    futures_util::future::join_all(sends).await;
    Ok(sent)
}

async fn attempt(client: &reqwest::Client, due: &Due, settings: &WebhookSettings) -> Attempt {
    let attempted_at = now_ms();
    let timestamp = attempted_at / 1000;
    let endpoint = &due.endpoint;
    let mut signatures = vec![sign(
        &endpoint.secret,
        &due.message_id,
        timestamp,
        &due.payload,
    )];
    if let (Some(previous), Some(until)) =
        (&endpoint.previous_secret, endpoint.previous_secret_until)
        && until > attempted_at
    {
        signatures.push(sign(previous, &due.message_id, timestamp, &due.payload));
    }
    let started = Instant::now();
    let outcome = match literal_private(&endpoint.url, settings.allow_private) {
        Some(refused) => Err(refused),
        None => client
            .post(&endpoint.url)
            .header("content-type", "application/json")
            .header("webhook-id", &due.message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signatures.join(" "))
            .body(due.payload.clone())
            .send()
            .await
            .map(|r| r.status().as_u16() as i32)
            .map_err(|e| chain(&e.without_url())),
    };
    let latency_ms = started.elapsed().as_millis().min(i32::MAX as u128) as i32;
    let (status_code, error) = match outcome {
        Ok(code) if (200..300).contains(&code) => (Some(code), None),
        Ok(code) => (Some(code), Some(format!("answered {code}"))),
        Err(error) => (None, Some(error)),
    };
    Attempt {
        delivery_id: due.delivery_id,
        attempted_at,
        status_code,
        error,
        latency_ms,
    }
}

/// An error with its causes, for the delivery's history (never the URL: `without_url`).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// An endpoint URL whose host is a literal private address: refused at each attempt too (no
/// name is resolved for it, so the resolver never sees it).
fn literal_private(url: &str, allow_private: bool) -> Option<String> {
    let ip: IpAddr = match url::Url::parse(url).ok()?.host()? {
        url::Host::Ipv4(ip) => ip.into(),
        url::Host::Ipv6(ip) => ip.into(),
        url::Host::Domain(_) => return None,
    };
    (!allow_private && !is_public(ip)).then(|| format!("{ip} is not a public address"))
}

/// Records an attempt and what it makes of the delivery: delivered; tried again after an
/// exponential, jittered wait; or failed once the retry period is over. An endpoint failing
/// for longer than `disable_after` is turned off, saying why.
async fn settle(
    db: &Database,
    due: &Due,
    attempt: Attempt,
    settings: &WebhookSettings,
) -> Result<(), DbError> {
    let ok = attempt.error.is_none();
    let now = attempt.attempted_at;
    let give_up_at = due.retry_from + settings.retry_for.as_millis() as i64;
    let settled = if ok {
        Settled::Delivered
    } else {
        let next = now + backoff(settings.first_retry, due.attempts + 1).as_millis() as i64;
        if next > give_up_at {
            Settled::Failed
        } else {
            Settled::Retry(next)
        }
    };
    metrics::webhook_delivery(match settled {
        Settled::Delivered => "delivered",
        Settled::Retry(_) => "retrying",
        Settled::Failed => "failed",
    });
    let endpoint = due.endpoint.id;
    let disable_after = settings.disable_after.as_millis() as i64;
    let reason = attempt.error.clone().unwrap_or_default();
    db.write(|tx| {
        Box::pin(async move {
            repo::record(&**tx, &attempt, settled).await?;
            let failing_since = repo::note_outcome(&**tx, endpoint, ok, now).await?;
            if let Some(since) = failing_since
                && now - since >= disable_after
            {
                let since = chrono::DateTime::from_timestamp_millis(since).unwrap_or_default();
                let why = format!(
                    "disabled: deliveries have failed since {} (last: {reason})",
                    since.format("%Y-%m-%d %H:%M UTC")
                );
                tracing::warn!(endpoint, "{why}");
                repo::disable(&**tx, endpoint, &why, now).await?;
            }
            Ok::<_, DbError>(())
        })
    })
    .await
}

/// The wait before attempt `n + 1` after `n` attempts: `first` doubled each time, at most an
/// hour, and a random part of it taken off (up to half), so receivers coming back are not hit
/// by every queued delivery at the same instant.
fn backoff(first: Duration, attempts: i32) -> Duration {
    let doublings = (attempts.max(1) - 1).min(30) as u32;
    let full = first.saturating_mul(1u32 << doublings).min(MAX_BACKOFF);
    let jitter: f64 = rand::random::<f64>() * 0.5;
    full.mul_f64(1.0 - jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_the_standard_webhooks_example() {
        // The specification's own example (standardwebhooks.com, "Signature scheme").
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        let signed = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn private_loopback_and_link_local_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn backoff_doubles_up_to_an_hour_with_jitter() {
        let first = Duration::from_secs(5);
        for (attempts, full) in [(1, 5), (2, 10), (3, 20), (20, 3_600)] {
            let wait = backoff(first, attempts);
            let full = Duration::from_secs(full);
            assert!(wait <= full && wait >= full / 2, "{attempts}: {wait:?}");
        }
    }
}
