//! Keyset pagination for every list: `limit` and an opaque `cursor` in, `{items, next_cursor}`
//! out. The cursor is the last row's sort key, so page 5,000 costs what page 1 costs.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiError;
use crate::service::FieldError;

pub const DEFAULT_LIMIT: u64 = 20;
pub const MAX_LIMIT: u64 = 100;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Rows per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// The `next_cursor` of the previous page; absent for the first page.
    pub cursor: Option<String>,
}

impl PageParams {
    /// For lists whose query has more parameters than these two.
    pub fn of(limit: Option<u64>, cursor: Option<String>) -> Self {
        Self { limit, cursor }
    }

    pub fn limit(&self) -> Result<u64, ApiError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::Validation(vec![FieldError::new(
                "limit",
                format!("must be from 1 to {MAX_LIMIT}"),
            )])),
        }
    }

    /// The decoded sort key of the last row seen, if this is not the first page.
    pub fn after<K: DeserializeOwned>(&self) -> Result<Option<K>, ApiError> {
        self.cursor.as_deref().map(decode).transpose()
    }
}

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// `items` from a page's rows, with a cursor from the last row's key when more follow.
    pub fn new<R, K: Serialize>(
        rows: Vec<R>,
        has_more: bool,
        key: impl Fn(&R) -> K,
        item: impl Fn(R) -> T,
    ) -> Self {
        let next_cursor = if has_more {
            rows.last().map(|r| encode(&key(r)))
        } else {
            None
        };
        Self {
            items: rows.into_iter().map(item).collect(),
            next_cursor,
        }
    }
}

pub fn encode<K: Serialize>(key: &K) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).expect("cursor keys serialise"))
}

/// A cursor that is not one folio made for this list is the client's mistake: 422 naming
/// `cursor`, never 500; the same answer as a cursor the list's query refuses further down.
pub fn decode<K: DeserializeOwned>(cursor: &str) -> Result<K, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| invalid_cursor("is not a cursor of this list; start again without it"))
}

/// The one answer for a cursor a list cannot continue from.
pub fn invalid_cursor(message: &str) -> ApiError {
    ApiError::Validation(vec![FieldError::new("cursor", message)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused_naming_the_cursor() {
        let cursor = encode(&("Dune", 42i64));
        assert_eq!(
            decode::<(String, i64)>(&cursor).unwrap(),
            ("Dune".to_string(), 42)
        );
        for garbage in ["%%%".to_string(), encode(&"text")] {
            match decode::<i64>(&garbage) {
                Err(ApiError::Validation(errors)) => assert_eq!(errors[0].field, "cursor"),
                other => panic!("{garbage}: {other:?}"),
            }
        }
    }

    #[test]
    fn limits_are_checked() {
        let params = |limit| PageParams {
            limit,
            cursor: None,
        };
        assert_eq!(params(None).limit().unwrap(), 20);
        assert_eq!(params(Some(100)).limit().unwrap(), 100);
        assert!(params(Some(0)).limit().is_err());
        assert!(params(Some(101)).limit().is_err());
    }
}
