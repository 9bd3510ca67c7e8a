//! The payment provider's webhook: signed events that move purchases along.
//!
//! Signature: the header `Folio-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` where the HMAC
//! is over `"<t>.<raw request body>"` with `FOLIO_PAYMENT_WEBHOOK_SECRET`. Several `v1=` entries
//! may be sent (while a secret is being rotated); one matching is enough. Events older than
//! five minutes are refused, so a captured request cannot be replayed later; an `event_id`
//! seen before is acknowledged and changes nothing, so the provider's retries are harmless
//! (but the same id about another purchase is refused). The header is bounded (4 KiB, five
//! `v1` entries) and the body hashed once, so a forged request costs next to nothing.

use hmac::{KeyInit, Mac};
use sha2::Sha256;

use crate::config::Secret;
use crate::db::Database;
use crate::entity::enums::PurchaseStatus;
use crate::entity::{payment_event, purchase};
use crate::repo;
use crate::service::{ServiceError, ServiceResult, webhooks};
use crate::telemetry::metrics;

/// How old a signed event may be.
pub const TOLERANCE_SECS: u64 = 300;

/// The most `v1=` entries a header may carry: enough for a secret rotation, few enough that
/// checking them costs nothing.
pub const MAX_SIGNATURES: usize = 5;

/// The longest `Folio-Signature` header accepted, in bytes.
pub const MAX_HEADER_BYTES: usize = 4096;

type HmacSha256 = hmac::Hmac<Sha256>;

/// A `Folio-Signature` header, parsed and bounded before the body is read.
#[derive(Debug)]
pub struct SignatureHeader {
    timestamp: i64,
    signatures: Vec<Vec<u8>>,
}

fn refuse(why: &str) -> ServiceError {
    ServiceError::Unauthenticated(format!("Invalid webhook signature: {why}."))
}

/// Why a signature cannot be checked at all. An adapter words the first two for where the
/// signature came from (the API: its header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreadable {
    /// Longer than [`MAX_HEADER_BYTES`]: a malformed request, refused before anything is hashed.
    TooLong,
    /// More than [`MAX_SIGNATURES`] `v1` entries: malformed likewise.
    TooManySignatures,
    /// No timestamp, or no `v1` signature: refused as a wrong signature is.
    Incomplete(&'static str),
}

impl From<Unreadable> for ServiceError {
    fn from(unreadable: Unreadable) -> Self {
        match unreadable {
            Unreadable::TooLong => ServiceError::Malformed(format!(
                "The signature is longer than {MAX_HEADER_BYTES} bytes."
            )),
            Unreadable::TooManySignatures => ServiceError::Malformed(format!(
                "The signature has more than {MAX_SIGNATURES} v1 entries."
            )),
            Unreadable::Incomplete(what) => refuse(what),
        }
    }
}

impl SignatureHeader {
    /// Parses the header. Too long a header or too many `v1` entries is malformed, refused
    /// before anything is hashed; a missing timestamp or signature is a refusal.
    pub fn parse(header: &str) -> Result<Self, Unreadable> {
        if header.len() > MAX_HEADER_BYTES {
            return Err(Unreadable::TooLong);
        }
        let mut timestamp = None;
        let mut signatures = vec![];
        let mut entries = 0;
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
                Some(("v1", value)) => {
                    entries += 1;
                    if entries > MAX_SIGNATURES {
                        return Err(Unreadable::TooManySignatures);
                    }
                    signatures.extend(hex::decode(value).ok());
                }
                _ => {}
            }
        }
        let timestamp = timestamp.ok_or(Unreadable::Incomplete("no timestamp"))?;
        if signatures.is_empty() {
            return Err(Unreadable::Incomplete("no v1 signature"));
        }
        Ok(Self {
            timestamp,
            signatures,
        })
    }

    /// Checks the signatures against the raw body at time `now` (unix seconds). The body is
    /// hashed once, whatever the number of candidates; each is compared in constant time.
    pub fn verify(&self, secret: &Secret, body: &[u8], now: i64) -> ServiceResult<()> {
        // abs_diff cannot overflow, whatever `t` a client sends (i64::MIN included).
        if now.abs_diff(self.timestamp) > TOLERANCE_SECS {
            return Err(refuse(
                "the timestamp is more than five minutes away from now",
            ));
        }
        let expected = body_mac(secret, self.timestamp, body);
        // Every candidate is checked (no early exit), each on a clone of the one computed MAC:
        // finalising a clone costs the same small amount, however long the body.
        let matched = self.signatures.iter().fold(false, |matched, signature| {
            expected.clone().verify_slice(signature).is_ok() | matched
        });
        if matched {
            Ok(())
        } else {
            Err(refuse("no signature matches"))
        }
    }
}

/// The HMAC over `"<t>.<body>"`, not yet finalised: the one pass over the body a request costs.
fn body_mac(secret: &Secret, timestamp: i64, body: &[u8]) -> HmacSha256 {
    #[cfg(test)]
    tests::BODY_MACS.with(|count| count.set(count.get() + 1));
    let mut mac =
        HmacSha256::new_from_slice(secret.expose().as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    mac
}

/// Checks a `Folio-Signature` header against the raw body at time `now` (unix seconds).
pub fn verify_signature(secret: &Secret, header: &str, body: &[u8], now: i64) -> ServiceResult<()> {
    SignatureHeader::parse(header)?.verify(secret, body, now)
}

/// Signs a body as the provider would; for tests and for writing an integration.
pub fn sign(secret: &Secret, body: &[u8], timestamp: i64) -> String {
    let mac = body_mac(secret, timestamp, body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

pub struct PaymentEvent {
    pub event_id: String,
    pub purchase_id: i64,
    pub status: PurchaseStatus,
    pub provider_ref: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
}

pub enum Applied {
    /// The purchase moved to the event's status.
    Moved(purchase::Model),
    /// The event was applied before; nothing changed.
    Duplicate,
}

fn allowed(from: PurchaseStatus, to: PurchaseStatus) -> bool {
    use PurchaseStatus::*;
    matches!(
        (from, to),
        (Pending, Paid) | (Pending, Failed) | (Paid, Refunded)
    )
}

/// Applies a verified event: pending → paid or failed, paid → refunded, and nothing else.
#[tracing::instrument(
    level = "info",
    name = "service.payments.apply",
    skip_all,
    err(level = "debug")
)]
pub async fn apply(db: &Database, event: PaymentEvent) -> ServiceResult<Applied> {
    let (event_id, purchase_id) = (event.event_id.clone(), event.purchase_id);
    let outcome = db
        .write(|tx| Box::pin(async move { apply_in(tx, event).await }))
        .await;
    match outcome {
        // The same event delivered twice at once: the other delivery recorded it first (on
        // PostgreSQL this insert waited for that commit), so it is committed and readable now.
        Err(clash) if clash.conflicts_on(repo::purchase::EVENT_ID) => {
            tracing::info!(%event_id, "payment event delivered twice at once; applied once");
            let recorded = repo::purchase::find_event(db.reader(), &event_id)
                .await?
                .ok_or_else(|| ServiceError::internal("a recorded payment event vanished"))?;
            duplicate_of(&recorded, purchase_id)
        }
        Ok(Applied::Moved(moved)) => {
            metrics::purchase(moved.status.label());
            Ok(Applied::Moved(moved))
        }
        other => other,
    }
}

async fn apply_in(tx: &crate::db::Transaction, event: PaymentEvent) -> ServiceResult<Applied> {
    if let Some(recorded) = repo::purchase::find_event(tx, &event.event_id).await? {
        return duplicate_of(&recorded, event.purchase_id);
    }
    let purchase = repo::purchase::find(tx, event.purchase_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("purchase".into()))?;
    if purchase.amount_minor != event.amount_minor || purchase.currency != event.currency {
        tracing::warn!(
            purchase_id = purchase.id,
            event_id = %event.event_id,
            "payment event amount or currency does not match the purchase"
        );
        return Err(ServiceError::invalid(
            "amount_minor",
            "the amount and currency must match the purchase",
        ));
    }
    // The event is recorded before its transition is even checked. Its id is unique, so a
    // second delivery of it racing this one stops at this insert (PostgreSQL makes it wait for
    // this commit) and answers as a duplicate: it never gets to see the purchase already moved
    // (each PostgreSQL statement reads what is committed by then) and answer 409. A refused
    // event returns an error, which rolls its record back.
    repo::purchase::record_event(tx, event.event_id.clone(), purchase.id, event.status).await?;
    if !allowed(purchase.status, event.status) {
        return Err(refused_transition(&event, purchase.status));
    }
    let moved = repo::purchase::transition(
        tx,
        purchase.id,
        purchase.status,
        event.status,
        event.provider_ref.clone(),
    )
    .await?;
    let updated = repo::purchase::find(tx, purchase.id)
        .await?
        .ok_or_else(|| ServiceError::internal("purchase vanished"))?;
    if !moved {
        // Another event moved the purchase since it was read; the error rolls the record back.
        return Err(refused_transition(&event, updated.status));
    }
    webhooks::emit(tx, super::store::purchase_event(&updated)).await?;
    tracing::info!(purchase_id = updated.id, status = ?updated.status, "payment event applied");
    Ok(Applied::Moved(updated))
}

/// An event id seen before: a retry of the same event is a duplicate; the id reused for
/// another purchase is not that event, and is refused rather than silently acknowledged.
fn duplicate_of(recorded: &payment_event::Model, purchase_id: i64) -> ServiceResult<Applied> {
    if recorded.purchase_id == purchase_id {
        return Ok(Applied::Duplicate);
    }
    tracing::warn!(
        event_id = %recorded.event_id,
        recorded_for = recorded.purchase_id,
        sent_for = purchase_id,
        "refused a payment event: its id was recorded for another purchase"
    );
    Err(ServiceError::Conflict {
        field: "event_id".into(),
        detail: "This event id was already used for another purchase.".into(),
    })
}

fn refused_transition(event: &PaymentEvent, from: PurchaseStatus) -> ServiceError {
    tracing::warn!(
        purchase_id = event.purchase_id,
        event_id = %event.event_id,
        from = ?from,
        to = ?event.status,
        "refused a payment event: not an allowed transition"
    );
    ServiceError::Conflict {
        field: "status".into(),
        detail: format!(
            "A {} purchase cannot become {}.",
            format!("{from:?}").to_lowercase(),
            format!("{:?}", event.status).to_lowercase()
        ),
    }
}
/// The test checkout's verdict on a pending purchase, delivered as a provider delivers one: an
/// event for the purchase's own amount, signed with the webhook secret, checked by the same
/// signature check and applied by the same [`apply`] as `POST /payments/webhook`.
#[tracing::instrument(
    level = "info",
    name = "service.payments.settle_for_test",
    skip_all,
    fields(purchase_id = purchase.id),
    err(level = "debug")
)]
pub async fn settle_for_test(
    db: &Database,
    secret: &Secret,
    purchase: &purchase::Model,
    paid: bool,
) -> ServiceResult<Applied> {
    let status = if paid {
        PurchaseStatus::Paid
    } else {
        PurchaseStatus::Failed
    };
    let event_id = format!("test_{}", crate::service::auth::token::random_secret(""));
    let body = serde_json::to_vec(&serde_json::json!({
        "event_id": event_id,
        "purchase_id": purchase.id,
        "status": status,
        "provider_ref": "folio-test-checkout",
        "amount_minor": purchase.amount_minor,
        "currency": purchase.currency,
    }))
    .map_err(|e| ServiceError::failed("a test payment event did not serialise", e))?;
    let now = chrono::Utc::now().timestamp();
    let header = sign(secret, &body, now);
    verify_signature(secret, &header, &body, now)?;
    apply(
        db,
        PaymentEvent {
            event_id,
            purchase_id: purchase.id,
            status,
            provider_ref: Some("folio-test-checkout".into()),
            amount_minor: purchase.amount_minor,
            currency: purchase.currency.clone(),
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        /// How many times this thread hashed a body (see `body_mac`).
        pub(super) static BODY_MACS: Cell<usize> = const { Cell::new(0) };
    }

    fn junk(entries: usize) -> String {
        ",v1=00".repeat(entries)
    }

    #[test]
    fn the_body_is_hashed_once_whatever_the_candidates() {
        let secret = Secret::new("whsec_test");
        let body = br#"{"event_id":"evt_1"}"#;
        let valid = sign(&secret, body, 1_000_000);
        let (t, v1) = valid.split_once(',').unwrap();
        let wrong = format!(",v1={}", "ab".repeat(32));
        for header in [
            format!("{t}{}{wrong},{v1}", junk(3)), // the last of five matches
            format!("{t},{v1}{wrong}{}", junk(3)), // the first matches
            format!("{t}{}{wrong}", junk(4)),      // none does
        ] {
            BODY_MACS.with(|count| count.set(0));
            let parsed = SignatureHeader::parse(&header).unwrap();
            let verdict = parsed.verify(&secret, body, 1_000_000);
            assert_eq!(BODY_MACS.with(Cell::get), 1, "{header}");
            assert_eq!(verdict.is_ok(), header.contains(v1), "{header}");
        }
    }

    #[test]
    fn headers_over_the_limits_are_malformed_before_any_hashing() {
        BODY_MACS.with(|count| count.set(0));
        for (header, why) in [
            (
                format!("t=1{}", junk(MAX_SIGNATURES + 1)),
                Unreadable::TooManySignatures,
            ),
            (format!("t=1{}", junk(10_000)), Unreadable::TooLong),
            (
                format!("t=1,v1={}", "0".repeat(MAX_HEADER_BYTES)),
                Unreadable::TooLong,
            ),
        ] {
            assert_eq!(SignatureHeader::parse(&header).unwrap_err(), why);
            let refused = ServiceError::from(why);
            assert!(matches!(refused, ServiceError::Malformed(_)), "{refused:?}");
        }
        assert_eq!(BODY_MACS.with(Cell::get), 0);
        assert!(SignatureHeader::parse(&format!("t=1{}", junk(MAX_SIGNATURES))).is_ok());
    }

    #[test]
    fn extreme_timestamps_are_stale_not_an_overflow() {
        let secret = Secret::new("whsec_test");
        for (t, now) in [
            (i64::MIN, i64::MAX),
            (i64::MAX, i64::MIN),
            (i64::MIN, 1_000_000),
            (i64::MAX, 1_000_000),
        ] {
            let header = sign(&secret, b"{}", t);
            let refused = verify_signature(&secret, &header, b"{}", now).unwrap_err();
            assert!(
                matches!(refused, ServiceError::Unauthenticated(_)),
                "{t} at {now}"
            );
        }
        let header = sign(&secret, b"{}", i64::MIN);
        assert!(verify_signature(&secret, &header, b"{}", i64::MIN + 300).is_ok());
    }

    #[test]
    fn signatures_verify_and_expire() {
        let secret = Secret::new("whsec_test");
        let body = br#"{"event_id":"evt_1"}"#;
        let header = sign(&secret, body, 1_000_000);
        assert!(verify_signature(&secret, &header, body, 1_000_000).is_ok());
        assert!(verify_signature(&secret, &header, body, 1_000_000 + 300).is_ok());
        assert!(
            verify_signature(&secret, &header, body, 1_000_000 + 301).is_err(),
            "stale"
        );
        assert!(
            verify_signature(&secret, &header, b"{}", 1_000_000).is_err(),
            "other body"
        );
        assert!(verify_signature(&Secret::new("other"), &header, body, 1_000_000).is_err());
        assert!(
            verify_signature(&secret, "v1=00", body, 1_000_000).is_err(),
            "no timestamp"
        );
        assert!(
            verify_signature(&secret, "t=1000000", body, 1_000_000).is_err(),
            "no signature"
        );
        let rotated = format!("{header},v1={}", "ab".repeat(32));
        assert!(
            verify_signature(&secret, &rotated, body, 1_000_000).is_ok(),
            "any v1 matches"
        );
    }

    #[test]
    fn only_forward_transitions_are_allowed() {
        use PurchaseStatus::*;
        assert!(allowed(Pending, Paid) && allowed(Pending, Failed) && allowed(Paid, Refunded));
        for (from, to) in [
            (Paid, Failed),
            (Failed, Paid),
            (Refunded, Paid),
            (Pending, Refunded),
            (Paid, Paid),
            (Pending, Pending),
        ] {
            assert!(!allowed(from, to), "{from:?} -> {to:?}");
        }
    }
}
