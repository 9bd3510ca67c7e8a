//! Referral links (seed 002's ReferralLink): codes users share, clicks, sign-ups, purchases.

use std::net::IpAddr;
use std::time::Duration;

use crate::db::Database;
pub use crate::repo::referral::LinkStats;
use crate::repo::{self, Page};
use crate::service::auth::{Principal, SlidingWindow};
use crate::service::{ServiceError, ServiceResult};

const GENERATED_CODE_CHARS: usize = 10;
const CODE_ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";

/// 3–32 characters of letters, digits, `-` and `_`: safe in a URL as it is.
pub fn check_code(code: &str) -> Result<(), String> {
    let valid_chars = code
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if (3..=32).contains(&code.len()) && valid_chars {
        Ok(())
    } else {
        Err("must be 3 to 32 letters, digits, '-' or '_'".into())
    }
}

/// A code people can read aloud: no `0/o`, `1/l` confusion.
fn generate_code() -> String {
    let mut bytes = [0u8; GENERATED_CODE_CHARS];
    rand::fill(&mut bytes);
    bytes
        .iter()
        .map(|b| CODE_ALPHABET[*b as usize % CODE_ALPHABET.len()] as char)
        .collect()
}

#[tracing::instrument(
    level = "info",
    name = "service.referrals.create",
    skip_all,
    err(level = "debug")
)]
pub async fn create(
    db: &Database,
    who: &Principal,
    code: Option<String>,
) -> ServiceResult<LinkStats> {
    let code = match code {
        Some(code) => {
            check_code(&code).map_err(|m| ServiceError::invalid("code", m))?;
            code
        }
        None => generate_code(),
    };
    let owner_id = who.user_id;
    let link = db
        .write(|tx| Box::pin(async move { repo::referral::insert(&**tx, owner_id, code).await }))
        .await?;
    Ok(LinkStats {
        id: link.id,
        code: link.code,
        clicks: 0,
        signups: 0,
        purchases: 0,
        created_at: link.created_at,
    })
}

#[tracing::instrument(
    level = "info",
    name = "service.referrals.page",
    skip_all,
    fields(limit),
    err(level = "debug")
)]
pub async fn page(
    db: &Database,
    who: &Principal,
    after_id: Option<i64>,
    limit: u64,
) -> ServiceResult<Page<LinkStats>> {
    Ok(repo::referral::page_with_stats(db.reader(), who.user_id, after_id, limit).await?)
}

/// How often one client address may follow referral links, and how often its clicks on one
/// link count: a click is a write, and an unlimited, anonymous write both fills the disk and
/// lets anyone inflate a link's figures.
pub struct ClickLimits {
    per_address: SlidingWindow,
    counted: SlidingWindow,
}

/// Links one address may follow per minute; past it, 429.
const CLICKS_PER_MINUTE: u32 = 30;
/// One address's clicks on one link count once within this.
const COUNT_ONCE_WITHIN: Duration = Duration::from_secs(3600);

impl Default for ClickLimits {
    fn default() -> Self {
        Self {
            per_address: SlidingWindow::new(CLICKS_PER_MINUTE, Duration::from_secs(60)),
            counted: SlidingWindow::new(1, COUNT_ONCE_WITHIN),
        }
    }
}

/// Counts a click on `code` from `address` and answers where to send the visitor. A visitor
/// following the same link again within the hour is sent on without a second count.
#[tracing::instrument(
    level = "info",
    name = "service.referrals.follow",
    skip_all,
    err(level = "debug")
)]
pub async fn follow(
    db: &Database,
    limits: &ClickLimits,
    address: IpAddr,
    code: &str,
    signup_url: &str,
) -> ServiceResult<String> {
    check_code(code).map_err(|_| ServiceError::NotFound("referral link".into()))?;
    limits
        .per_address
        .hit(&address.to_string())
        .map_err(|wait| ServiceError::RateLimited {
            retry_after_secs: wait.as_secs().max(1),
        })?;
    let found = if limits.counted.hit(&format!("{address} {code}")).is_ok() {
        let code_owned = code.to_string();
        db.write(|tx| {
            Box::pin(async move { repo::referral::count_click(&**tx, &code_owned).await })
        })
        .await?
    } else {
        repo::referral::find_by_code(db.reader(), code)
            .await?
            .is_some()
    };
    if !found {
        return Err(ServiceError::NotFound("referral link".into()));
    }
    Ok(with_ref(signup_url, code))
}

/// `signup_url` with `ref=code` in its query, before any `#fragment`.
fn with_ref(signup_url: &str, code: &str) -> String {
    let (base, fragment) = match signup_url.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (signup_url, None),
    };
    let separator = if base.contains('?') { '&' } else { '?' };
    let mut url = format!("{base}{separator}ref={code}");
    if let Some(fragment) = fragment {
        url.push('#');
        url.push_str(fragment);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_goes_into_the_query_before_the_fragment() {
        assert_eq!(
            with_ref("/docs#/auth/register", "abc"),
            "/docs?ref=abc#/auth/register"
        );
        assert_eq!(
            with_ref("https://shop.example/join?lang=de", "x-1"),
            "https://shop.example/join?lang=de&ref=x-1"
        );
    }

    #[test]
    fn generated_codes_are_valid_and_differ() {
        let a = generate_code();
        assert!(check_code(&a).is_ok());
        assert_ne!(a, generate_code());
        assert!(check_code("has space").is_err());
        assert!(check_code("ab").is_err());
    }
}
