//! The payment provider's webhook: signed events that move purchases along.
//!
//! Signature: the header `Folio-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` where the HMAC
//! is over `"<t>.<raw request body>"` with `FOLIO_PAYMENT_WEBHOOK_SECRET`. Several `v1=` entries
//! may be sent (while a secret is being rotated); one matching is enough. Events older than
//! five minutes are refused, so a captured request cannot be replayed later; an `event_id`
//! seen before is acknowledged and changes nothing, so the provider's retries are harmless.

use hmac::{KeyInit, Mac};
use sha2::Sha256;

use crate::config::Secret;
use crate::db::{Database, DbError};
use crate::entity::enums::PurchaseStatus;
use crate::entity::purchase;
use crate::repo;
use crate::service::{ServiceError, ServiceResult};

/// How old a signed event may be.
pub const TOLERANCE_SECS: i64 = 300;

/// Checks a `Folio-Signature` header against the raw body at time `now` (unix seconds).
pub fn verify_signature(secret: &Secret, header: &str, body: &[u8], now: i64) -> ServiceResult<()> {
    let refuse =
        |why: &str| ServiceError::Unauthenticated(format!("Invalid webhook signature: {why}."));
    let mut timestamp = None;
    let mut signatures = vec![];
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.extend(hex::decode(value).ok()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or_else(|| refuse("no timestamp"))?;
    if signatures.is_empty() {
        return Err(refuse("no v1 signature"));
    }
    if (now - timestamp).abs() > TOLERANCE_SECS {
        return Err(refuse(
            "the timestamp is more than five minutes away from now",
        ));
    }
    let valid = signatures.iter().any(|signature| {
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
            .expect("HMAC takes any key length");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(signature).is_ok()
    });
    if valid {
        Ok(())
    } else {
        Err(refuse("no signature matches"))
    }
}

/// Signs a body as the provider would; for tests and for writing an integration.
pub fn sign(secret: &Secret, body: &[u8], timestamp: i64) -> String {
    let mut mac =
        hmac::Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).expect("any key length");
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
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
pub async fn apply(db: &Database, event: PaymentEvent) -> ServiceResult<Applied> {
    let event_id = event.event_id.clone();
    let outcome = db
        .write(|tx| {
            Box::pin(async move {
                if repo::purchase::event_seen(&**tx, &event.event_id).await? {
                    return Ok(Applied::Duplicate);
                }
                let purchase = repo::purchase::find(&**tx, event.purchase_id)
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
                let moved = allowed(purchase.status, event.status)
                    && repo::purchase::transition(
                        &**tx,
                        purchase.id,
                        purchase.status,
                        event.status,
                        event.provider_ref.clone(),
                    )
                    .await?;
                if !moved {
                    tracing::warn!(
                        purchase_id = purchase.id,
                        event_id = %event.event_id,
                        from = ?purchase.status,
                        to = ?event.status,
                        "refused a payment event: not an allowed transition"
                    );
                    return Err(ServiceError::Conflict {
                        field: "status".into(),
                        detail: format!(
                            "A {} purchase cannot become {}.",
                            format!("{:?}", purchase.status).to_lowercase(),
                            format!("{:?}", event.status).to_lowercase()
                        ),
                    });
                }
                repo::purchase::record_event(&**tx, event.event_id, purchase.id, event.status).await?;
                let updated = repo::purchase::find(&**tx, purchase.id)
                    .await?
                    .ok_or_else(|| ServiceError::Internal("purchase vanished".into()))?;
                tracing::info!(purchase_id = updated.id, status = ?updated.status, "payment event applied");
                Ok(Applied::Moved(updated))
            })
        })
        .await;
    match outcome {
        // The same event delivered twice at once: the other delivery applied it.
        Err(ServiceError::Db(DbError::Conflict { field, .. })) if field == "event_id" => {
            tracing::info!(%event_id, "payment event delivered twice at once; applied once");
            Ok(Applied::Duplicate)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
