//! Queries per aggregate (the seeds' `requests.py`). Small functions that take a connection or
//! a unit of work and return entities; no rules, no HTTP.

pub mod api_key;
pub mod app_setting;
pub mod author;
pub mod book;
pub mod book_view;
pub mod bulk;
pub mod category;
pub mod comment;
pub mod cover;
pub mod edition;
pub mod edition_view;
pub mod file;
pub mod kosync;
pub mod limits;
pub mod note;
pub mod progress;
pub mod purchase;
pub mod referral;
pub mod search;
pub mod session;
pub mod user;
pub mod webhook;

use crate::db::{DbError, Read};
use sea_orm::{DbBackend, Statement, Value};

/// A page of a keyset-paginated list: at most `limit` rows after the cursor, plus whether more
/// follow. Fetching `limit + 1` rows answers the second question without a count. The one page
/// type below the API (repo and services alike); `api::pagination::Page` is its JSON.
pub struct Page<T> {
    pub rows: Vec<T>,
    pub has_more: bool,
}

impl<T> Page<T> {
    pub fn from_overfetch(mut rows: Vec<T>, limit: u64) -> Self {
        let has_more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        Self { rows, has_more }
    }
}

/// SQL built once per backend and kept: a hot query's statement is the same on every request.
pub(crate) struct PerBackend {
    sqlite: std::sync::OnceLock<String>,
    postgres: std::sync::OnceLock<String>,
}

impl PerBackend {
    pub(crate) const fn new() -> Self {
        Self {
            sqlite: std::sync::OnceLock::new(),
            postgres: std::sync::OnceLock::new(),
        }
    }

    /// The SQL for `backend`, built by `build` the first time.
    pub(crate) fn sql(&self, backend: DbBackend, build: impl FnOnce(DbBackend) -> String) -> &str {
        let cell = match backend {
            DbBackend::Postgres => &self.postgres,
            _ => &self.sqlite,
        };
        cell.get_or_init(|| build(backend))
    }
}

/// `?` placeholders, one per id, and the ids as values: `WHERE x IN (…)` for a page.
pub(crate) fn in_list(ids: &[i64]) -> (String, Vec<Value>) {
    (
        vec!["?"; ids.len()].join(", "),
        ids.iter().map(|id| (*id).into()).collect(),
    )
}

/// Hand-written SQL with `?` placeholders, in `backend`'s dialect: numbered `$1…` for
/// PostgreSQL. Values are always bound, never spliced into the SQL.
pub fn numbered(backend: DbBackend, sql: &str) -> String {
    match backend {
        DbBackend::Postgres => {
            let mut numbered = String::with_capacity(sql.len() + 8);
            let mut n = 0;
            for c in sql.chars() {
                if c == '?' {
                    n += 1;
                    numbered.push_str(&format!("${n}"));
                } else {
                    numbered.push(c);
                }
            }
            numbered
        }
        _ => sql.to_string(),
    }
}

/// Runs hand-written SQL (`?` placeholders, numbered for PostgreSQL by [`numbered`]) through
/// `read` and decodes each row: for the repo modules whose statements are plain SQL written
/// once (webhooks, limits).
pub(crate) async fn rows<T>(
    read: Read<'_>,
    sql: &str,
    values: Vec<Value>,
    decode: impl FnMut(&crate::db::Row<'_>) -> Result<T, DbError> + Send,
) -> Result<Vec<T>, DbError> {
    read.rows(&numbered(read.backend(), sql), &values, decode)
        .await
}

/// Inserts one row of `E` and answers it as `decode` reads it, with one
/// `INSERT … RETURNING` of every column in declaration order (as SeaORM selects them, so `E`'s
/// row decoder reads the answer). For a hot insert: SeaORM's own `insert` builds the statement
/// each time and decodes the row through its generic machinery, which cost a purchase more than
/// its SQL did. Each value comes with its column, so the two cannot drift apart; `sql` keeps
/// the statement built the first time for each backend, so a call site passes the same
/// columns every time.
pub(crate) async fn insert_one<E, T>(
    unit: crate::db::Read<'_>,
    sql: &PerBackend,
    row: Vec<(E::Column, Value)>,
    decode: impl FnMut(&crate::db::Row<'_>) -> Result<T, crate::db::DbError> + Send,
) -> Result<T, crate::db::DbError>
where
    E: sea_orm::EntityTrait,
{
    use sea_orm::{IdenStatic, Iterable};
    let (columns, values): (Vec<E::Column>, Vec<Value>) = row.into_iter().unzip();
    let sql = sql.sql(unit.backend(), |backend| {
        let quoted = |name: &str| format!("\"{name}\"");
        let names: Vec<String> = columns.iter().map(|c| quoted(c.as_str())).collect();
        let returning: Vec<String> = E::Column::iter().map(|c| quoted(c.as_str())).collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({}) RETURNING {}",
            quoted(E::default().table_name()),
            names.join(", "),
            vec!["?"; columns.len()].join(", "),
            returning.join(", ")
        );
        numbered(backend, &sql)
    });
    unit.rows(sql, &values, decode)
        .await?
        .pop()
        .ok_or(crate::db::DbError::Internal(
            sea_orm::DbErr::RecordNotInserted,
        ))
}

/// A hand-written statement with `?` placeholders, for SeaORM (see [`numbered`]).
pub fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(backend, numbered(backend, sql), values)
}

/// The ids among `ids` that name no row of `E` (whose primary key column is `id`): one query.
pub async fn missing_ids<E>(
    conn: &impl sea_orm::ConnectionTrait,
    id: E::Column,
    ids: &[i64],
) -> Result<Vec<i64>, crate::db::DbError>
where
    E: sea_orm::EntityTrait,
{
    use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let found: Vec<i64> = E::find()
        .select_only()
        .column(id)
        .filter(id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(ids
        .iter()
        .copied()
        .filter(|id| !found.contains(id))
        .collect())
}
