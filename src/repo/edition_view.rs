//! Editions with their contributors, as the API shows them: one statement for any number of
//! editions. The editions service reads an edition this way, and a page of books reads its
//! editions' contributors through [`contributors`] on SQLite (see `book_view`).

use std::collections::HashMap;

use serde::Deserialize;

use super::{in_list, numbered};
use crate::db::{DbError, Read};
use crate::entity::edition;
use crate::entity::enums::ContributorRole;

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ContributorRef {
    pub author_id: i64,
    pub name: String,
    pub role: ContributorRole,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EditionView {
    pub edition: edition::Model,
    pub contributors: Vec<ContributorRef>,
}

/// Editions with their contributors (in credit order), in the order the editions came.
#[tracing::instrument(
    level = "debug",
    name = "repo.edition_view.with_contributors",
    skip_all,
    err(level = "debug")
)]
pub async fn with_contributors<'a>(
    read: impl Into<Read<'a>>,
    editions: Vec<edition::Model>,
) -> Result<Vec<EditionView>, DbError> {
    let read = read.into();
    let ids: Vec<i64> = editions.iter().map(|e| e.id).collect();
    let mut contributors = contributors(read, &ids).await?;
    Ok(editions
        .into_iter()
        .map(|edition| EditionView {
            contributors: contributors.remove(&edition.id).unwrap_or_default(),
            edition,
        })
        .collect())
}

/// The contributors of the editions `ids`, in credit order, by edition id; no statement when
/// there are none.
#[tracing::instrument(
    level = "debug",
    name = "repo.edition_view.contributors",
    skip_all,
    err(level = "debug")
)]
pub async fn contributors(
    read: Read<'_>,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<ContributorRef>>, DbError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let (placeholders, values) = in_list(ids);
    let sql = numbered(
        read.backend(),
        &format!(
            "SELECT ec.edition_id, ec.author_id, a.name, ec.role FROM edition_contributor ec \
         JOIN author a ON a.id = ec.author_id \
         WHERE ec.edition_id IN ({placeholders}) ORDER BY ec.edition_id, ec.position"
        ),
    );
    let rows = read
        .rows(&sql, &values, |row| {
            let contributor = ContributorRef {
                author_id: row.get(1)?,
                name: row.get(2)?,
                role: row.stored(3)?,
            };
            Ok((row.get(0)?, contributor))
        })
        .await?;
    Ok(by_key(rows))
}

/// Rows of (owner id, item) gathered per owner, each owner's items in the rows' order.
pub(super) fn by_key<T>(rows: Vec<(i64, T)>) -> HashMap<i64, Vec<T>> {
    let mut grouped: HashMap<i64, Vec<T>> = HashMap::new();
    for (key, item) in rows {
        grouped.entry(key).or_default().push(item);
    }
    grouped
}
