//! The full-text index of books: FTS5 on SQLite, a tsvector with a GIN index on PostgreSQL.
//!
//! Both are fed the same folded text (see `text.rs`) in three weighted parts: title (with
//! subtitle), author names, description. Both are queried with every word as a prefix, so
//! "harr pott" finds Harry Potter and "bronte" finds Brontë, and both find the same books.

use std::collections::HashMap;

use sea_orm::sea_query::{Alias, Expr, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Value};

use crate::db::DbError;
use crate::text;

/// The name of the subquery's relevance column: lower is better, on both backends.
pub const RANK: &str = "rank";
pub const MATCHED_ID: &str = "matched_id";

#[derive(FromQueryResult)]
struct BookText {
    id: i64,
    title: String,
    subtitle: Option<String>,
    description: Option<String>,
}

#[derive(FromQueryResult)]
struct AuthorName {
    book_id: i64,
    name: String,
}

/// Rewrites the index entries of `book_ids` from the tables, in the caller's unit of work.
#[tracing::instrument(
    level = "debug",
    name = "repo.search.refresh",
    skip_all,
    err(level = "debug")
)]
pub async fn refresh(conn: &impl ConnectionTrait, book_ids: &[i64]) -> Result<(), DbError> {
    if book_ids.is_empty() {
        return Ok(());
    }
    let backend = conn.get_database_backend();
    let placeholders = vec!["?"; book_ids.len()].join(", ");
    let ids: Vec<Value> = book_ids.iter().map(|id| (*id).into()).collect();
    let books = BookText::find_by_statement(super::statement(
        backend,
        &format!("SELECT id, title, subtitle, description FROM book WHERE id IN ({placeholders})"),
        ids.clone(),
    ))
    .all(conn)
    .await?;
    let names = AuthorName::find_by_statement(super::statement(
        backend,
        &format!(
            "SELECT ba.book_id, a.name FROM book_author ba JOIN author a ON a.id = ba.author_id \
             WHERE ba.book_id IN ({placeholders}) ORDER BY ba.book_id, ba.position"
        ),
        ids.clone(),
    ))
    .all(conn)
    .await?;
    let mut authors: HashMap<i64, Vec<String>> = HashMap::new();
    for row in names {
        authors.entry(row.book_id).or_default().push(row.name);
    }

    if backend == DbBackend::Sqlite {
        conn.execute_raw(super::statement(
            backend,
            &format!("DELETE FROM book_search WHERE rowid IN ({placeholders})"),
            ids,
        ))
        .await?;
    }
    let names: Vec<Vec<String>> = books
        .iter()
        .map(|book| authors.remove(&book.id).unwrap_or_default())
        .collect();
    let entries: Vec<(i64, Entry)> = books
        .iter()
        .zip(&names)
        .map(|(book, names)| {
            let entry = Entry {
                title: &book.title,
                subtitle: book.subtitle.as_deref(),
                authors: names,
                description: book.description.as_deref(),
            };
            (book.id, entry)
        })
        .collect();
    insert(conn, &entries).await
}

/// What a book is found by.
pub struct Entry<'a> {
    pub title: &'a str,
    pub subtitle: Option<&'a str>,
    pub authors: &'a [String],
    pub description: Option<&'a str>,
}

/// Writes the entries of books that have none (new ones, or ones whose entries were just
/// deleted) from what the caller already holds: no reads, one statement per
/// `ENTRIES_PER_STATEMENT` books.
#[tracing::instrument(
    level = "debug",
    name = "repo.search.insert",
    skip_all,
    err(level = "debug")
)]
pub async fn insert(
    conn: &impl ConnectionTrait,
    entries: &[(i64, Entry<'_>)],
) -> Result<(), DbError> {
    /// Four values an entry.
    const ENTRIES_PER_STATEMENT: usize = 1000;
    let backend = conn.get_database_backend();
    let (head, row, tail) = match backend {
        DbBackend::Postgres => (
            "INSERT INTO book_search (book_id, document) VALUES ",
            "(?, setweight(to_tsvector('simple', ?), 'A') || \
             setweight(to_tsvector('simple', ?), 'B') || \
             setweight(to_tsvector('simple', ?), 'C'))",
            " ON CONFLICT (book_id) DO UPDATE SET document = excluded.document",
        ),
        _ => (
            "INSERT INTO book_search (rowid, title, authors, body) VALUES ",
            "(?, ?, ?, ?)",
            "",
        ),
    };
    for chunk in entries.chunks(ENTRIES_PER_STATEMENT) {
        let mut values = Vec::with_capacity(chunk.len() * 4);
        for (book_id, entry) in chunk {
            let title = text::fold(&format!(
                "{} {}",
                entry.title,
                entry.subtitle.unwrap_or_default()
            ));
            values.push((*book_id).into());
            values.push(title.into());
            values.push(text::fold(&entry.authors.join(" ")).into());
            values.push(text::fold(entry.description.unwrap_or_default()).into());
        }
        let sql = format!("{head}{}{tail}", vec![row; chunk.len()].join(", "));
        conn.execute_raw(super::statement(backend, &sql, values))
            .await?;
    }
    Ok(())
}

/// A subquery of the books matching every token as a prefix: `matched_id`, and `rank`
/// (lower is more relevant). Title words weigh most, then authors, then the description.
pub fn matches(backend: DbBackend, tokens: &[String]) -> SelectStatement {
    let mut query = Query::select();
    match backend {
        DbBackend::Postgres => {
            // Tokens are folded to letters and digits, so they cannot carry tsquery syntax.
            let tsquery = tokens
                .iter()
                .map(|t| format!("{t}:*"))
                .collect::<Vec<_>>()
                .join(" & ");
            query
                .expr_as(Expr::cust("book_id"), Alias::new(MATCHED_ID))
                .expr_as(
                    // sea-query binds PostgreSQL values only for `$n` placeholders.
                    Expr::cust_with_values(
                        "CAST(-ts_rank('{0.1, 0.2, 0.4, 1.0}', document, to_tsquery('simple', $1)) AS DOUBLE PRECISION)",
                        [tsquery.clone()],
                    ),
                    Alias::new(RANK),
                )
                .from(Alias::new("book_search"))
                .and_where(Expr::cust_with_values(
                    "document @@ to_tsquery('simple', $1)",
                    [tsquery],
                ));
        }
        _ => {
            // FTS5: each token quoted (it is plain letters and digits anyway) and starred.
            let fts_query = tokens
                .iter()
                .map(|t| format!("\"{t}\"*"))
                .collect::<Vec<_>>()
                .join(" ");
            query
                .expr_as(Expr::cust("rowid"), Alias::new(MATCHED_ID))
                .expr_as(
                    Expr::cust("bm25(book_search, 10.0, 5.0, 1.0)"),
                    Alias::new(RANK),
                )
                .from(Alias::new("book_search"))
                .and_where(Expr::cust_with_values("book_search MATCH ?", [fts_query]));
        }
    }
    query
}

#[cfg(test)]
mod tests {
    use sea_orm::sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};

    use super::*;

    /// The search words travel as bound values on both backends, never in the SQL text.
    #[test]
    fn search_terms_are_bound_parameters() {
        let tokens = vec!["harr".to_string(), "pott".to_string()];
        let (sql, values) = matches(DbBackend::Postgres, &tokens).build(PostgresQueryBuilder);
        assert_eq!(values.0.len(), 2, "{sql}");
        assert!(
            sql.contains("$1") && sql.contains("$2") && !sql.contains("harr"),
            "{sql}"
        );
        let (sql, values) = matches(DbBackend::Sqlite, &tokens).build(SqliteQueryBuilder);
        assert_eq!(values.0.len(), 1, "{sql}");
        assert!(!sql.contains("harr"), "{sql}");
    }
}
