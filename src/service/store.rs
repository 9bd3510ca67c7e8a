//! The store (seed 002's Payment): purchases created idempotently, a reader's library.

use sha2::{Digest, Sha256};

use crate::db::Database;
use crate::entity::enums::PurchaseStatus;
use crate::entity::purchase;
use crate::repo::purchase::NewPurchase;
pub use crate::repo::purchase::{LibraryRow, PurchaseFilter};
use crate::repo::{self, Page};
use crate::service::auth::Principal;
use crate::service::{ServiceError, ServiceResult, webhooks};
use crate::telemetry::metrics;

/// A purchase, and whether this request made it (or found the one its key made before).
pub struct Purchased {
    pub purchase: purchase::Model,
    pub created: bool,
}

/// What a request asked for, so a reused key with another request is recognised.
fn fingerprint(edition_id: i64) -> String {
    hex::encode(Sha256::digest(
        format!("purchase:edition_id={edition_id}").as_bytes(),
    ))
}

/// The field a purchase's key is named by in a refusal. (The API takes the key in a header,
/// and names the header.)
pub const KEY_FIELD: &str = "idempotency_key";

pub fn check_idempotency_key(key: &str) -> ServiceResult<()> {
    let valid = (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic());
    if valid {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            KEY_FIELD,
            "must be 1 to 255 visible ASCII characters, such as a UUID",
        ))
    }
}

/// The same key returns the same purchase; the same key with another edition is refused.
fn replay(existing: purchase::Model, print: &str) -> ServiceResult<Purchased> {
    if existing.request_fingerprint == print {
        Ok(Purchased {
            purchase: existing,
            created: false,
        })
    } else {
        Err(ServiceError::invalid(
            KEY_FIELD,
            "was already used for a different purchase request",
        ))
    }
}

/// Starts a purchase of an edition at its current price. Twenty identical requests racing
/// with one key make exactly one purchase: the unique key decides, and the losers return the
/// winner's purchase. An edition the buyer owns or has pending is a 409; twenty requests
/// racing with twenty keys make one purchase too (the unique partial index decides).
#[tracing::instrument(
    level = "info",
    name = "service.store.purchase",
    skip_all,
    fields(edition_id),
    err(level = "debug")
)]
pub async fn purchase(
    db: &Database,
    who: &Principal,
    edition_id: i64,
    key: String,
) -> ServiceResult<Purchased> {
    check_idempotency_key(&key)?;
    let print = fingerprint(edition_id);
    let user_id = who.user_id;
    let (key_for_work, print_for_work) = (key.clone(), print.clone());
    let outcome = db
        .write(|tx| {
            Box::pin(async move {
                if let Some(existing) =
                    repo::purchase::find_by_key(&**tx, user_id, &key_for_work).await?
                {
                    return replay(existing, &print_for_work);
                }
                let edition = repo::edition::find(&**tx, edition_id)
                    .await?
                    .ok_or_else(|| ServiceError::invalid("edition_id", "no edition has this id"))?;
                let (Some(amount_minor), Some(currency)) = (edition.price_minor, edition.currency)
                else {
                    return Err(ServiceError::invalid(
                        "edition_id",
                        "this edition has no price",
                    ));
                };
                if let Some(open) =
                    repo::purchase::open_purchase(&**tx, user_id, edition_id).await?
                {
                    // On PostgreSQL each statement sees what committed before it: this may be
                    // the purchase an identical request made since its key was looked up.
                    if open.idempotency_key == key_for_work {
                        return replay(open, &print_for_work);
                    }
                    return Err(already_bought(&open));
                }
                let new = NewPurchase {
                    user_id,
                    edition_id,
                    amount_minor,
                    currency,
                    idempotency_key: key_for_work,
                    request_fingerprint: print_for_work,
                };
                let purchase = repo::purchase::insert(&**tx, new).await?;
                webhooks::emit(&**tx, purchase_event(&purchase)).await?;
                Ok(Purchased {
                    purchase,
                    created: true,
                })
            })
        })
        .await;
    match outcome {
        // Another request committed first (on PostgreSQL this insert waited for it): with this
        // key, answer with its purchase, whichever unique index reported the clash; with
        // another key, it holds the edition.
        Err(clash)
            if clash.conflicts_on(repo::purchase::IDEMPOTENCY_KEY)
                || clash.conflicts_on(repo::purchase::OPEN_PURCHASE) =>
        {
            if let Some(existing) = repo::purchase::find_by_key(db.reader(), user_id, &key).await? {
                return replay(existing, &print);
            }
            let open = repo::purchase::open_purchase(db.reader(), user_id, edition_id)
                .await?
                .ok_or_else(|| ServiceError::internal("a conflicting purchase vanished"))?;
            Err(already_bought(&open))
        }
        Ok(purchased) => {
            if purchased.created {
                metrics::purchase(purchased.purchase.status.label());
            }
            Ok(purchased)
        }
        other => other,
    }
}

/// `purchase.<status>` about `purchase` as it is now: `purchase.created` for a new one.
pub(crate) fn purchase_event(purchase: &purchase::Model) -> webhooks::Event {
    let kind = match purchase.status {
        PurchaseStatus::Pending => "purchase.created",
        PurchaseStatus::Paid => "purchase.paid",
        PurchaseStatus::Failed => "purchase.failed",
        PurchaseStatus::Refunded => "purchase.refunded",
    };
    webhooks::Event::new(
        kind,
        serde_json::json!({
            "id": purchase.id, "user_id": purchase.user_id, "edition_id": purchase.edition_id,
            "status": purchase.status.label(), "amount_minor": purchase.amount_minor,
            "currency": purchase.currency, "provider_ref": purchase.provider_ref,
            "created_at": purchase.created_at, "updated_at": purchase.updated_at,
        }),
    )
}

/// The 409 for an edition the buyer owns or is already paying for: one purchase at a time.
fn already_bought(open: &purchase::Model) -> ServiceError {
    let detail = match open.status {
        PurchaseStatus::Paid => "This edition is already in your library.".to_string(),
        _ => format!(
            "A purchase of this edition is already pending (purchase {}); it must be paid or \
             fail before another can start.",
            open.id
        ),
    };
    ServiceError::Conflict {
        field: "edition_id".into(),
        detail,
    }
}

#[tracing::instrument(
    level = "info",
    name = "service.store.page",
    skip_all,
    fields(limit),
    err(level = "debug")
)]
pub async fn page(
    db: &Database,
    filter: PurchaseFilter,
    before_id: Option<i64>,
    limit: u64,
) -> ServiceResult<Page<purchase::Model>> {
    Ok(repo::purchase::page(db.reader(), &filter, before_id, limit).await?)
}

#[tracing::instrument(
    level = "info",
    name = "service.store.library",
    skip_all,
    fields(limit),
    err(level = "debug")
)]
pub async fn library(
    db: &Database,
    who: &Principal,
    before_purchase_id: Option<i64>,
    limit: u64,
) -> ServiceResult<Page<LibraryRow>> {
    Ok(repo::purchase::library(db.reader(), who.user_id, before_purchase_id, limit).await?)
}

/// The payment events of these purchases (an admin's view of what the provider said).
#[tracing::instrument(
    level = "info",
    name = "service.store.events_of",
    skip_all,
    err(level = "debug")
)]
pub async fn events_of(
    db: &Database,
    who: &Principal,
    purchase_ids: &[i64],
) -> ServiceResult<Vec<crate::entity::payment_event::Model>> {
    if !who.is_admin() {
        return Err(ServiceError::Forbidden("This needs an admin.".into()));
    }
    Ok(repo::purchase::events_of(db.reader(), purchase_ids).await?)
}

/// One of the reader's own purchases; another reader's is not found (an admin sees any).
#[tracing::instrument(
    level = "info",
    name = "service.store.own",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn own(db: &Database, who: &Principal, id: i64) -> ServiceResult<purchase::Model> {
    repo::purchase::find(db.reader(), id)
        .await?
        .filter(|p| p.user_id == who.user_id || who.is_admin())
        .ok_or_else(|| ServiceError::NotFound("purchase".into()))
}

/// The reader's pending or paid purchase of an edition, if any: where a second "Buy" leads.
#[tracing::instrument(
    level = "info",
    name = "service.store.open_of",
    skip_all,
    fields(edition_id),
    err(level = "debug")
)]
pub async fn open_of(
    db: &Database,
    who: &Principal,
    edition_id: i64,
) -> ServiceResult<Option<purchase::Model>> {
    Ok(repo::purchase::open_purchase(db.reader(), who.user_id, edition_id).await?)
}
