//! Queries per aggregate (the seeds' `requests.py`). Small functions that take a connection or
//! a unit of work and return entities; no rules, no HTTP.

pub mod api_key;
pub mod app_setting;
pub mod referral;
pub mod session;
pub mod user;

/// A page of a keyset-paginated list: at most `limit` rows after `after`, plus whether more
/// follow. Fetching `limit + 1` rows answers the second question without a count.
pub struct Slice<T> {
    pub rows: Vec<T>,
    pub has_more: bool,
}

impl<T> Slice<T> {
    pub fn from_overfetch(mut rows: Vec<T>, limit: u64) -> Self {
        let has_more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        Self { rows, has_more }
    }
}
