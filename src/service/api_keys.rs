//! API keys for programs and e-reader apps: shown once, then known only by name and prefix.

use crate::db::Database;
use crate::entity::api_key;
use crate::repo::{self, Page};
use crate::service::auth::{API_KEY_PREFIX, Principal, token};
use crate::service::validate::{self, Checks};
use crate::service::{ServiceError, ServiceResult};

/// How much of a key is kept in the clear to tell keys apart in a list.
const SHOWN_PREFIX_CHARS: usize = 12;

/// Creates a key; the returned string is the only time anyone sees it. Only a signed-in
/// session may: a key that could mint keys would outlive its own revocation.
#[tracing::instrument(
    level = "info",
    name = "service.api_keys.create",
    skip_all,
    err(level = "debug")
)]
pub async fn create(
    db: &Database,
    who: &Principal,
    name: String,
) -> ServiceResult<(api_key::Model, String)> {
    who.require_session("Creating an API key")?;
    Checks::default()
        .check("name", validate::text(&name, 1, 100))
        .finish()?;
    let key = token::random_secret(API_KEY_PREFIX);
    let prefix: String = key.chars().take(SHOWN_PREFIX_CHARS).collect();
    let digest = token::digest(&key);
    let user_id = who.user_id;
    let model = db
        .write(|tx| {
            Box::pin(
                async move { repo::api_key::insert(&**tx, user_id, name, prefix, digest).await },
            )
        })
        .await?;
    Ok((model, key))
}

#[tracing::instrument(
    level = "info",
    name = "service.api_keys.page",
    skip_all,
    fields(limit),
    err(level = "debug")
)]
pub async fn page(
    db: &Database,
    who: &Principal,
    after_id: Option<i64>,
    limit: u64,
) -> ServiceResult<Page<api_key::Model>> {
    Ok(repo::api_key::page(db.reader(), who.user_id, after_id, limit).await?)
}

/// Revokes one of the caller's keys. Someone else's key is "not found", never "forbidden",
/// so ids reveal nothing.
#[tracing::instrument(
    level = "info",
    name = "service.api_keys.revoke",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn revoke(db: &Database, who: &Principal, id: i64) -> ServiceResult<()> {
    let user_id = who.user_id;
    let deleted = db
        .write(|tx| Box::pin(async move { repo::api_key::delete(&**tx, user_id, id).await }))
        .await?;
    if deleted {
        Ok(())
    } else {
        Err(ServiceError::NotFound("API key".into()))
    }
}
