//! `folio db copy`: an SQLite database's rows copied into a PostgreSQL database that has
//! folio's schema and nothing else, in the target's unit of work — what moving a library from
//! one machine's file to PostgreSQL takes (docs/DEPLOYMENT.md, "Growing past one machine").
//!
//! The schema is the same on both backends (the migrations make it), but not the storage: SQLite
//! keeps times as text and booleans as integers, PostgreSQL has types. So every value is read
//! as SQLite's text of it (a blob as hex) and written as text cast to the target column's type,
//! which PostgreSQL's own input functions parse. Rows keep their ids; each identity is then
//! moved past the largest id, so the next row made on PostgreSQL takes a new one.
//!
//! Order: a table is written after the tables it refers to (read from PostgreSQL's catalog). A
//! nullable reference that cannot be ordered — a table referring to itself, or two tables
//! referring to each other (a user and the referral link that brought them) — is written empty
//! first and filled in once every row is there. Triggers that keep figures in other tables
//! (a book's rating summary from its comments) are off while rows arrive: the figures come
//! with the rows, as SQLite had them.
//!
//! What is built from the rows rather than kept (the search index and its vocabulary, whose
//! tables differ between the backends) is not copied: the caller rebuilds it.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

use super::{DbError, UnitOfWork};

/// Rows read from SQLite at a time.
const PAGE: u64 = 1_000;
/// Bound values per INSERT: well under PostgreSQL's 65,535.
const VALUES_PER_INSERT: usize = 30_000;

/// One table as the copy sees it.
struct Table {
    name: String,
    /// Columns both databases have, with the PostgreSQL type each is cast to.
    columns: Vec<(String, String)>,
    /// Nullable references written empty first and filled in afterwards.
    later: BTreeSet<String>,
}

/// A copy that failed, and the table it was copying.
#[derive(Debug, thiserror::Error)]
#[error("copying {table}: {source}")]
pub struct CopyError {
    pub table: String,
    #[source]
    pub source: DbError,
}

fn at(table: &str) -> impl FnOnce(DbError) -> CopyError + '_ {
    move |source| CopyError {
        table: table.to_string(),
        source,
    }
}

/// What was copied: each table with its rows, in the order written.
pub struct Copied {
    pub tables: Vec<(String, u64)>,
}

/// Copies `tables` (by name) from `source` (SQLite) into `unit` (PostgreSQL), whose tables must
/// exist and be empty. Fails, writing nothing the unit commits, on a value PostgreSQL refuses.
#[tracing::instrument(level = "info", name = "db.copy", skip_all, err(level = "debug"))]
pub async fn copy(
    from: &impl ConnectionTrait,
    unit: &UnitOfWork,
    tables: &[&str],
) -> Result<Copied, CopyError> {
    let to = &**unit;
    debug_assert_eq!(from.get_database_backend(), DbBackend::Sqlite);
    debug_assert_eq!(to.get_database_backend(), DbBackend::Postgres);

    let wanted: BTreeSet<&str> = tables.iter().copied().collect();
    let references = references(to, &wanted)
        .await
        .map_err(at("the target's references"))?;
    let (order, later) = order(tables, &references);
    let mut plan = Vec::with_capacity(order.len());
    for name in order {
        let target = target_columns(to, &name).await.map_err(at(&name))?;
        let present = source_columns(from, &name).await.map_err(at(&name))?;
        let columns = target
            .into_iter()
            .filter(|(column, _)| present.contains(column))
            .collect();
        let later = later.get(&name).cloned().unwrap_or_default();
        plan.push(Table {
            name,
            columns,
            later,
        });
    }

    for table in &plan {
        let sql = format!("ALTER TABLE {} DISABLE TRIGGER USER", quote(&table.name));
        write(to, sql, vec![]).await.map_err(at(&table.name))?;
    }
    let mut copied = Vec::with_capacity(plan.len());
    for table in &plan {
        let rows = copy_rows(from, to, table).await.map_err(at(&table.name))?;
        tracing::debug!(table = %table.name, rows, "copied");
        copied.push((table.name.clone(), rows));
    }
    for table in &plan {
        let finish = async {
            for column in &table.later {
                fill_in(from, to, table, column).await?;
            }
            renumber(from, to, table).await?;
            let sql = format!("ALTER TABLE {} ENABLE TRIGGER USER", quote(&table.name));
            write(to, sql, vec![]).await
        };
        finish.await.map_err(at(&table.name))?;
    }
    Ok(Copied { tables: copied })
}

/// Rows of `table` in `read`: what the copy is checked by.
pub async fn count(read: &impl ConnectionTrait, table: &str) -> Result<u64, DbError> {
    let sql = format!("SELECT count(*) FROM {}", quote(table));
    let statement = Statement::from_string(read.get_database_backend(), sql);
    Ok(scalar::<i64>(read, statement).await?.unwrap_or_default() as u64)
}

/// Whether `table` exists in the PostgreSQL database `conn` reaches.
pub async fn exists(conn: &impl ConnectionTrait, table: &str) -> Result<bool, DbError> {
    let statement = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT to_regclass($1) IS NOT NULL",
        [Value::from(quote(table))],
    );
    Ok(scalar(conn, statement).await?.unwrap_or(false))
}

/// The first column of the first row `statement` answers, if it answers one.
async fn scalar<T: sea_orm::TryGetable>(
    conn: &impl ConnectionTrait,
    statement: Statement,
) -> Result<Option<T>, DbError> {
    let row = conn.query_one_raw(statement).await?;
    Ok(row.map(|r| r.try_get_by_index(0)).transpose()?)
}

/// Removes every row of `table`: the rows a migration seeded, which the copy's replace.
pub async fn clear(conn: &impl ConnectionTrait, table: &str) -> Result<(), DbError> {
    let sql = format!("DELETE FROM {}", quote(table));
    conn.execute_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await?;
    Ok(())
}

/// Writes every row of `table`, a page at a time, in rowid order (the order they were made).
async fn copy_rows(
    from: &impl ConnectionTrait,
    to: &impl ConnectionTrait,
    table: &Table,
) -> Result<u64, DbError> {
    let reads: Vec<String> = table
        .columns
        .iter()
        .map(|(column, kind)| {
            if table.later.contains(column) {
                "NULL".to_string()
            } else {
                as_text(column, kind)
            }
        })
        .collect();
    let sql = format!(
        "SELECT rowid, {} FROM {} WHERE rowid > ? ORDER BY rowid LIMIT {PAGE}",
        reads.join(", "),
        quote(&table.name)
    );
    let (mut after, mut total) = (i64::MIN, 0u64);
    loop {
        let Some(rows) = next_page(from, &sql, &mut after).await? else {
            return Ok(total);
        };
        let mut values = Vec::with_capacity(rows.len() * table.columns.len());
        for row in &rows {
            for (i, (_, kind)) in table.columns.iter().enumerate() {
                values.push(text_value(row.try_get_by_index(i + 1)?, kind));
            }
        }
        insert(to, table, values).await?;
        total += rows.len() as u64;
    }
}

/// `INSERT … OVERRIDING SYSTEM VALUE VALUES …` of `values` (row after row), in statements of at
/// most [`VALUES_PER_INSERT`] values.
async fn insert(
    to: &impl ConnectionTrait,
    table: &Table,
    values: Vec<Value>,
) -> Result<(), DbError> {
    let width = table.columns.len();
    let names: Vec<String> = table.columns.iter().map(|(c, _)| quote(c)).collect();
    let per_statement = (VALUES_PER_INSERT / width).max(1) * width;
    let mut values = values.into_iter().peekable();
    while values.peek().is_some() {
        let chunk: Vec<Value> = values.by_ref().take(per_statement).collect();
        let tuples: Vec<String> = (0..chunk.len() / width)
            .map(|row| {
                let cells: Vec<String> = table
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, (_, kind))| format!("${}::text::{kind}", row * width + i + 1))
                    .collect();
                format!("({})", cells.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE VALUES {}",
            quote(&table.name),
            names.join(", "),
            tuples.join(", ")
        );
        write(to, sql, chunk).await?;
    }
    Ok(())
}

/// Moves the table's identity to where SQLite's was: past the largest id, and past ids of rows
/// since deleted (`sqlite_sequence`), so no id is ever given twice.
async fn renumber(
    from: &impl ConnectionTrait,
    to: &impl ConnectionTrait,
    table: &Table,
) -> Result<(), DbError> {
    if !table.columns.iter().any(|(c, _)| c == "id") {
        return Ok(());
    }
    let sequence = Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "SELECT seq FROM sqlite_sequence WHERE name = ?",
        [Value::from(table.name.clone())],
    );
    let given: i64 = scalar(from, sequence).await?.unwrap_or(0);
    let name = quote(&table.name);
    let sql = format!(
        "SELECT setval(pg_get_serial_sequence($1, 'id'), last) \
         FROM (SELECT greatest(max(id), $2) AS last FROM {name}) AS given WHERE last >= 1"
    );
    to.query_all_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        [Value::from(name.clone()), Value::from(given)],
    ))
    .await?;
    Ok(())
}

/// Fills in a reference written empty by [`copy_rows`], by id.
async fn fill_in(
    from: &impl ConnectionTrait,
    to: &impl ConnectionTrait,
    table: &Table,
    column: &str,
) -> Result<(), DbError> {
    let kind = &table
        .columns
        .iter()
        .find(|(c, _)| c == column)
        .expect("a later column is a copied column")
        .1;
    let name = quote(&table.name);
    let sql = format!(
        "SELECT id, {} FROM {name} WHERE {} IS NOT NULL AND id > ? ORDER BY id LIMIT {PAGE}",
        as_text(column, kind),
        quote(column)
    );
    let mut after = i64::MIN;
    loop {
        let Some(rows) = next_page(from, &sql, &mut after).await? else {
            return Ok(());
        };
        let mut values = Vec::with_capacity(rows.len() * 2);
        let mut tuples = Vec::with_capacity(rows.len());
        for (n, row) in rows.iter().enumerate() {
            values.push(Value::from(row.try_get_by_index::<i64>(0)?));
            values.push(text_value(row.try_get_by_index(1)?, kind));
            tuples.push(format!(
                "(${}::bigint, ${}::text::{kind})",
                2 * n + 1,
                2 * n + 2
            ));
        }
        let sql = format!(
            "UPDATE {name} SET {column} = v.value FROM (VALUES {}) AS v(id, value) \
             WHERE {name}.id = v.id",
            tuples.join(", "),
            column = quote(column),
        );
        write(to, sql, values).await?;
    }
}

/// The page of `sql` (keyed by its first column: `WHERE key > ? ORDER BY key LIMIT …`) after
/// `after`, which moves to its last key; `None` past the last page.
async fn next_page(
    from: &impl ConnectionTrait,
    sql: &str,
    after: &mut i64,
) -> Result<Option<Vec<sea_orm::QueryResult>>, DbError> {
    let rows = from
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            sql,
            [Value::from(*after)],
        ))
        .await?;
    let Some(last) = rows.last() else {
        return Ok(None);
    };
    *after = last.try_get_by_index(0)?;
    Ok(Some(rows))
}

/// SQLite's text of a column: a blob as hex (PostgreSQL reads `\x…` as bytea), a real number
/// with every digit it needs to be the same double again (`CAST` keeps 15 digits and plain
/// `%.17g` 16; `!` lifts SQLite's cap), anything else as SQLite prints it.
fn as_text(column: &str, kind: &str) -> String {
    let column = quote(column);
    if kind == "bytea" {
        format!("hex({column})")
    } else {
        format!(
            "CASE typeof({column}) WHEN 'real' THEN printf('%!.17g', {column}) \
             ELSE CAST({column} AS TEXT) END"
        )
    }
}

fn text_value(text: Option<String>, kind: &str) -> Value {
    Value::from(text.map(|t| {
        if kind == "bytea" {
            format!("\\x{t}")
        } else {
            t
        }
    }))
}

/// References among `tables`: (table, column, referred table, column may be null).
async fn references(
    to: &impl ConnectionTrait,
    tables: &BTreeSet<&str>,
) -> Result<Vec<(String, String, String, bool)>, DbError> {
    let sql = "SELECT c.conrelid::regclass::text, a.attname::text, c.confrelid::regclass::text, \
               NOT a.attnotnull \
               FROM pg_constraint c \
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
               WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace";
    let rows = to
        .query_all_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await?;
    let mut found = Vec::new();
    for row in rows {
        let table = unquote(row.try_get_by_index::<String>(0)?);
        let refers_to = unquote(row.try_get_by_index::<String>(2)?);
        if tables.contains(table.as_str()) && tables.contains(refers_to.as_str()) {
            found.push((
                table,
                row.try_get_by_index(1)?,
                refers_to,
                row.try_get_by_index(3)?,
            ));
        }
    }
    Ok(found)
}

/// The order to write `tables` in, each after those it refers to, and the nullable references
/// to fill in afterwards: a table's own, and those that close a cycle. A cycle of references
/// that cannot be null cannot be copied (no folio table has one).
fn order(
    tables: &[&str],
    references: &[(String, String, String, bool)],
) -> (Vec<String>, BTreeMap<String, BTreeSet<String>>) {
    let mut later: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut waits: BTreeMap<&str, Vec<&(String, String, String, bool)>> =
        tables.iter().map(|t| (*t, Vec::new())).collect();
    for reference in references {
        let (table, column, refers_to, nullable) = reference;
        if table == refers_to {
            if *nullable {
                later
                    .entry(table.clone())
                    .or_default()
                    .insert(column.clone());
            }
        } else if let Some(list) = waits.get_mut(table.as_str()) {
            list.push(reference);
        }
    }
    let mut order: Vec<String> = Vec::with_capacity(tables.len());
    let mut left: Vec<&str> = tables.to_vec();
    while !left.is_empty() {
        let written = |t: &str, order: &[String]| order.iter().any(|o| o == t);
        let ready = left.iter().position(|t| {
            waits[t].iter().all(|(_, column, refers_to, _)| {
                written(refers_to, &order) || later.get(*t).is_some_and(|l| l.contains(column))
            })
        });
        match ready {
            Some(i) => order.push(left.remove(i).to_string()),
            None => {
                // A cycle: the first table left with a nullable reference to one not written
                // yet fills it in afterwards, and the cycle is open.
                let (table, column) = left
                    .iter()
                    .find_map(|t| {
                        waits[t]
                            .iter()
                            .find(|(_, column, refers_to, nullable)| {
                                *nullable
                                    && !written(refers_to, &order)
                                    && !later.get(*t).is_some_and(|l| l.contains(column))
                            })
                            .map(|(_, column, _, _)| (t.to_string(), column.clone()))
                    })
                    .expect("a cycle of references has a nullable one");
                later.entry(table).or_default().insert(column);
            }
        }
    }
    (order, later)
}

/// The target table's columns and their types, in its order; generated columns left out.
async fn target_columns(
    to: &impl ConnectionTrait,
    table: &str,
) -> Result<Vec<(String, String)>, DbError> {
    let sql = "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) \
               FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 \
               AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum";
    let rows = to
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            [Value::from(quote(table))],
        ))
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
        .collect()
}

/// The SQLite table's column names.
async fn source_columns(
    from: &impl ConnectionTrait,
    table: &str,
) -> Result<BTreeSet<String>, DbError> {
    let sql = "SELECT name FROM pragma_table_info(?)";
    let rows = from
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            sql,
            [Value::from(table.to_string())],
        ))
        .await?;
    rows.iter().map(|r| Ok(r.try_get_by_index(0)?)).collect()
}

/// Runs a statement on PostgreSQL. A failure keeps PostgreSQL's own words for the value it
/// refused (`Internal`), not the API's reading of them as a field.
async fn write(to: &impl ConnectionTrait, sql: String, values: Vec<Value>) -> Result<(), DbError> {
    to.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        values,
    ))
    .await
    .map_err(DbError::Internal)?;
    Ok(())
}

/// A name as SQL takes it. Names come from folio's own table list and the catalogs.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn unquote(name: String) -> String {
    name.strip_prefix('"')
        .and_then(|n| n.strip_suffix('"'))
        .map(|n| n.replace("\"\"", "\""))
        .unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(
        table: &str,
        column: &str,
        to: &str,
        nullable: bool,
    ) -> (String, String, String, bool) {
        (table.into(), column.into(), to.into(), nullable)
    }

    #[test]
    fn tables_come_after_what_they_refer_to_and_cycles_open_at_a_nullable_reference() {
        let tables = ["comment", "user", "referral_link", "book", "category"];
        let references = [
            reference("comment", "user_id", "user", false),
            reference("comment", "book_id", "book", false),
            reference("user", "referred_by_link_id", "referral_link", true),
            reference("referral_link", "user_id", "user", false),
            reference("category", "parent_id", "category", true),
        ];
        let (order, later) = order(&tables, &references);
        let at = |t: &str| order.iter().position(|o| o == t).unwrap();
        assert_eq!(order.len(), tables.len());
        assert!(at("user") < at("comment") && at("book") < at("comment"));
        assert!(at("user") < at("referral_link"), "{order:?}");
        assert_eq!(
            later["user"],
            BTreeSet::from(["referred_by_link_id".to_string()])
        );
        assert_eq!(later["category"], BTreeSet::from(["parent_id".to_string()]));
        assert_eq!(later.len(), 2);
    }

    #[test]
    fn names_round_trip_through_quotes() {
        assert_eq!(quote("user"), "\"user\"");
        assert_eq!(unquote("\"user\"".into()), "user");
        assert_eq!(unquote("book".into()), "book");
    }
}
