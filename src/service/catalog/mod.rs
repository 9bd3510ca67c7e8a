//! The catalog: authors, categories, books and editions. Writes are for admins; every write
//! that changes what a book is found by rewrites its search entry in the same unit of work.

pub mod authors;
pub mod batch;
pub mod books;
pub mod categories;
pub mod currency;
pub mod editions;
pub mod isbn;
pub mod search;

use crate::db::{Database, DbError, UnitOfWork, WorkFuture};
use crate::service::auth::Principal;
use crate::service::{ServiceError, ServiceResult};

/// Catalog writes are an admin's; the API checks too, this is the rule itself.
pub(crate) fn require_admin(who: &Principal) -> ServiceResult<()> {
    if who.is_admin() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(
            "Changing the catalog needs an admin.".into(),
        ))
    }
}

/// Runs a delete in a unit of work: a row still referenced is a Conflict explained by
/// `still_used`, a row that is not there a NotFound of `what`.
async fn delete_row<F>(db: &Database, what: &str, still_used: &str, delete: F) -> ServiceResult<()>
where
    F: for<'t> FnOnce(&'t UnitOfWork) -> WorkFuture<'t, bool, DbError>,
{
    match db.write(delete).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(ServiceError::NotFound(what.into())),
        Err(DbError::Conflict { .. }) => Err(ServiceError::Conflict {
            field: "id".into(),
            detail: still_used.into(),
        }),
        Err(other) => Err(other.into()),
    }
}

/// A language tag such as `en`, `eng`, `en-US`, `zh-Hant`: checked, and written the usual way
/// (language lower case, region upper case, script title case).
pub fn normalize_language(tag: &str) -> Result<String, String> {
    const MESSAGE: &str = "must be a language code such as en, eng or en-US";
    let mut parts = tag.split(['-', '_']);
    let language = parts.next().unwrap_or_default();
    if !(2..=3).contains(&language.len()) || !language.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(MESSAGE.into());
    }
    let mut normalized = language.to_ascii_lowercase();
    for part in parts {
        if !(2..=8).contains(&part.len()) || !part.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(MESSAGE.into());
        }
        normalized.push('-');
        match part.len() {
            2 => normalized.push_str(&part.to_ascii_uppercase()),
            4 => {
                normalized.push_str(&part[..1].to_ascii_uppercase());
                normalized.push_str(&part[1..].to_ascii_lowercase());
            }
            _ => normalized.push_str(&part.to_ascii_lowercase()),
        }
    }
    Ok(normalized)
}

/// Ids in a request body: no repeats, at most `max`.
fn distinct_ids(ids: &[i64], max: usize) -> Result<(), String> {
    if ids.len() > max {
        return Err(format!("at most {max} ids"));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(repeated) = ids.iter().find(|id| !seen.insert(**id)) {
        return Err(format!("{repeated} is listed twice"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags() {
        assert_eq!(normalize_language("EN").unwrap(), "en");
        assert_eq!(normalize_language("eng").unwrap(), "eng");
        assert_eq!(normalize_language("en-us").unwrap(), "en-US");
        assert_eq!(normalize_language("zh_hant").unwrap(), "zh-Hant");
        for bad in ["", "e", "english", "en-", "e1", "en-u$"] {
            assert!(normalize_language(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn id_lists() {
        assert!(distinct_ids(&[3, 1, 2], 5).is_ok());
        assert!(distinct_ids(&[1, 1], 5).unwrap_err().contains("twice"));
        assert!(distinct_ids(&[1, 2, 3], 2).is_err());
    }
}
